package jobspec

import (
	"fmt"
	"testing"
)

func TestTmpLines(t *testing.T) {
	for _, y := range []string{
		"command: echo\ninputs:\n  data:\n    type: uri_folder\n   path: x\n",
		"command: echo\ninputs:\n  data:\n    type: uri_folder\n  - x\n",
		"command: echo\ndescription: \"abc\n\nmore\n",
		"command: echo\ndescription: 'abc\n",
		"command: echo\n  inputs: x\n",
		"command: echo\ninputs: *nope\n",
		"command: echo\nname: a\x01b\n",
		"command: echo\nname: a\xffb\n",
		"command: echo\nname: [a, b\nx: 1\n",
		"command: echo\nname: {a: b\n",
		"command: @echo\n",
		"command: echo\nname: `x`\n",
		"command: echo\nname: !!int abc\n",
		"command: echo\n%YAML 1.2\n",
		"command: echo\nname: &a x\n&b y: z\n",
		"\ufeffcommand: echo\n",
		"command: echo\r\nname: a\r\n",
		"command: echo\nname: x\n...\n---\ncommand: y\n",
	} {
		_, err := Parse([]byte(y), Options{})
		fmt.Printf("%q\n  => %v\n", y, err)
	}
}
