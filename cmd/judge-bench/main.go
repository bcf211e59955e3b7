// Command judge-bench measures the judge service on loopback against a floor
// in the same run: the HTTP analyze endpoint against an endpoint that only
// decodes the same JSON body, and the gRPC Analyze method against one that
// only receives the message. For each it finds the closed-loop maximum
// throughput, then sends an open-loop load at 80% of that rate and reports
// the latency percentiles (timed from each request's scheduled start, so a
// stalled server cannot hide its queue). Both phases alternate the two
// endpoints in rounds, so the machine's drift and stalls fall on both
// alike. The servers run in a child process (this program re-executed
// with -role=server), so the load generator's garbage collection does not
// pause them.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/canaryjudge/judge/internal/procstat"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/server"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "length of each measurement")
	concurrency := flag.Int("concurrency", 8, "concurrent requests in the closed-loop phase")
	rounds := flag.Int("rounds", 5, "each phase alternates analyze and floor this many times, duration/rounds each")
	soak := flag.Int("soak", 100_000, "requests of the soak phase, after which the server's resident memory is compared with before (0 skips it)")
	role := flag.String("role", "client", "client, or server (internal: the child process)")
	judge := flag.String("judge", "default", "the judge the analyze requests ask for (kayenta measures the service with the cheapest judge)")
	profile := flag.String("server-profile", "", "write the server process's CPU profile over the whole run to this file (go tool pprof)")
	var only selection
	flag.StringVar(&only.path, "path", "both", "the paths measured: both, http or grpc (one alone profiles it with -server-profile)")
	flag.StringVar(&only.endpoint, "endpoint", "both", "the endpoints measured: both (and their ratio), analyze or floor")
	flag.Parse()
	if err := checkRounds(*rounds, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "judge-bench:", err)
		os.Exit(64)
	}
	if err := only.check(); err != nil {
		fmt.Fprintln(os.Stderr, "judge-bench:", err)
		os.Exit(64)
	}
	run := func(d time.Duration, c int) error { return runClient(d, c, *rounds, *soak, *judge, *profile, only) }
	if *role == "server" {
		run = func(time.Duration, int) error { return runServers(*profile) }
	}
	if err := run(*duration, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "judge-bench:", err)
		os.Exit(1)
	}
}

// checkRounds refuses a number of rounds below 1, or so many that a round
// would be too short to measure anything (under 100 ms).
func checkRounds(rounds int, duration time.Duration) error {
	if rounds < 1 || duration/time.Duration(max(rounds, 1)) < 100*time.Millisecond {
		return fmt.Errorf("-rounds %d: must be at least 1, with -duration/-rounds at least 100ms (-duration is %s)", rounds, duration)
	}
	return nil
}

// selection is the paths and endpoints a run measures.
type selection struct{ path, endpoint string }

func (s selection) check() error {
	if !slices.Contains([]string{"both", "http", "grpc"}, s.path) {
		return fmt.Errorf("-path %q: want both, http or grpc", s.path)
	}
	if !slices.Contains([]string{"both", "analyze", "floor"}, s.endpoint) {
		return fmt.Errorf("-endpoint %q: want both, analyze or floor", s.endpoint)
	}
	return nil
}

// requestBody is an analysis of 10 metrics with 60 baseline and 60 canary
// points each, for the given judge.
func requestBody(judge string) []byte {
	r := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // reproducible benchmark data
	var metrics, cfg []string
	for m := range 10 {
		name := fmt.Sprintf("metric_%d", m)
		cfg = append(cfg, fmt.Sprintf(`{"name":%q,"groups":["g%d"],"direction":"increase"}`, name, m%3))
		var c, e []string
		for range 60 {
			c = append(c, fmt.Sprintf("%.3f", 100+10*r.NormFloat64()))
			e = append(e, fmt.Sprintf("%.3f", 101+10*r.NormFloat64()))
		}
		metrics = append(metrics, fmt.Sprintf(`{"name":%q,"control":[%s],"experiment":[%s]}`, name, strings.Join(c, ","), strings.Join(e, ",")))
	}
	return []byte(fmt.Sprintf(`{"spec":{"judge":%q,"canary_config":{"name":"bench","metrics":[%s]},"metrics":[%s]}}`,
		judge, strings.Join(cfg, ","), strings.Join(metrics, ",")))
}

// endpoint is one row of a path's table: what it calls and what it measured.
type endpoint struct {
	name, flag string
	call       func() error
	r          *result
}

// rawCodec is the load generator's gRPC codec: it sends the request encoded
// once and counts a response's bytes without decoding them, as the HTTP
// client reads a body without parsing it. So the client's work is the same
// for both endpoints, and a richer response costs the load generator no
// decoding that would be charged to the server (the two share the cores).
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot send %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	n, ok := v.(*int)
	if !ok {
		return fmt.Errorf("raw codec: cannot receive into %T", v)
	}
	*n = data.Len()
	return nil
}

// Name is the codec of the bytes on the wire: protobuf.
func (rawCodec) Name() string { return "proto" }

// floorService answers Analyze without judging: gRPC has decoded the message.
type floorService struct {
	judgev1.UnimplementedJudgeServiceServer
}

func (floorService) Analyze(context.Context, *judgev1.AnalyzeRequest) (*judgev1.AnalyzeResponse, error) {
	return &judgev1.AnalyzeResponse{}, nil
}

// startFloor serves the floor endpoints with the same transport as the
// service: HTTP/1.1 and cleartext HTTP/2 on one port, gRPC through it.
func startFloor() (string, func(), error) {
	gs := grpc.NewServer()
	judgev1.RegisterJudgeServiceServer(gs, floorService{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/analyze", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req judgev1.AnalyzeRequest
		if err := protojson.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})
	h := server.SharedPort(gs, mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: protocols, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

type result struct {
	// requests, elapsed and cpu add up the closed-loop rounds: requests
	// answered, time taken and the server process's CPU time.
	requests int64
	elapsed  time.Duration
	cpu      time.Duration
	// latencies are the open-loop rounds' request latencies, from which
	// p50 and p99 come.
	latencies []time.Duration
	p50, p99  time.Duration
	errors    int64
}

// maxRate is the closed-loop throughput over all rounds.
func (r *result) maxRate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// serverCPU is the server's CPU time per request in the closed-loop
// rounds: what the server spends, without the load generator's share of
// the cores.
func (r *result) serverCPU() time.Duration { return r.cpu / time.Duration(max(r.requests, 1)) }

// runServers starts the judge server and the floor server, prints their
// addresses and serves until standard input closes.
func runServers(profile string) error {
	server.TuneGC()
	if profile != "" {
		f, err := os.Create(profile) //nolint:gosec // the operator's file
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "judge-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	srv, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: dir},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer func() { _ = srv.Shutdown(context.Background()) }()
	floorAddr, stopFloor, err := startFloor()
	if err != nil {
		return err
	}
	defer stopFloor()
	fmt.Println(srv.Addr(), floorAddr)
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// startChild runs the servers in a child process and returns their addresses.
func startChild(profile string) (judgeAddr, floorAddr string, pid int, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return "", "", 0, nil, err
	}
	cmd := exec.Command(self, "-role=server", "-server-profile="+profile) //nolint:gosec // this very program
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", "", 0, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", "", 0, nil, err
	}
	if _, err := fmt.Fscan(stdout, &judgeAddr, &floorAddr); err != nil {
		_ = cmd.Process.Kill()
		return "", "", 0, nil, fmt.Errorf("server process: %w", err)
	}
	return judgeAddr, floorAddr, cmd.Process.Pid, func() { _ = stdin.Close(); _ = cmd.Wait() }, nil
}

func runClient(duration time.Duration, concurrency, rounds, soak int, judge, profile string, only selection) error {
	judgeAddr, floorAddr, pid, stop, err := startChild(profile)
	if err != nil {
		return err
	}
	defer stop()

	body := requestBody(judge)
	var req judgev1.AnalyzeRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	httpCall := func(addr string) func() error {
		url := "http://" + addr + "/v1/analyze"
		return func() error {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
	}
	encoded, err := proto.Marshal(&req)
	if err != nil {
		return err
	}
	grpcCall := func(addr string) (func() error, func(), error) {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, nil, err
		}
		return func() error {
			var received int
			return conn.Invoke(context.Background(), judgev1.JudgeService_Analyze_FullMethodName, &encoded, &received, grpc.ForceCodecV2(rawCodec{}))
		}, func() { _ = conn.Close() }, nil
	}
	if err := httpCall(judgeAddr)(); err != nil {
		return fmt.Errorf("analyze endpoint: %w", err)
	}

	gAnalyze, closeA, err := grpcCall(judgeAddr)
	if err != nil {
		return err
	}
	defer closeA()
	if err := gAnalyze(); err != nil {
		return fmt.Errorf("gRPC analyze: %w", err)
	}
	gFloor, closeF, err := grpcCall(floorAddr)
	if err != nil {
		return err
	}
	defer closeF()

	fmt.Printf("request: 10 metrics × 60 baseline + 60 canary points, %d bytes of JSON; %s per phase and endpoint (in %d alternating rounds), %d closed-loop clients, servers in a child process, both on the same cores\n\n",
		len(body), duration, rounds, concurrency)
	fmt.Println("| path | endpoint | max req/s | server CPU per request | p50 at 80% | p99 at 80% | errors |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, path := range []struct {
		name, flag   string
		judge, floor func() error
	}{
		{"HTTP/JSON", "http", httpCall(judgeAddr), httpCall(floorAddr)},
		{"gRPC", "grpc", gAnalyze, gFloor},
	} {
		if only.path != "both" && only.path != path.flag {
			continue
		}
		var j, f result
		rows := []endpoint{{"analyze", "analyze", path.judge, &j}, {"floor (decode only)", "floor", path.floor, &f}}
		rows = slices.DeleteFunc(rows, func(e endpoint) bool { return only.endpoint != "both" && only.endpoint != e.flag })
		// The closed-loop phase alternates the endpoints round by round,
		// so a drift in the machine's speed falls on both alike.
		for range rounds {
			for _, row := range rows {
				if err := closedLoop(row.r, row.call, duration/time.Duration(rounds), concurrency, pid); err != nil {
					return err
				}
			}
		}
		// So does the open-loop phase: a stall of the machine then lands
		// on either endpoint's latencies alike.
		for range rounds {
			for _, row := range rows {
				openLoop(row.r, row.call, duration/time.Duration(rounds))
			}
		}
		for _, row := range rows {
			row.r.percentiles()
			fmt.Printf("| %s | %s | %.0f | %.0f µs | %.2f ms | %.2f ms | %d |\n", path.name, row.name, row.r.maxRate(),
				float64(row.r.serverCPU())/float64(time.Microsecond), ms(row.r.p50), ms(row.r.p99), row.r.errors)
		}
		if only.endpoint == "both" {
			fmt.Printf("| %s | **ratio analyze / floor** | **%.0f%%** | %.0f%% | | | |\n", path.name, 100*j.maxRate()/f.maxRate(),
				100*float64(f.serverCPU())/float64(j.serverCPU()))
		}
	}
	if soak > 0 {
		return soakTest(pid, soak, concurrency, httpCall(judgeAddr), gAnalyze)
	}
	return nil
}

// soakTest sends n analyze requests (alternating HTTP and gRPC) and reports
// the server process' resident memory before and after, and after a further
// n/4 requests: memory that keeps growing would show as a rise between the
// second and third readings.
func soakTest(pid, n, concurrency int, calls ...func() error) error {
	before, err := procstat.ResidentMemory(pid)
	if err != nil {
		return err
	}
	start := time.Now()
	errs := drive(n, concurrency, calls)
	after, err := procstat.ResidentMemory(pid)
	if err != nil {
		return err
	}
	errs += drive(n/4, concurrency, calls)
	later, err := procstat.ResidentMemory(pid)
	if err != nil {
		return err
	}
	fmt.Printf("\nsoak: %d analyze requests (HTTP and gRPC alternating) in %s, %d errors; server resident memory %.1f MiB before, %.1f MiB after, %.1f MiB after %d more\n",
		n, time.Since(start).Round(time.Second), errs, mib(before), mib(after), mib(later), n/4)
	return nil
}

// drive sends n calls from concurrency goroutines, cycling through calls,
// and returns how many failed.
func drive(n, concurrency int, calls []func() error) int64 {
	var (
		next, errs atomic.Int64
		wg         sync.WaitGroup
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := calls[int(i)%len(calls)](); err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return errs.Load()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// closedLoop drives call from concurrency clients for d and adds what it
// saw to res: requests, time, the server's CPU time and errors.
func closedLoop(res *result, call func() error, d time.Duration, concurrency, pid int) error {
	cpuBefore, err := procstat.CPUTime(pid)
	if err != nil {
		return err
	}
	var (
		done   atomic.Int64
		errs   atomic.Int64
		wg     sync.WaitGroup
		cutoff = time.Now().Add(d)
	)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(cutoff) {
				if err := call(); err != nil {
					errs.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpuAfter, err := procstat.CPUTime(pid)
	if err != nil {
		return err
	}
	res.requests += done.Load()
	res.elapsed += elapsed
	res.cpu += cpuAfter - cpuBefore
	res.errors += errs.Load()
	return nil
}

// openLoop sends call at 80% of res's closed-loop rate for d, each timed
// from its scheduled start, and adds the latencies to res.
func openLoop(res *result, call func() error, d time.Duration) {
	var (
		errs atomic.Int64
		wg   sync.WaitGroup
	)
	rate := 0.8 * res.maxRate()
	if !(rate > 0) || math.IsInf(rate, 0) {
		return // no closed-loop request was answered: there is no rate to hold
	}
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	latencies := make([]time.Duration, n)
	begin := time.Now()
	for i := range n {
		at := begin.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := call(); err != nil {
				errs.Add(1)
			}
			latencies[i] = time.Since(at)
		}()
	}
	wg.Wait()
	res.latencies = append(res.latencies, latencies...)
	res.errors += errs.Load()
}

// percentiles sets res's p50 and p99 from its latencies.
func (r *result) percentiles() {
	slices.Sort(r.latencies)
	if n := len(r.latencies); n > 0 {
		r.p50 = r.latencies[n/2]
		r.p99 = r.latencies[min(n-1, n*99/100)]
	}
}
