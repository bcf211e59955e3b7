package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/canaryjudge/judge/internal/docgen"
	"github.com/canaryjudge/judge/metrics"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/server-configuration.md's generated reference")

const (
	serverDocs  = "../../docs/server-configuration.md"
	beginMarker = "<!-- BEGIN GENERATED: go test ./cmd/judge -run TestServerConfigReference -update-docs -->"
	endMarker   = "<!-- END GENERATED -->"
)

// TestServerConfigReference checks docs/server-configuration.md against
// judge serve's flags (each also a JUDGE_* variable and a key of the
// --config file) and the metrics accounts' fields, so it cannot drift.
func TestServerConfigReference(t *testing.T) {
	var b strings.Builder
	b.WriteString("\n### `judge serve` settings\n\n| key / flag | environment | default | meaning |\n|---|---|---|---|\n")
	newServeCmd(viper.New()).Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		def := f.DefValue
		if def == "" || def == "[]" {
			def = "—"
		}
		env := "JUDGE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s |\n", f.Name, env, def, strings.ReplaceAll(f.Usage, "|", `\|`))
	})
	b.WriteString("\n### `metrics.accounts[]`\n\nIn the `--config` file only (a list).\n\n| key | type | meaning |\n|---|---|---|\n")
	docs, err := docgen.FieldComments("../../metrics/account.go")
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[metrics.Account]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		key := f.Tag.Get("mapstructure")
		if key == ",remain" {
			continue // a type's own settings: their tables follow
		}
		doc := docs["Account."+f.Name]
		if doc == "" {
			t.Errorf("metrics.Account.%s has no comment to document it with", f.Name)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", key, f.Type.String(), strings.ReplaceAll(doc, "|", `\|`))
	}
	for _, typ := range metrics.Types() {
		backend, _ := metrics.Lookup(typ)
		if backend.Settings == nil {
			continue
		}
		fmt.Fprintf(&b, "\n### `metrics.accounts[]` of type `%s`\n\nIts own settings, beside those above (unknown keys are refused).\n\n| key | type | meaning |\n|---|---|---|\n", typ)
		st := reflect.TypeOf(backend.Settings)
		docs, err := docgen.FieldComments("../../metrics/" + typ + "/settings.go")
		if err != nil {
			t.Fatal(err)
		}
		for i := range st.NumField() {
			f := st.Field(i)
			doc := docs[st.Name()+"."+f.Name]
			if doc == "" {
				t.Errorf("%s.%s has no comment to document it with", st, f.Name)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Tag.Get("mapstructure"), f.Type.String(), strings.ReplaceAll(doc, "|", `\|`))
		}
	}
	if err := docgen.Check(serverDocs, beginMarker, endMarker, b.String(), *updateDocs); err != nil {
		t.Error(err)
	}
}

// docFiles are the README and every page under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"../../README.md"}
	err := filepath.WalkDir("../../docs", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 8 {
		t.Fatalf("docs: %v %v", files, err)
	}
	return files
}

// TestDocsLinks: every relative link of the README and docs/ reaches a
// file, and so does every repository path they quote (`deploy/flagger/`);
// every make target they quote exists.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile("`make ([a-z-]+)")
	quoted := regexp.MustCompile("`((?:cmd|deploy|docs|examples|fixtures|verdict|stats|server|store|metrics|analysis|backtest|report|sequence|scripts|proto|kayenta|e2e|ci|container|version|protoconv|tracing|auth|sample|argoplugin)/[A-Za-z0-9_./-]*)`")
	for _, file := range docFiles(t) {
		raw, err := os.ReadFile(file) //nolint:gosec // the repository's docs
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(file)
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, target)); err != nil {
				t.Errorf("%s: link %s: %v", file, m[1], err)
			}
		}
		for _, m := range target.FindAllStringSubmatch(string(raw), -1) {
			if !regexp.MustCompile(`(?m)^` + m[1] + `:`).Match(makefile) {
				t.Errorf("%s: make %s: no such target", file, m[1])
			}
		}
		for _, m := range quoted.FindAllStringSubmatch(string(raw), -1) {
			p := strings.TrimRight(m[1], ".,:;")
			if _, err := os.Stat(filepath.Join("../..", p)); err != nil {
				t.Errorf("%s: quoted path %s does not exist", file, p)
			}
		}
	}
}

// TestDocsFlags: every judge command quoted in the README and docs/ (in
// code blocks and code spans) names a command that exists, and each of its
// --flags is a flag of that command.
func TestDocsFlags(t *testing.T) {
	root := newRootCmd(viper.New(), strings.NewReader(""))
	span := regexp.MustCompile("`(judge [^`]+)`")
	checked := 0
	for _, file := range docFiles(t) {
		raw, err := os.ReadFile(file) //nolint:gosec // the repository's docs
		if err != nil {
			t.Fatal(err)
		}
		var commands []string
		inBlock := false
		var joined strings.Builder
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inBlock = !inBlock
				continue
			}
			if !inBlock {
				for _, m := range span.FindAllStringSubmatch(line, -1) {
					commands = append(commands, m[1])
				}
				continue
			}
			// Lines continued with a backslash are one command.
			joined.WriteString(strings.TrimSuffix(strings.TrimSpace(line), `\`) + " ")
			if strings.HasSuffix(strings.TrimSpace(line), `\`) {
				continue
			}
			cmd := strings.TrimSpace(joined.String())
			joined.Reset()
			// A command line: judge first, after a prompt and environment
			// assignments (JUDGE_TOKEN=… judge analyze …).
			words := strings.Fields(strings.TrimPrefix(cmd, "$ "))
			for len(words) > 0 && envAssignment.MatchString(words[0]) {
				words = words[1:]
			}
			if len(words) > 0 && (words[0] == "judge" || words[0] == "bin/judge") {
				commands = append(commands, "judge "+strings.Join(words[1:], " "))
			}
		}
		for _, c := range commands {
			checked += checkCommand(t, root, file, c)
		}
	}
	if checked < 20 {
		t.Errorf("only %d quoted flags checked", checked)
	}
}

var envAssignment = regexp.MustCompile(`^[A-Z_]+=`)

// checkCommand checks one quoted command line and returns how many flags
// it checked.
func checkCommand(t *testing.T, root *cobra.Command, file, line string) int {
	t.Helper()
	line, _, _ = strings.Cut(line, " #")
	line, _, _ = strings.Cut(line, " |")
	line, _, _ = strings.Cut(line, " >")
	fields := strings.Fields(line)[1:]
	cmd := root
	i := 0
	for ; i < len(fields); i++ {
		next := findSub(cmd, fields[i])
		if next == nil {
			break
		}
		cmd = next
	}
	if cmd == root {
		if i < len(fields) && !strings.HasPrefix(fields[i], "-") && regexp.MustCompile(`^[a-z]+$`).MatchString(fields[i]) {
			t.Errorf("%s: `judge %s`: no such command", file, fields[i])
		}
		return 0
	}
	n := 0
	for _, f := range fields[i:] {
		f = strings.Trim(f, "[]()`,")
		if !strings.HasPrefix(f, "--") || f == "--" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		name = strings.TrimRight(name, ".;:")
		if name == "help" {
			continue
		}
		n++
		if cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil {
			t.Errorf("%s: `%s`: judge %s has no flag --%s", file, line, cmd.Name(), name)
		}
	}
	return n
}

func findSub(cmd *cobra.Command, name string) *cobra.Command {
	i := slices.IndexFunc(cmd.Commands(), func(c *cobra.Command) bool { return c.Name() == name })
	if i < 0 {
		return nil
	}
	return cmd.Commands()[i]
}

// TestAPIDocsRoutes: docs/api.md lists every HTTP route of the gateway's
// rules (proto/judge/v1/judge_http.yaml).
func TestAPIDocsRoutes(t *testing.T) {
	rules, err := os.ReadFile("../../proto/judge/v1/judge_http.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	route := regexp.MustCompile(`(?m)^\s+(get|post|put|delete|patch): (\S+)`)
	found := route.FindAllStringSubmatch(string(rules), -1)
	if len(found) < 10 {
		t.Fatalf("routes: %v", found)
	}
	for _, m := range found {
		want := "`" + strings.ToUpper(m[1]) + " " + m[2] + "`"
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/api.md does not list %s", want)
		}
	}
}
