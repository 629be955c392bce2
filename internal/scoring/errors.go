package scoring

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	v1 "berth/api/v1"
)

// httpError fails a request: the status and the message the client sees, apart from err, the
// detail that only the log gets.
type httpError struct {
	status  int
	code    string
	message string
	err     error
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.message + ": " + e.err.Error()
	}
	return e.message
}

func (e *httpError) Unwrap() error { return e.err }

func newError(status int, code, format string, args ...any) *httpError {
	return &httpError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// statusClientGone is logged when the client left before it could be answered, as nginx
// does; nothing is sent.
const statusClientGone = 499

var errClientGone = &httpError{status: statusClientGone, code: "ClientClosedRequest",
	message: "the client closed the connection before the answer"}

// writeError sends e as the JSON error body that berth's APIs share.
func writeError(w http.ResponseWriter, requestID string, e *httpError) {
	if e.status == statusClientGone {
		return
	}
	body, _ := json.Marshal(v1.Error{Error: v1.ErrorBody{Code: e.code, Message: e.message, RequestID: requestID}})
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	w.Write(body)
}
