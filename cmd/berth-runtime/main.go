// Command berth-runtime runs next to user code: `run` wraps a job's command and `score` serves
// a deployment's scoring script. It imports no Kubernetes, Helm or server package, so it
// starts in about a millisecond.
package main

import (
	"fmt"
	"os"

	"berth/internal/jobrun"
	"berth/internal/scoring"
	"berth/internal/version"
)

const usage = `usage: berth-runtime <command>

commands:
  run DIR     run the job prepared in DIR (written by the berth server) and record how it ended
  score ...   serve a scoring script (score.py) over HTTP; berth-runtime score --help for flags
  version     print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		if len(os.Args) != 3 {
			fmt.Fprint(os.Stderr, "berth-runtime run: expected one argument, the job's folder\n\n"+usage)
			os.Exit(2)
		}
		if err := jobrun.Run(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "berth-runtime run:", err)
			os.Exit(1)
		}
	case "score":
		os.Exit(scoring.Main(os.Args[2:]))
	case "version", "--version":
		fmt.Println("berth-runtime", version.Version)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "berth-runtime: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
