package scoring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func frame(kind byte, payload string) []byte {
	b := make([]byte, headerSize+len(payload))
	putHeader(b, kind, len(payload))
	copy(b[headerSize:], payload)
	return b
}

func TestReadFrame(t *testing.T) {
	huge := make([]byte, headerSize)
	binary.BigEndian.PutUint32(huge, maxAnswerBytes+1)
	huge[4] = kindJSON

	for _, tc := range []struct {
		name        string
		input       []byte
		kind        byte
		payload     string
		err         error  // matched with errors.Is, when set
		errContains string // substring of the error, when set
	}{
		{name: "json answer", input: frame(kindJSON, `{"a":1}`), kind: kindJSON, payload: `{"a":1}`},
		{name: "empty bytes answer", input: frame(kindBytes, ""), kind: kindBytes},
		{name: "ready", input: frame(kindReady, ""), kind: kindReady},
		{name: "nothing at all", input: nil, err: io.EOF},
		{name: "header cut short", input: frame(kindJSON, "x")[:3], err: io.ErrUnexpectedEOF},
		{name: "payload cut short", input: frame(kindJSON, "hello")[:7], err: io.ErrUnexpectedEOF},
		{name: "unknown kind", input: frame('Z', "x"), errContains: `malformed frame from worker: unknown kind 'Z'`},
		{name: "request kind from a worker", input: frame(kindScore, "x"), errContains: "unknown kind 'S'"},
		{name: "ready with payload", input: frame(kindReady, "x"), errContains: "ready frame with a 1-byte payload"},
		{name: "length over the limit", input: huge, errContains: "payload of 1073741825 bytes exceeds the limit of 1073741824"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, payload, _, err := readFrame(bytes.NewReader(tc.input), nil)
			switch {
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			case tc.errContains != "":
				if err == nil || !strings.Contains(err.Error(), tc.errContains) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errContains)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			default:
				if kind != tc.kind || string(payload) != tc.payload {
					t.Fatalf("got %q %q, want %q %q", kind, payload, tc.kind, tc.payload)
				}
			}
		})
	}
}

func TestReadFrameReusesAndGrowsTheBuffer(t *testing.T) {
	buf := make([]byte, 0, 8)
	big := strings.Repeat("x", 3<<20)
	input := append(frame(kindJSON, "small"), frame(kindBytes, big)...)
	r := bytes.NewReader(input)

	_, payload, buf, err := readFrame(r, buf)
	if err != nil || string(payload) != "small" {
		t.Fatalf("first frame: %q, %v", payload, err)
	}
	if cap(buf) != 8 {
		t.Fatalf("buffer reallocated for a payload that fit: cap %d", cap(buf))
	}
	_, payload, _, err = readFrame(r, buf)
	if err != nil || string(payload) != big {
		t.Fatalf("second frame: %d bytes, %v", len(payload), err)
	}
}

// TestLyingLengthCostsWhatWasSent: a header announcing a gigabyte followed by a few bytes must
// fail without allocating the gigabyte.
func TestLyingLengthCostsWhatWasSent(t *testing.T) {
	b := make([]byte, headerSize, headerSize+10)
	putHeader(b, kindJSON, maxAnswerBytes)
	b = append(b, "0123456789"...)
	_, _, buf, err := readFrame(bytes.NewReader(b), nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if cap(buf) > 2<<20 {
		t.Fatalf("allocated %d bytes for 10 sent", cap(buf))
	}
}

func TestParseFailure(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    scriptFailure
	}{
		{`{"summary":"init() raised ValueError: x","traceback":"tb"}`, scriptFailure{"init() raised ValueError: x", "tb"}},
		{`not json`, scriptFailure{Summary: "the worker reported a failure it could not describe"}},
		{`{"traceback":"only"}`, scriptFailure{Summary: "the worker reported a failure it could not describe"}},
	} {
		if got := parseFailure([]byte(tc.payload)); got != tc.want {
			t.Errorf("parseFailure(%q) = %+v, want %+v", tc.payload, got, tc.want)
		}
	}
}

// FuzzReadFrame feeds arbitrary worker output to the frame reader: it must never panic, never
// return a payload longer than what it was given, and read well-formed frames back exactly.
func FuzzReadFrame(f *testing.F) {
	f.Add(frame(kindJSON, `{"a":1}`))
	f.Add(frame(kindReady, ""))
	f.Add(append(frame(kindBytes, "\x00\xff"), frame(kindRunFailed, `{"summary":"x"}`)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'J', 1, 2})
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var buf []byte
		consumed := 0
		for {
			kind, payload, newBuf, err := readFrame(r, buf)
			buf = newBuf
			if err != nil {
				return
			}
			consumed += headerSize + len(payload)
			if consumed > len(data) {
				t.Fatalf("read %d bytes of frames from %d bytes of input", consumed, len(data))
			}
			want := data[consumed-len(payload) : consumed]
			if !bytes.Equal(payload, want) {
				t.Fatalf("payload %q, want %q", payload, want)
			}
			if kind == kindRunFailed || kind == kindInitFailed {
				if parseFailure(payload).Summary == "" {
					t.Fatal("a failure without a summary")
				}
			}
		}
	})
}

func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc-123", "a b", "x\ny", strings.Repeat("z", 200), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, incoming string) {
		id := requestID(incoming)
		if id == "" || len(id) > 128 {
			t.Fatalf("requestID(%q) = %q", incoming, id)
		}
		for _, c := range []byte(id) {
			if c <= ' ' || c >= 0x7f {
				t.Fatalf("requestID(%q) = %q holds byte %#x", incoming, id, c)
			}
		}
	})
}

func TestRequestID(t *testing.T) {
	if got := requestID("client-id-1"); got != "client-id-1" {
		t.Fatalf("a sane incoming id was replaced by %q", got)
	}
	for _, bad := range []string{"", "has space", "new\nline", strings.Repeat("a", 129)} {
		got := requestID(bad)
		if got == bad || len(got) != 36 || got[14] != '4' {
			t.Errorf("requestID(%q) = %q, want a fresh UUIDv4", bad, got)
		}
	}
}
