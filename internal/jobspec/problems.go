package jobspec

import "berth/internal/strictyaml"

// ParseError lists every problem found in a job file at once, so that a user fixes them in one
// round instead of one submission per mistake. Its Error returns one problem per line, as
// "line 7: inputs.data.path: <message>".
type ParseError = strictyaml.ParseError

// Problem is one thing wrong with a job file: its 1-based Line (0 when unknown), the dotted
// path of its Field ("" for the whole file) and a Message that says what to do.
type Problem = strictyaml.Problem

// decoder walks a job file's YAML tree into a JobSpec; the generic reading, checking and
// problem collecting come from strictyaml, the job's own fields from the methods here.
type decoder struct {
	*strictyaml.Decoder
}

// jobFormat words the messages about a job file as a whole.
var jobFormat = strictyaml.Format{
	Noun:          "job",
	FieldsExample: "command: and inputs:",
	SetExample:    "limits.timeout=60",
}
