package main

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/canaryjudge/judge/metrics"
)

const chartSchema = "../../deploy/helm/judge/values.schema.json"

// obj is a JSON Schema object of the given properties, refusing others.
func obj(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "additionalProperties": false, "properties": props}
}

func str() map[string]any { return map[string]any{"type": "string"} }

func secretRef() map[string]any { return obj(map[string]any{"name": str(), "key": str()}) }

// anyObject is a Kubernetes object the chart passes through as it is
// (resources, affinity, annotations): its own schema is Kubernetes'.
func anyObject() map[string]any { return map[string]any{"type": "object"} }

func list(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}

// flagSchema is the schema of a judge serve flag's value in the config
// file.
func flagSchema(f *pflag.Flag) map[string]any {
	switch f.Value.Type() {
	case "int", "int64", "int32":
		return map[string]any{"type": "integer"}
	case "float64":
		return map[string]any{"type": "number"}
	case "bool":
		return map[string]any{"type": "boolean"}
	case "stringSlice", "stringArray":
		return list(str())
	case "duration":
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	}
	return str()
}

// fieldSchema is the schema of a struct field decoded by mapstructure.
func fieldSchema(t reflect.Type) map[string]any {
	switch t.Kind() {
	case reflect.String:
		return str()
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		if t.String() == "time.Duration" {
			return map[string]any{"type": "string"}
		}
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": str()}
	}
	return map[string]any{}
}

// accountSchema is a metrics account: the common fields and every
// registered type's own settings, each type with exactly its own (a
// typo, or a key of another type, is refused by helm).
func accountSchema() map[string]any {
	common, specific := map[string]any{}, map[string]any{}
	at := reflect.TypeFor[metrics.Account]()
	for i := range at.NumField() {
		f := at.Field(i)
		switch key := f.Tag.Get("mapstructure"); {
		case key == ",remain":
		case slices.Contains(metrics.TypeSpecific, key):
			specific[key] = fieldSchema(f.Type)
		default:
			common[key] = fieldSchema(f.Type)
		}
	}
	var variants []any
	for _, typ := range metrics.Types() {
		props := map[string]any{}
		for k, v := range common {
			props[k] = v
		}
		b, _ := metrics.Lookup(typ)
		for _, k := range b.Uses {
			props[k] = specific[k]
		}
		props["type"] = map[string]any{"const": typ}
		if b.Settings != nil {
			st := reflect.TypeOf(b.Settings)
			for i := range st.NumField() {
				props[st.Field(i).Tag.Get("mapstructure")] = fieldSchema(st.Field(i).Type)
			}
		}
		o := obj(props)
		o["required"] = []string{"name", "type"}
		variants = append(variants, o)
	}
	return map[string]any{"oneOf": variants}
}

// valuesSchema is the chart's values.schema.json: every value of
// values.yaml, and under config every judge serve setting and the
// metrics accounts, unknown keys refused.
func valuesSchema() map[string]any {
	config := map[string]any{}
	newServeCmd(viper.New()).Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" && f.Name != "config" {
			config[f.Name] = flagSchema(f)
		}
	})
	config["metrics"] = obj(map[string]any{"accounts": list(accountSchema())})
	s := obj(map[string]any{
		"replicaCount": map[string]any{"type": "integer", "minimum": 1},
		"image": obj(map[string]any{"repository": str(), "tag": str(), "digest": str(),
			"pullPolicy": map[string]any{"enum": []string{"Always", "IfNotPresent", "Never"}}}),
		"imagePullSecrets": list(anyObject()),
		"nameOverride":     str(), "fullnameOverride": str(),
		"serviceAccount": obj(map[string]any{"create": map[string]any{"type": "boolean"}, "name": str(), "annotations": anyObject()}),
		"storage": obj(map[string]any{
			"type":     map[string]any{"enum": []string{"postgres", "sqlite"}},
			"postgres": obj(map[string]any{"urlSecret": secretRef()}),
			"sqlite":   obj(map[string]any{"size": str(), "storageClassName": str()}),
		}),
		"auth":          obj(map[string]any{"tokensSecret": secretRef(), "protectMetrics": map[string]any{"type": "boolean"}, "openRoutes": list(str())}),
		"tls":           obj(map[string]any{"secretName": str(), "clientCASecret": secretRef()}),
		"sourceSecrets": list(obj(map[string]any{"name": str()})),
		"config":        obj(config),
		"service": obj(map[string]any{"type": str(), "port": map[string]any{"type": "integer"}, "grpcPort": map[string]any{"type": "integer"},
			"annotations": anyObject()}),
		"resources":           anyObject(),
		"podSecurityContext":  anyObject(),
		"securityContext":     anyObject(),
		"podDisruptionBudget": obj(map[string]any{"enabled": map[string]any{"type": "boolean"}, "minAvailable": map[string]any{"type": []string{"integer", "string"}}}),
		"serviceMonitor": obj(map[string]any{"enabled": map[string]any{"type": "boolean"}, "interval": str(), "labels": anyObject(),
			"tokenSecret": secretRef(), "tlsConfig": anyObject()}),
		"networkPolicy":             obj(map[string]any{"enabled": map[string]any{"type": "boolean"}, "from": list(anyObject())}),
		"podAnnotations":            anyObject(),
		"nodeSelector":              anyObject(),
		"tolerations":               list(anyObject()),
		"affinity":                  anyObject(),
		"topologySpreadConstraints": list(anyObject()),
	})
	s["$schema"] = "http://json-schema.org/draft-07/schema#"
	s["title"] = "judge Helm chart values (generated: go test ./cmd/judge -run TestChartValuesSchema -update-docs)"
	return s
}

// TestChartValuesSchema checks the chart's values.schema.json against the
// values it documents, judge serve's settings and the metrics accounts of
// every registered type (-update-docs rewrites it), so helm itself refuses
// an unknown key or a wrong type anywhere in the values.
func TestChartValuesSchema(t *testing.T) {
	want, err := json.MarshalIndent(valuesSchema(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *updateDocs {
		if err := os.WriteFile(chartSchema, want, 0o644); err != nil { //nolint:gosec // a committed file
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(chartSchema)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is stale: regenerate it (go test ./cmd/judge -run TestChartValuesSchema -update-docs)", chartSchema)
	}
}
