package verdict

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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

	raw, err := os.ReadFile(configDocs)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start, end := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if start < 0 || end < start {
		t.Fatalf("%s: no generated section (%s … %s)", configDocs, beginMarker, endMarker)
	}
	want := doc[:start+len(beginMarker)] + "\n" + generated + "\n" + doc[end:]
	if *updateDocs {
		if err := os.WriteFile(configDocs, []byte(want), 0o644); err != nil { //nolint:gosec // documentation
			t.Fatal(err)
		}
		return
	}
	if doc != want {
		t.Errorf("%s is stale: run go test ./verdict -run TestConfigReference -update-docs", configDocs)
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

// fieldComments reads the package's source: "Type.Field" → the field's
// comment, on one line.
func fieldComments(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			prev := ""
			for _, field := range st.Fields.List {
				text := field.Doc.Text()
				if text == "" {
					text = field.Comment.Text()
				}
				// "Min and Max bound …" documents the next field too.
				if text == "" && len(field.Names) == 1 && strings.Contains(prev, field.Names[0].Name) {
					text = prev
				}
				prev = text
				var line bytes.Buffer
				for i, w := range strings.Fields(text) {
					if i > 0 {
						line.WriteByte(' ')
					}
					line.WriteString(w)
				}
				for _, id := range field.Names {
					out[ts.Name.Name+"."+id.Name] = line.String()
				}
			}
			return false
		})
	}
	return out
}
