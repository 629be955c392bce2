// Package jobspec parses and validates job YAML files in the Azure ML CLI v2 commandJob shape.
//
// The same code runs in the CLI, before anything is uploaded, and on the server, which has the
// last word; so it reads only the bytes it is given, never the filesystem or the network, and
// both sides give the same answer for the same file. Parsing is strict: unknown fields, wrong
// kinds and values berth cannot run are errors that name the line and say what to do, and all
// of a file's problems are reported at once.
package jobspec

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	v1 "berth/api/v1"
	"go.yaml.in/yaml/v3"
)

// Options change a job file as the CLI's flags do, before validation.
type Options struct {
	// Name overrides the file's name when non-empty (the CLI's --name).
	Name string
	// Set holds "dotted.path=value" overrides (the CLI's --set), applied to the YAML tree
	// before validation. A value is read as a YAML scalar, so limits.timeout=60 is an integer;
	// missing mappings are created; an entry without "=" or with an empty path is an error.
	Set []string
}

// Parse parses and validates a job file. On failure the error is a *ParseError listing every
// problem found.
func Parse(data []byte, opts Options) (*v1.JobSpec, error) {
	d := &decoder{suggested: make(map[string]bool)}
	root := d.readYAML(data)
	d.applySets(root, opts.Set)
	if root != nil && opts.Name != "" {
		name := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: opts.Name}
		d.setPath(root, []string{"name"}, name)
	}
	var spec *v1.JobSpec
	if root != nil {
		spec = d.jobSpec(root)
	}
	if len(d.problems) > 0 {
		return nil, &ParseError{Problems: d.sortedProblems()}
	}
	return spec, nil
}

// readYAML returns the file's top-level mapping, or nil when there is none to validate. An
// empty file is an empty mapping, so that --set can still supply every field.
func (d *decoder) readYAML(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	} else if err != nil {
		d.yamlError(data, err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.yamlError(data, err)
		return nil
	default:
		d.addf(&next, "", "the file holds more than one YAML document; keep one job per file, "+
			"and remove the --- line")
	}

	root := doc.Content[0]
	switch {
	case isNull(root):
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	case root.Kind != yaml.MappingNode:
		d.addf(root, "", "expected a mapping of job fields such as command: and inputs:, found %s",
			describe(root))
		return nil
	}
	return root
}

var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// parserProblems are the yaml library's parser errors (as opposed to scanner errors). It
// reports their line 0-based, omits it on the first line, and gives the line where the
// enclosing mapping or list starts rather than the line of the mistake; see refineLine.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlError reports a syntax error with the 1-based line it is on, which the yaml library gives
// only in its message and not always right.
func (d *decoder) yamlError(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	switch m := yamlLine.FindStringSubmatch(err.Error()); {
	case m != nil:
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblems[msg] {
			line = refineLine(data, line+1, err.Error())
		}
	case strings.Contains(msg, "UTF-8") || strings.Contains(msg, "UTF-16") ||
		strings.Contains(msg, "Unicode") || strings.Contains(msg, "control characters"):
		line = badCharLine(data)
	case strings.HasPrefix(msg, "unknown anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	case parserProblems[msg]:
		// The library leaves the line out when the enclosing mapping starts on the first line.
		line = refineLine(data, 1, err.Error())
	case !strings.Contains(msg, "anchor") && !strings.Contains(msg, "alias"):
		// The library leaves the line out when the error is on the first line.
		line = 1
	}
	line = min(line, lineCount(data))
	if line == 0 {
		d.problems = append(d.problems, Problem{Message: "invalid YAML: " + msg})
		return
	}
	d.problems = append(d.problems, Problem{Line: line, Message: "invalid YAML: " + msg + "; " +
		yamlHint(msg)})
}

// yamlHint says what usually causes a syntax error.
func yamlHint(msg string) string {
	switch {
	case msg == "mapping values are not allowed in this context":
		return `quote a value that contains ": ", or check the indentation`
	case strings.HasPrefix(msg, "found a tab character"):
		return "indent with spaces, not tabs"
	case msg == "found character that cannot start any token":
		return "quote a value that starts with @, ` or %, and indent with spaces, not tabs"
	case msg == "found unexpected end of stream":
		return "close the quote or bracket that starts on this line"
	case strings.HasPrefix(msg, "unknown anchor"):
		return "define the anchor (&name) before its alias (*name)"
	case strings.Contains(msg, "control characters"):
		return "remove the control character"
	case strings.Contains(msg, "UTF-8") || strings.Contains(msg, "UTF-16") ||
		strings.Contains(msg, "Unicode"):
		return "save the file as UTF-8"
	}
	return "check the indentation and quoting on this line and the one before"
}

// refineLine returns the first line, at or after from, where the file fails to parse with the
// error errText: the line of the mistake rather than the start of the mapping around it. It
// parses prefixes of the file in a binary search, so it costs a few parses even for a large
// file. Since a prefix can fail differently (cut inside a quoted string), the answer is a
// best guess, never before from.
func refineLine(data []byte, from int, errText string) int {
	var ends []int // ends[i] is the offset just past line i+1
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	lo, hi := from, len(ends)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if prefixFailsWith(data[:ends[mid-1]], errText) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// prefixFailsWith reports whether parsing data, every document of it, fails with errText.
func prefixFailsWith(data []byte, errText string) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err != nil {
			return err.Error() == errText
		}
	}
}

// badCharLine returns the line of the first byte sequence YAML refuses (invalid UTF-8 or a
// control character), or 0.
func badCharLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r == 0x7f, 0x80 <= r && r <= 0x9f && r != 0x85, r == 0xfffe, r == 0xffff:
			return line
		case r == '\n':
			line++
		}
		i += size
	}
	return 0
}

func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// jobSpec reads the top-level mapping of a job file.
func (d *decoder) jobSpec(root *yaml.Node) *v1.JobSpec {
	if !d.jobType(find(root, "type")) {
		// The rest of a sweep or pipeline file would only add noise.
		return nil
	}
	f := d.fields(root, "", jobSchema)
	spec := &v1.JobSpec{
		Type:           "command",
		ExperimentName: "Default",
		Compute:        "local",
	}
	spec.Name = d.name(f["name"].value, "name", "job")
	if name := d.name(f["experiment_name"].value, "experiment_name", "experiment"); name != "" {
		spec.ExperimentName = name
	}
	spec.DisplayName, _, _ = d.str(f["display_name"].value, "display_name")
	spec.Description, _, _ = d.str(f["description"].value, "description")
	spec.Tags = d.stringMap(f["tags"].value, "tags", "a mapping of tag names to values", nil)

	command, commandNode, ok := d.str(f["command"].value, "command")
	switch {
	case ok && strings.TrimSpace(command) == "":
		d.addf(commandNode, "command", "is empty; give the command line to run, such as "+
			"python train.py")
	case !ok && isNull(commandNode) && !d.suggested["command"]:
		d.addf(commandNode, "command", "the job has no command; add one, such as "+
			"command: python train.py")
	}
	spec.Command = command

	if code, n, ok := d.str(f["code"].value, "code"); ok && code != "" {
		if msg := codeProblem(code); msg != "" {
			d.addf(n, "code", "%s", msg)
		}
		spec.Code = code
	}
	spec.Environment = d.environment(f["environment"].value)
	spec.EnvironmentVariables = d.stringMap(f["environment_variables"].value,
		"environment_variables", "a mapping of variable names to values", variableProblem)
	spec.Compute = d.compute(f["compute"].value)
	spec.Inputs = d.inputs(f["inputs"].value)
	spec.Outputs = d.outputs(f["outputs"].value)
	spec.Distribution = d.distribution(f["distribution"].value)
	var countNode *yaml.Node
	spec.Resources, countNode = d.resources(f["resources"].value)
	spec.Limits = d.limits(f["limits"].value)

	d.checkLocalInstances(spec.Compute, spec.Resources, countNode)
	if strings.TrimSpace(command) != "" {
		d.checkCommand(command, commandNode, spec.Inputs, spec.Outputs)
	}
	return spec
}

// jobType checks the job's type and reports whether the rest of the file is worth reading.
func (d *decoder) jobType(v *yaml.Node) bool {
	typ, n, ok := d.str(v, "type")
	switch {
	case !ok:
		return isNull(n)
	case typ == "command":
		return true
	case typ == "sweep" || typ == "pipeline":
		d.addf(n, "type", "%s jobs are not supported yet; berth runs command jobs (type: command)", typ)
		return false
	}
	if strings.EqualFold(typ, "command") {
		d.addf(n, "type", "unknown job type %q; did you mean \"command\"?", typ)
	} else {
		d.addf(n, "type", "unknown job type %q; berth runs command jobs (type: command)",
			excerpt(typ, 40))
	}
	return true
}

// name reads a job or experiment name; empty means none given.
func (d *decoder) name(v *yaml.Node, field, what string) string {
	name, n, ok := d.str(v, field)
	if !ok || name == "" {
		return ""
	}
	if msg := nameProblem(what, name); msg != "" {
		d.addf(n, field, "%s", msg)
	}
	return name
}

// stringMap reads a mapping of names to scalars (tags, environment variables), taking numbers
// and booleans as written (`DEBUG: 1` is "1"), as az does. checkKey, when set, says what is
// wrong with a key.
func (d *decoder) stringMap(v *yaml.Node, field, want string,
	checkKey func(string) string) map[string]string {
	m, ok := d.mapping(v, field, want)
	if !ok {
		return nil
	}
	names, entries := d.pairs(m, field)
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]string, len(names))
	for i, name := range names {
		if checkKey != nil {
			if msg := checkKey(name); msg != "" {
				d.addf(entries[i].key, field, "%s", msg)
			}
		}
		n := d.resolve(entries[i].value)
		switch {
		case isNull(n):
			out[name] = ""
		case n.Kind != yaml.ScalarNode:
			d.addf(n, join(field, name), "expected a string, number or boolean, found %s; "+
				"quote the value to pass it as text", describe(n))
		default:
			out[name] = n.Value
		}
	}
	return out
}

// compute reads the compute target's name: "local" unless the file names another.
func (d *decoder) compute(v *yaml.Node) string {
	c, n, ok := d.str(v, "compute")
	if !ok || c == "" {
		return "local"
	}
	// az accepts a bare name as well as azureml:<name>.
	name := strings.TrimPrefix(c, "azureml:")
	if nameProblem("compute", name) != "" {
		d.addf(n, "compute", "%q does not name a compute; use local or azureml:<name>, where the "+
			"name has only letters, digits, _ and -", excerpt(c, 60))
	}
	return name
}

var environmentSchema = schema{
	fields: []string{"image", "conda_file", "name", "version", "description"},
	unsupported: map[string]string{
		"build": "building an environment's image is not supported yet; build and push the " +
			"image, then give it as image",
	},
}

// assetName matches the names, versions and labels of registered assets.
const assetName = `[A-Za-z0-9][A-Za-z0-9_.-]*`

// environmentRef matches azureml:<name>:<version> and azureml:<name>@<label>.
var environmentRef = regexp.MustCompile(`^azureml:` + assetName + `(:|@)` + assetName + `$`)

// registryRef matches the registry references Azure's examples use for curated environments,
// azureml://registries/<registry>/environments/<name>/(versions/<version>|labels/<label>).
// They are recorded as they are; the server decides what they resolve to.
var registryRef = regexp.MustCompile(`^azureml://registries/` + assetName + `/environments/` +
	assetName + `/(versions|labels)/` + assetName + `$`)

// environment reads the job's environment: a reference to a registered one, or inline.
func (d *decoder) environment(v *yaml.Node) *v1.Environment {
	n := d.resolve(v)
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		if !environmentRef.MatchString(n.Value) && !registryRef.MatchString(n.Value) {
			d.addf(n, "environment", "%q is not an environment reference; use "+
				"azureml:<name>:<version> or azureml:<name>@latest, or a mapping with an image",
				excerpt(n.Value, 60))
		}
		return &v1.Environment{Ref: n.Value}
	case n.Kind != yaml.MappingNode:
		d.addf(n, "environment", "expected an environment reference such as "+
			"azureml:sklearn-env:1, or a mapping with an image; found %s", describe(n))
		return nil
	}

	f := d.fields(n, "environment", environmentSchema)
	env := &v1.Environment{}
	image, imageNode, ok := d.str(f["image"].value, "environment.image")
	switch {
	case ok && image == "":
		d.addf(imageNode, "environment.image", "is empty; give an image, such as python:3.12-slim")
	case !ok && isNull(imageNode) && !d.suggested["environment.image"]:
		d.addf(n, "environment", "an inline environment needs an image; add image:, such as "+
			"image: python:3.12-slim")
	}
	env.Image = image
	env.CondaFile = d.condaFile(f["conda_file"].value)
	env.Name, _, _ = d.str(f["name"].value, "environment.name")
	env.Version, _, _ = d.str(f["version"].value, "environment.version")
	env.Description, _, _ = d.str(f["description"].value, "environment.description")
	return env
}

// condaFile reads a conda file: a path, kept as it is, or an inline mapping, kept as YAML text
// (which always holds a newline, so the two cannot be confused).
func (d *decoder) condaFile(v *yaml.Node) string {
	n := d.resolve(v)
	switch {
	case isNull(n):
		return ""
	case n.Kind == yaml.ScalarNode:
		if strings.ContainsAny(n.Value, "\n\x00") {
			d.addf(n, "environment.conda_file", "expected a path or a mapping, found a text of "+
				"several lines; write the conda file as a mapping, or give its path")
		}
		return n.Value
	case n.Kind != yaml.MappingNode:
		d.addf(n, "environment.conda_file", "expected a path or a mapping, found %s", describe(n))
		return ""
	}
	expanded := d.expand(n)
	if expanded == nil {
		return ""
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(expanded); err != nil {
		d.addf(n, "environment.conda_file", "cannot be written back as YAML (%v); give its "+
			"path instead", err)
		return ""
	}
	return b.String()
}

// expand copies n with its aliases replaced by what they name, so that it can be written out
// on its own; nil when the alias budget runs out (reported).
func (d *decoder) expand(n *yaml.Node) *yaml.Node {
	n = d.resolve(n)
	if n == nil {
		return nil
	}
	c := *n
	c.Anchor = ""
	c.Line, c.Column = 0, 0
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		if c.Content[i] = d.expand(child); c.Content[i] == nil {
			return nil
		}
	}
	return &c
}
