package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/mem"
)

// TestSelection: -path and -endpoint take their listed values only.
func TestSelection(t *testing.T) {
	for _, s := range []selection{{"both", "both"}, {"http", "analyze"}, {"grpc", "floor"}} {
		if err := s.check(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []selection{{"", "both"}, {"HTTP", "both"}, {"both", "judge"}, {"grpc", ""}} {
		if s.check() == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

// TestRawCodec: the load generator's codec sends the bytes it is given,
// counts the bytes it receives, and refuses other types.
func TestRawCodec(t *testing.T) {
	sent := []byte{1, 2, 3}
	out, err := rawCodec{}.Marshal(&sent)
	if err != nil || !bytes.Equal(out.Materialize(), sent) {
		t.Errorf("Marshal = %v, %v; want %v", out.Materialize(), err, sent)
	}
	var n int
	if err := (rawCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte("abcd")), mem.SliceBuffer([]byte("ef"))}, &n); err != nil || n != 6 {
		t.Errorf("Unmarshal: %d bytes, %v; want 6", n, err)
	}
	if _, err := (rawCodec{}).Marshal("x"); err == nil {
		t.Error("Marshal of a string accepted")
	}
	if err := (rawCodec{}).Unmarshal(nil, &sent); err == nil {
		t.Error("Unmarshal into a byte slice accepted")
	}
}

// TestCheckRounds: -rounds takes 1 or more, each round at least 100 ms of
// -duration, and the refusal names the flag.
func TestCheckRounds(t *testing.T) {
	for _, ok := range []struct {
		rounds int
		d      time.Duration
	}{{1, 100 * time.Millisecond}, {5, 10 * time.Second}, {100, 10 * time.Second}} {
		if err := checkRounds(ok.rounds, ok.d); err != nil {
			t.Errorf("%d rounds of %s: %v", ok.rounds, ok.d, err)
		}
	}
	for _, bad := range []struct {
		rounds int
		d      time.Duration
	}{{0, 10 * time.Second}, {-3, 10 * time.Second}, {101, 10 * time.Second}, {1, 50 * time.Millisecond}} {
		if err := checkRounds(bad.rounds, bad.d); err == nil || !strings.Contains(err.Error(), "-rounds") {
			t.Errorf("%d rounds of %s: %v, want an error naming -rounds", bad.rounds, bad.d, err)
		}
	}
}
