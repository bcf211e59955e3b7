package server

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

// TestConfigCache: a config sent again is the parse already made; one that
// differs in any value is parsed on its own; one that protojson refuses (a
// NaN number) is refused every time, never served from the cache.
func TestConfigCache(t *testing.T) {
	body := func(dir string, weight float64) *structpb.Struct {
		s, err := structpb.NewStruct(map[string]any{
			"metrics": []any{map[string]any{"name": "latency", "groups": []any{"g"}, "direction": dir}},
			"groups":  []any{map[string]any{"name": "g", "weight": weight}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var c configCache
	first, err := c.parse(body("increase", 100), "canary_config")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.parse(body("increase", 100), "canary_config")
	if err != nil || again != first {
		t.Errorf("the same config again: %p, %v; want the cached %p", again, err, first)
	}
	other, err := c.parse(body("decrease", 100), "canary_config")
	if err != nil || other == first || other.Metrics[0].Direction == first.Metrics[0].Direction {
		t.Errorf("a config with another direction: %+v, %v; want its own parse", other, err)
	}
	for range 2 {
		if cfg, err := c.parse(body("increase", math.NaN()), "canary_config"); !errors.Is(err, errInvalid) {
			t.Errorf("a NaN in the config: %+v, %v; want an invalid-argument error", cfg, err)
		}
	}
	for range 2 * configCacheSize {
		if _, err := c.parse(body("increase", 100), "canary_config"); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.m) > configCacheSize {
		t.Errorf("%d cached configs, more than the bound %d", len(c.m), configCacheSize)
	}
}

// TestCanonicalEncoding: values that differ only in how their parts could
// be run together encode differently; equal values encode alike whatever
// the order their keys were set in.
func TestCanonicalEncoding(t *testing.T) {
	value := func(v any) *structpb.Value {
		pv, err := structpb.NewValue(v)
		if err != nil {
			t.Fatal(err)
		}
		return pv
	}
	distinct := [][2]any{
		{map[string]any{"a": "bc"}, map[string]any{"ab": "c"}},
		{[]any{1.0, []any{2.0}}, []any{[]any{1.0}, 2.0}},
		{[]any{"a", "b"}, []any{"ab"}},
		{map[string]any{"x": []any{}}, map[string]any{"x": map[string]any{}}},
		{"1", 1.0},
		{true, "t"},
		{nil, false},
		{map[string]any{"a": 1.0, "b": 2.0}, map[string]any{"a": 2.0, "b": 1.0}},
	}
	for _, d := range distinct {
		a, b := appendCanonical(nil, value(d[0])), appendCanonical(nil, value(d[1]))
		if string(a) == string(b) {
			t.Errorf("%v and %v share the encoding %q", d[0], d[1], a)
		}
	}
	one := value(map[string]any{"b": 1.0, "a": []any{"x", map[string]any{"d": true, "c": nil}}})
	for range 20 {
		other := value(map[string]any{"a": []any{"x", map[string]any{"c": nil, "d": true}}, "b": 1.0})
		if a, b := appendCanonical(nil, one), appendCanonical(nil, other); string(a) != string(b) {
			t.Fatalf("equal values encode as %q and %q", a, b)
		}
	}
}

// TestWholeBody: a body limitBody read is decoded from its own bytes, not a
// copy; one already partly read, or any other reader, is read.
func TestWholeBody(t *testing.T) {
	all := []byte(`{"spec":{}}`)
	got, err := wholeBody(boundedBody{bytes.NewReader(all), all})
	if err != nil || &got[0] != &all[0] {
		t.Errorf("limitBody's body: %q, %v; want its own bytes", got, err)
	}
	partly := boundedBody{bytes.NewReader(all), all}
	_, _ = partly.Read(make([]byte, 2))
	if got, err := wholeBody(partly); err != nil || string(got) != string(all[2:]) {
		t.Errorf("a body partly read: %q, %v; want the rest", got, err)
	}
	if got, err := wholeBody(strings.NewReader("abc")); err != nil || string(got) != "abc" {
		t.Errorf("another reader: %q, %v", got, err)
	}
}
