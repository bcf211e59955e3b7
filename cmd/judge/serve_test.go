package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"

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
