package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
	"github.com/canaryjudge/judge/store/pgtest"
	"github.com/canaryjudge/judge/verdict"
)

// canaryConfig is the config every sequence looks with: a critical latency
// metric that may rise 20% and an error rate that may rise 50%, fetched
// per pod. With no allowed effect a look would be held to 20% of the
// baseline's median, which 11 points of the error rate's noise cannot
// resolve at the last look's level: every unchanged canary's sequence
// would end underpowered, so FAIL (sequence.Plan.Decide).
const canaryConfig = `{"name":"fleet","metrics":[
 {"name":"latency","groups":["latency"],"critical":true,"direction":"increase","effectSize":{"allowedIncrease":1.2},
  "query":{"prometheus":"avg(fleet_latency_seconds{pod=\"${scope}\"})"}},
 {"name":"errors","groups":["errors"],"direction":"increase","effectSize":{"allowedIncrease":1.5},
  "query":{"prometheus":"sum(fleet_errors_per_second{pod=\"${scope}\"})"}}]}`

// Each look's window and how far the next look's window moves on, in
// the series' own time; the series start history before the first look.
const (
	lookWindow = 10 * time.Minute
	lookStep   = 5 * time.Minute
	history    = 4 * time.Hour
)

// The metrics account's rate limit, the same for the replicas and the
// fetch floor.
const (
	rateLimit = 5000
	rateBurst = 500
)

// fleet is the running benchmark: Prometheus, PostgreSQL and the judge
// replicas, and what the looks need.
type fleet struct {
	log      *slog.Logger
	services int
	dbURL    string
	first    time.Time // the end of every sequence's first look
	replicas []*replica
	runner   *analysis.Runner
	config   *verdict.Config
	client   *http.Client
	stops    []func()
}

// replica is one judge serve process; its CPU time survives restarts.
type replica struct {
	mu      sync.Mutex
	addr    string
	args    []string
	logFile string
	debug   string // the debug address serving Go's profiles, if any
	cmd     *exec.Cmd
	cpuDone time.Duration // CPU time of earlier processes of this replica
}

func startFleet(ctx context.Context, o options, work string, log *slog.Logger) (*fleet, error) {
	f := &fleet{log: log, services: o.services, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	ok := false
	defer func() {
		if !ok {
			f.stop()
		}
	}()
	span := history + time.Duration(o.looks)*lookStep + lookWindow
	start := time.Now().Add(-span - time.Hour).Truncate(time.Hour).UTC()
	f.first = start.Add(history + lookWindow)
	log.Info("backfilling Prometheus", "services", o.services, "points per series", int(span/time.Minute))
	promURL, stopProm, err := promtest.Run(series(o.services, start, span))
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	f.stops = append(f.stops, stopProm)
	dbURL, stopDB, err := pgtest.Start(o.durable)
	if err != nil {
		return nil, fmt.Errorf("postgresql: %w", err)
	}
	f.stops = append(f.stops, stopDB)
	f.dbURL = dbURL

	// A shared service's account allows what its fleet asks of
	// Prometheus: far above the default rate limit of 20 requests a second.
	accounts := []metrics.Account{{Name: "prometheus", Type: "prometheus", URL: promURL, RateLimit: rateLimit, RateBurst: rateBurst}}
	sources, err := analysis.NewSources(accounts, nil)
	if err != nil {
		return nil, err
	}
	f.runner = &analysis.Runner{Sources: sources}
	if f.config, err = verdict.ParseConfig([]byte(canaryConfig), "fleet config"); err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(work, "judge.yaml")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, "metrics:\n  accounts:\n    - {name: prometheus, type: prometheus, url: %q, rate_limit: %d, rate_burst: %d}\n",
		promURL, rateLimit, rateBurst), 0o600); err != nil {
		return nil, err
	}
	for i := range o.replicas {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		r := &replica{addr: addr, logFile: filepath.Join(work, fmt.Sprintf("replica-%d.log", i)),
			args: []string{"serve", "--addr", addr, "--database-url", dbURL, "--config", cfgFile, "--data-dir", filepath.Join(work, "data")}}
		if i == 0 && o.profile != "" {
			if r.debug, err = freeAddr(); err != nil {
				return nil, err
			}
			r.args = append(r.args, "--debug-addr", r.debug)
		}
		if err := r.start(ctx, o.judgeBin); err != nil {
			return nil, err
		}
		f.replicas = append(f.replicas, r)
		f.stops = append(f.stops, func() { r.stop() })
	}
	if err := f.putConfig(ctx); err != nil {
		return nil, err
	}
	ok = true
	return f, nil
}

func (f *fleet) stop() {
	for i := len(f.stops) - 1; i >= 0; i-- {
		f.stops[i]()
	}
	f.stops = nil
}

// series are every service's baseline and canary pods: latency with a
// shared slow wave and each pod's own noise, and a small error rate. The
// canaries are unchanged: the benchmark measures the service, not the
// statistics.
func series(services int, start time.Time, span time.Duration) []promtest.Series {
	r := rand.New(rand.NewPCG(11, 12)) //nolint:gosec // reproducible benchmark data
	var out []promtest.Series
	for s := range services {
		for _, track := range []string{"baseline", "canary"} {
			pod := fmt.Sprintf("svc-%d-%s", s, track)
			lat := promtest.Series{Name: "fleet_latency_seconds", Labels: map[string]string{"pod": pod}}
			errs := promtest.Series{Name: "fleet_errors_per_second", Labels: map[string]string{"pod": pod}}
			for t := time.Duration(0); t < span; t += time.Minute {
				at := start.Add(t)
				wave := 1 + 0.1*math.Sin(2*math.Pi*t.Hours()/6)
				lat.Samples = append(lat.Samples, promtest.Sample{T: at, V: 0.2 * wave * math.Exp(0.05*r.NormFloat64())})
				errs.Samples = append(errs.Samples, promtest.Sample{T: at, V: 0.5 * wave * math.Exp(0.2*r.NormFloat64())})
			}
			out = append(out, lat, errs)
		}
	}
	return out
}

func (f *fleet) putConfig(ctx context.Context) error {
	body := []byte(`{"config":` + canaryConfig + `}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+f.replicas[0].addr+"/v1/canaryConfigs/fleet", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("store the canary config: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("store the canary config: %s", resp.Status)
	}
	return nil
}

// start runs the replica's judge serve and waits until it is ready.
func (r *replica) start(ctx context.Context, bin string) error {
	logFile, err := os.OpenFile(r.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, r.args...) //nolint:gosec // the judge binary under test
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = cmd.Wait(); _ = logFile.Close() }()
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.addr+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	log, _ := os.ReadFile(r.logFile)
	return fmt.Errorf("judge serve on %s did not become ready in 30 s:\n%s", r.addr, log)
}

// stop ends the replica's process gracefully (SIGTERM, as Kubernetes
// does) and keeps its CPU time.
func (r *replica) stop() {
	r.mu.Lock()
	cmd := r.cmd
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cpu, _ := r.cpu()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cmd.Process.Signal(syscall.Signal(0)) != nil {
			break
		}
		if c, err := r.cpu(); err == nil {
			cpu = c
		}
	}
	_ = cmd.Process.Kill()
	r.mu.Lock()
	r.cmd, r.cpuDone = nil, cpu
	r.mu.Unlock()
}

// cpuProfile takes the replica's CPU profile over d and writes it to file.
func (r *replica) cpuProfile(ctx context.Context, d time.Duration, file string) error {
	u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.debug, max(1, int(d.Seconds())))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CPU profile: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	return os.WriteFile(file, b, 0o600)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
