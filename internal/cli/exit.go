package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"berth/internal/client"
	"berth/internal/kube"
	"berth/internal/server"
)

// Exit codes, the same for every command.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2 // invalid input or usage
	ExitNotFound = 3
	// ExitInterrupted is the shell's code for a command ended by Ctrl-C (128 + SIGINT).
	ExitInterrupted = 130
)

// exitError carries the exit code of an error the CLI itself decided on.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is an error in what the user typed or wrote: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// errSilentFailure is an error with exit code 1 whose message was already printed.
var errSilentFailure = &exitError{code: ExitFailure, err: errors.New("")}

// exitCode maps an error to the process's exit code.
func exitCode(err error) int {
	var ee *exitError
	var api *client.APIError
	var option *server.OptionError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, kube.ErrKubeconfig), errors.As(err, &option):
		return ExitUsage
	case errors.As(err, &api):
		switch api.Status {
		case http.StatusBadRequest:
			return ExitUsage
		case http.StatusNotFound:
			return ExitNotFound
		}
		return ExitFailure
	case isCobraUsageError(err):
		return ExitUsage
	}
	return ExitFailure
}

// isCobraUsageError recognizes the errors cobra itself returns for bad command lines.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag",
		"invalid argument", "flag needs an argument", "accepts ", "requires ", "bad flag syntax"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// printError writes err as the CLI shows errors: "ERROR: " and the message, as az does.
func printError(w io.Writer, err error) {
	var ee *exitError
	if errors.As(err, &ee) && ee.err.Error() == "" {
		return // already said
	}
	if errors.As(err, &ee) && ee.code == ExitInterrupted {
		fmt.Fprintln(w, err.Error()) // the user asked for it: not an error
		return
	}
	if err.Error() == context.Canceled.Error() {
		// Ctrl-C with nothing more to say than that.
		fmt.Fprintln(w, "Interrupted; what was in progress was not finished.")
		return
	}
	fmt.Fprintln(w, "ERROR: "+err.Error())
	if isCobraUsageError(err) && !strings.Contains(err.Error(), "--help") {
		fmt.Fprintln(w, "Run the command with --help to see its usage.")
	}
}
