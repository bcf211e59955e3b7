package docgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFieldComments(t *testing.T) {
	src := filepath.Join(t.TempDir(), "x.go")
	code := `package x

type Bounds struct {
	// Min and Max bound the value.
	Min, Max float64
	// Low and High bound the ratio.
	Low  float64
	High float64
	Free int // trailing comment
	Bare int
}
`
	if err := os.WriteFile(src, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := FieldComments(src)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Bounds.Min": "Min and Max bound the value.", "Bounds.Max": "Min and Max bound the value.",
		"Bounds.Low": "Low and High bound the ratio.", "Bounds.High": "Low and High bound the ratio.",
		"Bounds.Free": "trailing comment", "Bounds.Bare": "",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if _, err := FieldComments(filepath.Join(t.TempDir(), "missing.go")); err == nil {
		t.Error("a missing file read")
	}
}

func TestCheck(t *testing.T) {
	const begin, end = "<!-- BEGIN GENERATED: go test ./x -update -->", "<!-- END GENERATED -->"
	path := filepath.Join(t.TempDir(), "doc.md")
	if err := os.WriteFile(path, []byte("# Doc\n"+begin+"\nold\n"+end+"\ntail\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Check(path, begin, end, "new", false); err == nil || !strings.Contains(err.Error(), "go test ./x -update") {
		t.Fatalf("stale section: %v", err)
	}
	if err := Check(path, begin, end, "new", true); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path) //nolint:gosec // the test's file
	if string(raw) != "# Doc\n"+begin+"\nnew\n"+end+"\ntail\n" {
		t.Fatalf("rewritten: %q", raw)
	}
	if err := Check(path, begin, end, "new", false); err != nil {
		t.Errorf("fresh section: %v", err)
	}
	if err := Check(path, "<!-- nope -->", end, "new", false); err == nil {
		t.Error("missing markers accepted")
	}
}
