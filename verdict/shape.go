package verdict

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// shapeChecker walks a config document (YAML, or JSON read as YAML, with
// line and column) against the Config type before it is decoded, so that
// every unknown field and every value of the wrong kind is reported in one
// run, each with its position, an unknown field with the nearest known
// name. Problem pairs are removed from the document, so that the rest can
// still be decoded and validated. YAML 1.1 booleans (yes/no/on/off) are
// read as booleans, and any scalar given for a string field as its text.
type shapeChecker struct {
	source   string
	problems []string
	// at maps a field path (metrics[0].effectSize) to its position, for
	// the problems the validation finds after decoding; reported holds the
	// paths already reported.
	at       map[string]string
	reported map[string]bool
}

func (c *shapeChecker) pos(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", c.source, n.Line, n.Column)
}

func (c *shapeChecker) bad(n *yaml.Node, path, format string, args ...any) {
	if c.reported == nil {
		c.reported = map[string]bool{}
	}
	c.reported[path] = true
	c.problems = append(c.problems, fmt.Sprintf("%s: %s: %s", c.pos(n), path, fmt.Sprintf(format, args...)))
}

// check reports whether n fits t; a false return asks the caller to drop n.
func (c *shapeChecker) check(n *yaml.Node, t reflect.Type, path string) bool {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if path != "" {
		c.at[path] = c.pos(n)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := path
	if name == "" {
		name = "the config"
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.bad(n, name, "%s where an object (a mapping) is expected", nodeKind(n))
			return false
		}
		fields := map[string]reflect.StructField{}
		var known []string
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			fields[tag] = f
			known = append(known, tag)
		}
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			child := joinPath(path, key.Value)
			f, ok := fields[key.Value]
			if !ok {
				msg := "unknown field"
				if near := nearest(key.Value, known); near != "" {
					msg += fmt.Sprintf("; did you mean %s?", near)
				} else {
					msg += fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
				}
				c.bad(key, child, "%s", msg)
				continue
			}
			if !c.check(value, f.Type, child) {
				continue
			}
			kept = append(kept, key, value)
		}
		n.Content = kept
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.bad(n, name, "%s where a list is expected", nodeKind(n))
			return false
		}
		kept := n.Content[:0]
		for i, item := range n.Content {
			if c.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)) {
				kept = append(kept, item)
			}
		}
		n.Content = kept
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.bad(n, name, "%s where an object (a mapping) is expected", nodeKind(n))
			return false
		}
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if c.check(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value)) {
				kept = append(kept, n.Content[i], n.Content[i+1])
			}
		}
		n.Content = kept
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			c.bad(n, name, "%s where a string is expected", nodeKind(n))
			return false
		}
		n.Tag = "!!str"
	case reflect.Bool:
		if n.Kind == yaml.ScalarNode && n.Tag != "!!bool" {
			switch strings.ToLower(n.Value) {
			case "yes", "y", "on":
				n.Value, n.Tag = "true", "!!bool"
			case "no", "n", "off":
				n.Value, n.Tag = "false", "!!bool"
			}
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			c.bad(n, name, "%s where a boolean (true or false) is expected", nodeKind(n))
			return false
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			c.bad(n, name, "%s where an integer is expected", nodeKind(n))
			return false
		}
	case reflect.Float64, reflect.Float32:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			c.bad(n, name, "%s where a number is expected", nodeKind(n))
			return false
		}
	}
	return true
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nodeKind names what a node holds, in the words of the errors.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	}
	return fmt.Sprintf("the text %.40q", n.Value)
}

// nearest is the known name closest to name by edit distance, when it is
// close enough to be a typo (at most a third of its length, at least 1).
func nearest(name string, known []string) string {
	best, bestD := "", max(len(name)/3, 1)+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two strings (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// metricName matches the " (name)" a validation message puts after a
// metric's index.
var metricName = regexp.MustCompile(`^(metrics\[\d+\]) \([^)]*\)`)

// locate prefixes a validation problem with the position of the longest
// field path it names, and drops it (returns "") when the shape check
// already reported that field.
func (c *shapeChecker) locate(problem string) string {
	path, _, _ := strings.Cut(metricName.ReplaceAllString(problem, "$1"), ":")
	if c.reported[path] {
		return ""
	}
	paths := make([]string, 0, len(c.at))
	for p := range c.at {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return problem
	}
	longest := slices.MaxFunc(paths, func(a, b string) int { return len(a) - len(b) })
	return c.at[longest] + ": " + problem
}
