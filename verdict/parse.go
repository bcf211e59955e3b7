package verdict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ParseConfig parses a canary config in judge's native format, YAML or
// JSON (kayenta.ParseConfig also reads Spinnaker Kayenta CanaryConfigs).
// source names the input in errors. All problems are reported together,
// wrapped in ErrInvalidConfig.
func ParseConfig(data []byte, source string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		raw := bytes.TrimSpace(data)
		if len(raw) > 0 && raw[0] == '{' {
			// JSON that YAML cannot read: decoded as JSON, which says where.
			return parseJSONConfig(raw, source)
		}
		return nil, fmt.Errorf("%s: %w: %s", source, ErrInvalidConfig, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: %w: the file is empty; a config is a mapping with a metrics list", source, ErrInvalidConfig)
	}
	shape := &shapeChecker{source: source, at: map[string]string{}}
	if !shape.check(&root, reflect.TypeFor[Config](), "") {
		return nil, fmt.Errorf("%s: %w:\n  %s", source, ErrInvalidConfig, strings.Join(shape.problems, "\n  "))
	}
	var doc any
	if err := root.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", source, ErrInvalidConfig, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", source, ErrInvalidConfig, err)
	}
	cfg, err := decodeConfig(raw, source)
	if err != nil {
		return nil, err
	}
	problems := shape.problems
	for _, p := range append(cfg.problems(), cfg.emptyGroups()...) {
		if located := shape.locate(p); located != "" {
			problems = append(problems, located)
		}
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("%s: %w:\n  %s", source, ErrInvalidConfig, strings.Join(problems, "\n  "))
	}
	return cfg, nil
}

// emptyGroups lists the weighted groups of a native config that no metric
// is in (Kayenta configs may list such groups, and are taken as they are).
func (c *Config) emptyGroups() []string {
	used := map[string]bool{}
	for _, m := range c.Metrics {
		for _, g := range m.Groups {
			used[g] = true
		}
	}
	var out []string
	for i, g := range c.Groups {
		if g.Name != "" && !used[g.Name] && len(c.Metrics) > 0 && g.Weight != nil && *g.Weight > 0 {
			out = append(out, fmt.Sprintf("groups[%d] (%s): weight %v but no metric is in the group, so it scores nothing and the other groups count for less", i, g.Name, *g.Weight))
		}
	}
	return out
}

// parseJSONConfig decodes and validates a JSON config strictly.
func parseJSONConfig(raw []byte, source string) (*Config, error) {
	cfg, err := decodeConfig(raw, source)
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate(source)
}

// decodeConfig decodes a JSON config, refusing unknown fields.
func decodeConfig(raw []byte, source string) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", source, ErrInvalidConfig, JSONErrorText(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: %w: unexpected data after the config object", source, ErrInvalidConfig)
	}
	return &cfg, nil
}

// JSONErrorText rewrites encoding/json's messages to name the field path
// and JSON kinds, never Go types. Every entry point that decodes JSON
// describes its errors with it.
func JSONErrorText(err error) string {
	var (
		te *json.UnmarshalTypeError
		se *json.SyntaxError
		pe *time.ParseError
	)
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the document"
		}
		return fmt.Sprintf("%s: a JSON %s where %s is expected", field, te.Value, jsonKind(te.Type))
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &pe):
		return fmt.Sprintf("%q is not an RFC 3339 time", pe.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names a Go type as the JSON value it decodes from, so errors
// never show Go type names to users.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Name() == "" {
			return "a string"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value"
}
