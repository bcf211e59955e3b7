package verdict

import (
	"flag"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/internal/docgen"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/configuration.md's generated reference from the config structs")

// configDocs is docs/configuration.md; its reference section, between the
// markers, is generated from the Config structs' fields and comments.
const (
	configDocs  = "../docs/configuration.md"
	beginMarker = "<!-- BEGIN GENERATED: go test ./verdict -run TestConfigReference -update-docs -->"
	endMarker   = "<!-- END GENERATED -->"
)

// TestConfigReference checks that the canary config reference in
// docs/configuration.md is the one the structs give: every field, its type
// and its comment, so the documentation cannot drift from the code.
func TestConfigReference(t *testing.T) {
	comments := fieldComments(t)
	var b strings.Builder
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		fmt.Fprintf(&b, "\n### `%s` (%s)\n\n| field | type | meaning |\n|---|---|---|\n", path, typ.Name())
		var nested []func()
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			doc := comments[typ.Name()+"."+f.Name]
			if doc == "" {
				t.Errorf("%s.%s has no comment to document it with", typ.Name(), f.Name)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, typeName(f.Type), strings.ReplaceAll(doc, "|", `\|`))
			elem := f.Type
			suffix := ""
			for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice || elem.Kind() == reflect.Map {
				if elem.Kind() == reflect.Slice {
					suffix += "[]"
				}
				elem = elem.Elem()
			}
			if elem.Kind() == reflect.Struct && elem.PkgPath() == typ.PkgPath() {
				child := joinPath(path, name) + suffix
				if path == "" {
					child = name + suffix
				}
				nested = append(nested, func() { walk(elem, child) })
			}
		}
		for _, n := range nested {
			n()
		}
	}
	walk(reflect.TypeFor[Config](), "")
	generated := strings.Replace(b.String(), "### `` (Config)", "### top level (Config)", 1)

	if err := docgen.Check(configDocs, beginMarker, endMarker, generated, *updateDocs); err != nil {
		t.Error(err)
	}
}

// typeName is a field's type as a config author reads it.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Key()) + " to " + typeName(t.Elem())
	case reflect.Struct:
		return "object (" + t.Name() + ")"
	case reflect.Float64:
		return "number"
	case reflect.Int:
		return "integer"
	case reflect.Bool:
		return "boolean"
	}
	return "string"
}

// fieldComments reads the package's doc comments: "Type.Field" → comment.
func fieldComments(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	out, err := docgen.FieldComments(files...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
