package scoring

import (
	"strings"
	"testing"
	"time"

	"berth/internal/syncbuf"
)

func TestBatchWriterHoldsLinesUntilFlush(t *testing.T) {
	var dst syncbuf.Buffer
	w := newBatchWriter(&dst, time.Hour)
	w.Write([]byte("one\n"))
	w.Write([]byte("two\n"))
	if got := dst.String(); got != "" {
		t.Fatalf("written before a flush: %q", got)
	}
	w.Flush()
	if got := dst.String(); got != "one\ntwo\n" {
		t.Fatalf("after Flush: %q", got)
	}
}

func TestBatchWriterWritesFullBatchesAtOnce(t *testing.T) {
	var dst syncbuf.Buffer
	w := newBatchWriter(&dst, time.Hour)
	line := strings.Repeat("x", 1023) + "\n"
	for range maxBatch / len(line) {
		w.Write([]byte(line))
	}
	if got := len(dst.String()); got != maxBatch {
		t.Fatalf("%d bytes written once the batch was full, want %d", got, maxBatch)
	}
}

func TestBatchWriterFlushesOnItsOwn(t *testing.T) {
	var dst syncbuf.Buffer
	w := newBatchWriter(&dst, time.Millisecond)
	w.Write([]byte("line\n"))
	waitFor(t, "the timed flush", func() bool { return dst.String() == "line\n" })
	w.Write([]byte("again\n"))
	waitFor(t, "the second timed flush", func() bool { return dst.String() == "line\nagain\n" })
}
