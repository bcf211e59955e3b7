// Package docgen keeps generated reference sections of the documentation
// in step with the code: it reads struct fields' doc comments from Go
// source and splices generated text between markers in a Markdown file.
// Tests use it (verdict's config reference, cmd/judge's serve reference)
// to fail when a committed page is stale and to rewrite it on request.
package docgen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
)

// FieldComments reads the struct types of Go source files: "Type.Field" →
// the field's doc comment on one line. A field without one takes the
// previous field's when that names it ("Min and Max bound …").
func FieldComments(files ...string) (map[string]string, error) {
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, err
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
				text = strings.Join(strings.Fields(text), " ")
				if text == "" && len(field.Names) == 1 && strings.Contains(prev, field.Names[0].Name) {
					text = prev
				}
				prev = text
				for _, id := range field.Names {
					out[ts.Name.Name+"."+id.Name] = text
				}
			}
			return false
		})
	}
	return out, nil
}

// Check compares the section of the Markdown file path between the begin
// and end markers with generated. With update it rewrites the section
// instead. A stale section is an error saying how to regenerate it.
func Check(path, begin, end, generated string, update bool) error {
	raw, err := os.ReadFile(path) //nolint:gosec // the repository's documentation
	if err != nil {
		return err
	}
	doc := string(raw)
	start, stop := strings.Index(doc, begin), strings.Index(doc, end)
	if start < 0 || stop < start {
		return fmt.Errorf("%s: no generated section between %q and %q", path, begin, end)
	}
	want := doc[:start+len(begin)] + "\n" + generated + "\n" + doc[stop:]
	switch {
	case update:
		return os.WriteFile(path, []byte(want), 0o644) //nolint:gosec // documentation
	case doc != want:
		return fmt.Errorf("%s is stale: regenerate it (%s)", path, strings.TrimSuffix(strings.TrimPrefix(begin, "<!-- BEGIN GENERATED: "), " -->"))
	}
	return nil
}
