package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	v1 "berth/api/v1"
)

// Error is what a handler returns to fail a request: the status and the message the client
// sees, apart from Err, the detail that is only logged.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "NotFound", Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "Conflict", Message: fmt.Sprintf(format, args...)}
}

func internal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "InternalError",
		Message: "the server failed; see its log for this request id", Err: err}
}

// handlerFunc is an HTTP handler that fails by returning an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// writeError sends err as the API's JSON error body and logs it.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = internal(err)
	}
	id := requestID(r.Context())
	if e.Status >= 500 {
		log.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "error", err)
	} else {
		log.Info("request rejected", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", e.Status, "error", e.Message)
	}
	writeJSON(w, e.Status, v1.Error{Error: v1.ErrorBody{Code: e.Code, Message: e.Message, RequestID: id}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // next_link keeps its & readable
	enc.Encode(v)
}
