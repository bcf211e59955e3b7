package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/server"
)

func TestServeConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "judge.yaml", "addr: 127.0.0.1:1111\nworkers: 7\nmax-points: 10\n")
	secret := writeFile(t, dir, "db-url", "postgres://judge:s3cret@db:5432/judge\n")
	t.Setenv("JUDGE_WORKERS", "5")
	v := viper.New()
	cmd := newRootCmd(v, strings.NewReader(""))
	serve, _, err := cmd.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.ParseFlags([]string{"--config", file, "--max-points", "20", "--database-url-file", secret}); err != nil {
		t.Fatal(err)
	}
	if err := loadConfig(v, serve); err != nil {
		t.Fatal(err)
	}
	cfg, err := serverConfig(v)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:1111" || cfg.Workers != 5 || cfg.Limits.MaxPoints != 20 ||
		cfg.DatabaseURL != "postgres://judge:s3cret@db:5432/judge" || cfg.Limits.MaxMetrics != server.DefaultLimits.MaxMetrics {
		t.Errorf("config %+v: want addr from the file, workers from the env, max-points from the flag, URL from the file", cfg)
	}
}

func TestServeBadConfig(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runJudge(t, "", "serve", "--workers", "-3", "--data-dir", dir)
	if code != 64 || !strings.Contains(errOut, "workers") {
		t.Errorf("exit %d, stderr %q; want 64 naming workers", code, errOut)
	}
	code, _, errOut = runJudge(t, "", "serve", "--database-url", "mysql://user:pw@h/db")
	if code != 64 || !strings.Contains(errOut, `"mysql"`) || strings.Contains(errOut, "pw") {
		t.Errorf("exit %d, stderr %q; want 64 naming the scheme without the password", code, errOut)
	}
}

// TestAnalyzeServer runs judge analyze --server against a running server
// and checks that the verdict is the local one, byte for byte.
func TestAnalyzeServer(t *testing.T) {
	srv, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	for _, sc := range []string{"regression-high", "kayenta-674-min-effect", "threshold-slo"} {
		dir := filepath.Join(scenarios, sc)
		cfgs, _ := filepath.Glob(filepath.Join(dir, "config.*"))
		args := []string{"analyze", "--canary-config", cfgs[0], "--data", filepath.Join(dir, "data.json"), "--output", "json"}
		localCode, local, _ := runJudge(t, "", args...)
		remoteCode, remote, errOut := runJudge(t, "", append(args, "--server", srv.Addr())...)
		if remoteCode != localCode || remote != local {
			t.Errorf("%s: remote exit %d (%s) differs from local exit %d:\n%s\nvs\n%s", sc, remoteCode, errOut, localCode, remote, local)
		}
	}
	dir := filepath.Join(scenarios, "regression-high")
	code, _, errOut := runJudge(t, "", "analyze", "--canary-config", filepath.Join(dir, "config.json"),
		"--data", filepath.Join(dir, "data.json"), "--server", "127.0.0.1:1")
	if code != 69 {
		t.Errorf("unreachable server: exit %d (%s), want 69", code, errOut)
	}
}

// TestStrictSettings checks that unknown keys, wrong types, unparsable
// JUDGE_* values, a missing config file and --workers 0 are errors naming
// the key, variable or file.
func TestStrictSettings(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file string
		env        map[string]string
		args       []string
		want       []string
	}{
		{name: "unknown key", file: "adr: 127.0.0.1:1\nworkers: 2\n", want: []string{`unknown key "adr"`, "judge.yaml"}},
		{name: "wrong type", file: "addr: [1, 2]\n", want: []string{"addr", "got a list"}},
		{name: "nested", file: "auth:\n  tokens: x\n", want: []string{`unknown key "auth.tokens"`}},
		{name: "bad number", file: "workers: many\n", want: []string{"workers", `"many" is not a valid int`}},
		{name: "bad duration", file: "lease: soon\n", want: []string{"lease", `"soon"`}},
		{name: "bad env", env: map[string]string{"JUDGE_WORKERS": "lots"}, want: []string{"JUDGE_WORKERS", `"lots"`}},
		{name: "bad env bool", env: map[string]string{"JUDGE_AUTH_PROTECT_METRICS": "perhaps"}, want: []string{"JUDGE_AUTH_PROTECT_METRICS"}},
		{name: "zero workers", args: []string{"--workers", "0"}, want: []string{"workers: 0"}},
		{name: "bad tokens", env: map[string]string{"JUDGE_AUTH_TOKENS": "root:abcdefghijklmnopqrstuvwxyz"}, want: []string{"JUDGE_AUTH_TOKENS:1", `role "root"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"serve", "--data-dir", dir}, tc.args...)
			if tc.file != "" {
				args = append(args, "--config", writeFile(t, dir, "judge.yaml", tc.file))
			}
			code, _, errOut := runJudge(t, "", args...)
			if code != 64 {
				t.Errorf("exit %d, want 64; stderr %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "abcdefghijklmnopqrstuvwxyz") {
				t.Errorf("a token reached stderr: %s", errOut)
			}
		})
	}
	code, _, errOut := runJudge(t, "", "serve", "--config", filepath.Join(dir, "missing.yaml"))
	if code != 65 || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("missing config file: exit %d, %s", code, errOut)
	}
}

// TestAnalyzeServerAuthTLS runs judge analyze --server against a server
// with TLS and tokens: with --ca-file and --token-file or JUDGE_TOKEN it
// works; without a token it is refused with a clear message.
func TestAnalyzeServerAuthTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestCerts(t, dir)
	tokens, err := auth.Parse("write:cli-token-0123456789", "test")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		TLSCert: pki.cert, TLSKey: pki.key, Tokens: tokens}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	sc := filepath.Join(scenarios, "regression-high")
	base := []string{"analyze", "--canary-config", filepath.Join(sc, "config.json"), "--data", filepath.Join(sc, "data.json"), "--server", srv.Addr()}
	tokenFile := writeFile(t, dir, "token", "cli-token-0123456789\n")

	if code, out, errOut := runJudge(t, "", append(base, "--ca-file", pki.ca, "--token-file", tokenFile)...); code != 1 || !strings.HasPrefix(out, "FAIL") {
		t.Errorf("TLS + token file: exit %d %s %s", code, out, errOut)
	}
	t.Setenv("JUDGE_TOKEN", "cli-token-0123456789")
	if code, out, errOut := runJudge(t, "", append(base, "--tls", "--ca-file", pki.ca)...); code != 1 || !strings.HasPrefix(out, "FAIL") {
		t.Errorf("TLS + JUDGE_TOKEN: exit %d %s %s", code, out, errOut)
	}
	t.Setenv("JUDGE_TOKEN", "")
	if code, _, errOut := runJudge(t, "", append(base, "--ca-file", pki.ca)...); code != 64 || !strings.Contains(errOut, "token") {
		t.Errorf("no token: exit %d %s", code, errOut)
	}
	if code, _, errOut := runJudge(t, "", append(base, "--token-file", tokenFile)...); code != 69 {
		t.Errorf("plaintext to a TLS server: exit %d %s, want 69", code, errOut)
	}
}

// TestAnalyzeSequence runs judge analyze --server --sequence as a CI
// pipeline would, once per look: the server numbers the looks, an
// unchanged canary passes both planned looks, a third look is past the
// plan and fails; a regression fails its sequence for good.
func TestAnalyzeSequence(t *testing.T) {
	srv, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	look := func(scenario, name string, extra ...string) (int, string, string) {
		dir := filepath.Join(scenarios, scenario)
		cfgs, _ := filepath.Glob(filepath.Join(dir, "config.*"))
		return runJudge(t, "", append([]string{"analyze", "--canary-config", cfgs[0], "--data", filepath.Join(dir, "data.json"),
			"--server", srv.Addr(), "--sequence", name}, extra...)...)
	}
	for k, want := range []struct {
		code int
		text string
	}{{0, "look 1 of 2"}, {0, "look 2 of 2"}, {1, "spent"}} {
		if code, out, errOut := look("aa-independent", "ci-7/canary", "--looks", "2"); code != want.code || !strings.Contains(out, want.text) {
			t.Errorf("look %d: exit %d, want %d with %q:\n%s%s", k+1, code, want.code, want.text, out, errOut)
		}
	}
	if code, out, _ := look("regression-high", "ci-8/canary"); code != 1 || !strings.Contains(out, "regression is established") {
		t.Errorf("regression: exit %d:\n%s", code, out)
	}
	if code, out, _ := look("aa-independent", "ci-8/canary"); code != 1 || !strings.Contains(out, "has failed") {
		t.Errorf("after the regression: exit %d:\n%s", code, out)
	}
	if code, _, errOut := runJudge(t, "", "analyze", "--canary-config", "x", "--data", "y", "--sequence", "s"); code != 64 || !strings.Contains(errOut, "--server") {
		t.Errorf("--sequence without --server: exit %d %s", code, errOut)
	}
	if code, _, errOut := look("aa-independent", "ci-9", "--looks", "-2"); code != 64 || !strings.Contains(errOut, "--looks") {
		t.Errorf("--looks -2: exit %d %s", code, errOut)
	}
}
