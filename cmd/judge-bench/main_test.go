package main

import (
	"bytes"
	"testing"

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
