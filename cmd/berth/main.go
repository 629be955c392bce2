// Command berth is berth's CLI, workspace server, and (later) cluster agent, operator and
// router, in one binary.
package main

import (
	"os"

	"berth/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
