package scoring

import (
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// workerSource is the Python side of the protocol, passed to `python -c` so that no file has
// to be written next to the user's code.
//
//go:embed worker.py
var workerSource string

// The host and a worker exchange frames over two pipes, fd 3 (requests) and fd 4 (answers) in
// the worker, because the user's code owns stdout and stderr. A frame is a 4-byte big-endian
// payload length, a kind byte and the payload: one read of the header tells the reader exactly
// how much follows, with no escaping and no scanning. worker.py holds the other side.
const headerSize = 5

// Frame kinds; keep in step with worker.py.
const (
	kindScore       byte = 'S' // host to worker: the request body
	kindReady       byte = 'R' // init() returned
	kindInitFailed  byte = 'F' // importing the script or init() raised: scriptFailure JSON
	kindJSON        byte = 'J' // run() returned a JSON-able value, encoded
	kindBytes       byte = 'B' // run() returned bytes
	kindRunFailed   byte = 'E' // run() raised: scriptFailure JSON
	kindUnsupported byte = 'U' // run() returned what cannot be sent: the message, UTF-8
)

// maxAnswerBytes bounds a worker's frame, so a corrupt length cannot make the host allocate
// without limit. Answers are held in memory whole, and a gigabyte is far past a sane one.
const maxAnswerBytes = 1 << 30

// frameError is a malformed frame from a worker: the worker is not speaking the protocol
// (corrupted pipe, or user code writing to fd 4), so it cannot be trusted further.
type frameError struct{ msg string }

func (e *frameError) Error() string { return "malformed frame from worker: " + e.msg }

// readFrame reads one frame from a worker into buf, growing it when needed, and returns the
// kind and the payload, which aliases buf. io.EOF means the worker closed its end cleanly
// between frames; io.ErrUnexpectedEOF means it went away in the middle of one.
func readFrame(r io.Reader, buf []byte) (kind byte, payload, newBuf []byte, err error) {
	var header [headerSize]byte
	if n, err := io.ReadFull(r, header[:]); err != nil {
		if n > 0 {
			return 0, nil, buf, &midFrameError{unexpected(err)}
		}
		return 0, nil, buf, err
	}
	n := binary.BigEndian.Uint32(header[:4])
	kind = header[4]
	switch kind {
	case kindReady, kindInitFailed, kindJSON, kindBytes, kindRunFailed, kindUnsupported:
	default:
		return 0, nil, buf, &frameError{fmt.Sprintf("unknown kind %q", kind)}
	}
	if n > maxAnswerBytes {
		return 0, nil, buf, &frameError{fmt.Sprintf("payload of %d bytes exceeds the limit of %d", n, maxAnswerBytes)}
	}
	if kind == kindReady && n != 0 {
		return 0, nil, buf, &frameError{fmt.Sprintf("ready frame with a %d-byte payload", n)}
	}
	if cap(buf) < int(n) {
		// Grow in steps of what arrived rather than trusting the length up front: a lying
		// header then costs at most what the worker really sent.
		buf, err = readAllInto(r, buf[:0], int(n))
		if err != nil {
			return 0, nil, buf, &midFrameError{err}
		}
		return kind, buf, buf, nil
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, buf, &midFrameError{unexpected(err)}
	}
	return kind, buf, buf, nil
}

// readAllInto reads exactly n bytes from r, appending to buf in chunks of at most 1 MiB.
func readAllInto(r io.Reader, buf []byte, n int) ([]byte, error) {
	const chunk = 1 << 20
	for len(buf) < n {
		want := min(n-len(buf), chunk)
		if cap(buf)-len(buf) < want {
			buf = append(buf[:cap(buf)], make([]byte, want)...)[:len(buf)]
		}
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+want])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, unexpected(err)
		}
	}
	return buf, nil
}

// midFrameError is a read that failed after part of a frame was consumed: the stream cannot
// be picked up again, so a worker whose read timed out this way is replaced, not reused.
type midFrameError struct{ err error }

func (e *midFrameError) Error() string { return "in the middle of a frame: " + e.err.Error() }
func (e *midFrameError) Unwrap() error { return e.err }

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// putHeader writes a frame header for a payload of n bytes into the first headerSize bytes
// of b. Requests are built in place this way so that header and body go out in one write.
func putHeader(b []byte, kind byte, n int) {
	binary.BigEndian.PutUint32(b[:4], uint32(n))
	b[4] = kind
}

// scriptFailure is the payload of kindInitFailed and kindRunFailed.
type scriptFailure struct {
	// Summary is one line naming the stage and the exception: "init() raised ValueError: x".
	Summary string `json:"summary"`
	// Traceback is the last lines of the Python traceback.
	Traceback string `json:"traceback"`
}

// parseFailure decodes a failure payload. A worker that sends garbage still yields a summary
// the client and the log can show.
func parseFailure(payload []byte) scriptFailure {
	var f scriptFailure
	if err := json.Unmarshal(payload, &f); err != nil || f.Summary == "" {
		return scriptFailure{Summary: "the worker reported a failure it could not describe"}
	}
	return f
}
