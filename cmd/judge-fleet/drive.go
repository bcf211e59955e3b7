package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/internal/procstat"
	"github.com/canaryjudge/judge/sequence"
)

// look is one look as the deployer saw it.
type look struct {
	latency  time.Duration // from sending the request to reading its verdict
	sequence string        // the sequence's name as judge reports it
	number   int32         // the look's number as judge reports it
	decision string        // the sequence's decision at this look (continue, fail, …)
	retried  bool          // a replica could not be reached and another answered
	err      string        // why no verdict came back
}

// ends reports whether a deployer stops the sequence after this look: a
// decision other than continue (a FAIL without a look included). An
// answer that never came is retried at the next look, as Argo Rollouts
// retries a measurement that errored (up to its consecutiveErrorLimit).
func (l look) ends() bool { return l.decision != "" && l.decision != string(sequence.Continue) }

// fleetRun is what the fleet run measured.
type fleetRun struct {
	looks   []look
	elapsed time.Duration
	cpu     time.Duration // the replicas' CPU time over the run
	rss     []int64       // the first replica's resident memory, sampled
	restart string        // what the mid-run restart did, if asked
}

// drive runs o.sequences concurrent sequences for o.duration: each looks
// every o.interval (their first looks spread over one interval), and when
// its last look is done, or a look ends it as a deployer would stop
// (FAIL, an early pass), starts the next sequence. Even sequences look
// through Argo Rollouts' web provider, odd ones through the v1 API.
func (f *fleet) drive(ctx context.Context, o options) (fleetRun, error) {
	var (
		mu    sync.Mutex
		looks []look
		wg    sync.WaitGroup
		rr    atomic.Uint64
	)
	cpu0, err := f.cpu()
	if err != nil {
		return fleetRun{}, err
	}
	start := time.Now()
	end := start.Add(o.duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	for k := range o.sequences {
		wg.Go(func() {
			next := start.Add(time.Duration(k) * o.interval / time.Duration(o.sequences))
			for gen := 0; ; gen++ {
				name := fmt.Sprintf("fleet-%d-%d", k, gen)
				for n := range o.looks {
					if !sleepUntil(runCtx, next) {
						return
					}
					next = next.Add(o.interval)
					l := f.look(ctx, &rr, k, name, n, o.looks)
					mu.Lock()
					looks = append(looks, l)
					mu.Unlock()
					if l.ends() {
						break
					}
				}
			}
		})
	}
	samples := make(chan []int64)
	go func() { samples <- f.sampleMemory(runCtx, 10*time.Second) }()
	profiled := make(chan error, 1)
	if o.profile != "" {
		go func() {
			if !sleepUntil(runCtx, start.Add(o.duration/3)) {
				profiled <- errors.New("the run ended before the profile began")
				return
			}
			profiled <- f.replicas[0].cpuProfile(ctx, o.duration/3, o.profile)
		}()
	} else {
		profiled <- nil
	}
	restart := ""
	if o.restart {
		if sleepUntil(runCtx, start.Add(o.duration/2)) {
			restart = f.restartReplica(ctx, o)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := <-profiled; err != nil {
		return fleetRun{}, err
	}
	rss := <-samples
	cpu1, err := f.cpu()
	if err != nil {
		return fleetRun{}, err
	}
	return fleetRun{looks: looks, elapsed: elapsed, cpu: cpu1 - cpu0, rss: rss, restart: restart}, nil
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(t)):
		return ctx.Err() == nil
	}
}

// lookWindowEnd is the end of look n's window (0 the first).
func (f *fleet) lookWindowEnd(n int) time.Time {
	return f.first.Add(time.Duration(n) * lookStep)
}

// look asks for look n of a sequence, round-robin over the replicas; a
// replica that cannot be reached (restarting) is skipped for the next, as
// a Kubernetes Service's endpoints would be, at most once per replica.
func (f *fleet) look(ctx context.Context, rr *atomic.Uint64, k int, name string, n, looks int) look {
	service := k % f.services
	baseline, canary := fmt.Sprintf("svc-%d-baseline", service), fmt.Sprintf("svc-%d-canary", service)
	end := f.lookWindowEnd(n)
	var l look
	for attempt := range len(f.replicas) {
		addr := f.replicas[rr.Add(1)%uint64(len(f.replicas))].addr
		req, err := f.lookRequest(ctx, addr, k%2 == 0, name, baseline, canary, end, looks)
		if err != nil {
			return look{err: err.Error()}
		}
		started := time.Now()
		resp, err := f.client.Do(req)
		if err != nil {
			var op interface{ Timeout() bool }
			if errors.As(err, &op) && op.Timeout() {
				return look{err: err.Error(), latency: time.Since(started)}
			}
			l.retried = attempt+1 < len(f.replicas)
			l.err = err.Error()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		_ = resp.Body.Close()
		if err != nil {
			return look{err: err.Error(), latency: time.Since(started)}
		}
		l = readLook(resp.StatusCode, resp.Status, b, k%2 == 0)
		l.latency, l.retried = time.Since(started), attempt > 0
		return l
	}
	return l
}

// lookRequest is look n through Argo Rollouts' web provider (argo) or the
// v1 API.
func (f *fleet) lookRequest(ctx context.Context, addr string, argo bool, name, baseline, canary string, end time.Time, looks int) (*http.Request, error) {
	if argo {
		q := url.Values{"config": {"fleet"}, "baseline": {baseline}, "canary": {canary}, "window": {lookWindow.String()},
			"end": {end.Format(time.RFC3339)}, "step": {"60"}, "sequence": {name}, "looks": {strconv.Itoa(looks)}}
		return http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/webhooks/argo?"+q.Encode(), nil)
	}
	scope := func(s string) map[string]any {
		return map[string]any{"scope": s, "start": end.Add(-lookWindow).Format(time.RFC3339), "end": end.Format(time.RFC3339), "step_seconds": 60}
	}
	body, err := json.Marshal(map[string]any{"spec": map[string]any{
		"canary_config_name": "fleet", "sequence": name, "looks": looks,
		"scopes": map[string]any{"default": map[string]any{"control_scope": scope(baseline), "experiment_scope": scope(canary)}},
	}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/analyze", bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}

// readLook reads a look's answer: the webhook's body or the v1 API's.
func readLook(code int, status string, b []byte, argo bool) look {
	if code != http.StatusOK {
		return look{err: fmt.Sprintf("%s: %.200s", status, b)}
	}
	type lookRef struct {
		Sequence string `json:"sequence"`
		Look     int32  `json:"look"`
		Decision string `json:"decision"`
	}
	var (
		ref    *lookRef
		result string
	)
	if argo {
		var body struct {
			Result string   `json:"result"`
			Look   *lookRef `json:"look"`
		}
		if json.Unmarshal(b, &body) == nil {
			ref, result = body.Look, body.Result
		}
	} else {
		var body struct {
			Verdict struct {
				Result string   `json:"result"`
				Look   *lookRef `json:"look"`
			} `json:"verdict"`
		}
		if json.Unmarshal(b, &body) == nil {
			ref, result = body.Verdict.Look, body.Verdict.Result
		}
	}
	if ref == nil || ref.Sequence == "" || ref.Look < 1 {
		l := look{err: fmt.Sprintf("an answer without its look: %.200s", b)}
		if result == "FAIL" {
			// A failed sequence answers later looks FAIL: the rollout stops.
			l.decision = string(sequence.Fail)
		}
		return l
	}
	return look{sequence: ref.Sequence, number: ref.Look, decision: ref.Decision}
}

// floor fetches the same looks' queries through judge's analysis runner,
// with the same concurrency and schedule, and no judging or storing:
// time-to-verdict's floor.
func (f *fleet) floor(ctx context.Context, o options) []time.Duration {
	var (
		mu  sync.Mutex
		out []time.Duration
		wg  sync.WaitGroup
	)
	start := time.Now()
	runCtx, cancel := context.WithDeadline(ctx, start.Add(o.floorDuration))
	defer cancel()
	for k := range o.sequences {
		wg.Go(func() {
			next := start.Add(time.Duration(k) * o.interval / time.Duration(o.sequences))
			service := k % f.services
			for n := 0; ; n = (n + 1) % o.looks {
				if !sleepUntil(runCtx, next) {
					return
				}
				next = next.Add(o.interval)
				end := f.lookWindowEnd(n)
				side := func(pod string) *analysis.Scope {
					return &analysis.Scope{Scope: pod, Start: end.Add(-lookWindow), End: end, Step: 60}
				}
				req := &analysis.Request{Scopes: map[string]analysis.ScopePair{"default": {
					Control: side(fmt.Sprintf("svc-%d-baseline", service)), Experiment: side(fmt.Sprintf("svc-%d-canary", service))}}}
				began := time.Now()
				if _, err := f.runner.Fetch(ctx, f.config, req, analysis.Options{}); err != nil {
					f.log.Warn("floor fetch", "err", err)
					continue
				}
				mu.Lock()
				out = append(out, time.Since(began))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// restartReplica stops the last replica gracefully and starts it again.
func (f *fleet) restartReplica(ctx context.Context, o options) string {
	r := f.replicas[len(f.replicas)-1]
	began := time.Now()
	r.stop()
	stopped := time.Since(began)
	if err := r.start(ctx, o.judgeBin); err != nil {
		return fmt.Sprintf("replica %s did not start again: %v", r.addr, err)
	}
	return fmt.Sprintf("replica %s stopped (SIGTERM) in %.1f s and was serving again %.1f s after the stop began",
		r.addr, stopped.Seconds(), time.Since(began).Seconds())
}

// cpu is the CPU time every replica has used so far.
func (f *fleet) cpu() (time.Duration, error) {
	var total time.Duration
	for _, r := range f.replicas {
		c, err := r.cpu()
		if err != nil {
			return 0, err
		}
		total += c
	}
	return total, nil
}

// cpu is the CPU time of this replica's processes, the current one and
// those before a restart.
func (r *replica) cpu() (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return r.cpuDone, nil
	}
	c, err := procstat.CPUTime(r.cmd.Process.Pid)
	return r.cpuDone + c, err
}

// sampleMemory samples the first replica's resident memory every period
// until ctx ends.
func (f *fleet) sampleMemory(ctx context.Context, period time.Duration) []int64 {
	var out []int64
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		r := f.replicas[0]
		r.mu.Lock()
		if r.cmd != nil && r.cmd.Process != nil {
			if rss, err := procstat.ResidentMemory(r.cmd.Process.Pid); err == nil {
				out = append(out, rss)
			}
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
	}
}

// integrity is what the sequences' stored histories say of the looks the
// deployers were answered.
type integrity struct {
	sequences, answered, stored int
	lost, duplicated            int
	unreadable                  []string
}

// checkSequences reads every sequence the run looked at from the first
// replica: each answered look must be stored once, and no look stored
// that no deployer was answered (a look that failed at the transport may
// have been judged: it is counted apart, as unanswered).
func (f *fleet) checkSequences(ctx context.Context, run fleetRun) integrity {
	answered := map[string][]int32{}
	for _, l := range run.looks {
		if l.err == "" {
			answered[l.sequence] = append(answered[l.sequence], l.number)
		}
	}
	var out integrity
	for name, got := range answered {
		out.sequences++
		out.answered += len(got)
		stored, err := f.storedLooks(ctx, name)
		if err != nil {
			out.unreadable = append(out.unreadable, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		out.stored += len(stored)
		lost, duplicated := tally(got, stored)
		out.lost += lost
		out.duplicated += duplicated
	}
	return out
}

// tally compares the look numbers a sequence's deployers were answered
// with those stored: an answered look not stored is lost; a number stored
// twice, or answered to two looks, is duplicated.
func tally(answered, stored []int32) (lost, duplicated int) {
	seen := map[int32]int{}
	for _, n := range stored {
		seen[n]++
	}
	for _, n := range answered {
		if seen[n] == 0 {
			lost++
		}
	}
	for _, c := range seen {
		duplicated += c - 1
	}
	answered = slices.Sorted(slices.Values(answered))
	for i := 1; i < len(answered); i++ {
		if answered[i] == answered[i-1] {
			duplicated++
		}
	}
	return lost, duplicated
}

// storedLooks are the look numbers of a sequence's stored history.
func (f *fleet) storedLooks(ctx context.Context, name string) ([]int32, error) {
	var looks []int32
	token := ""
	for {
		segments := strings.Split(name, "/")
		for i := range segments {
			segments[i] = url.PathEscape(segments[i])
		}
		u := "http://" + f.replicas[0].addr + "/v1/sequences/" + strings.Join(segments, "/")
		if token != "" {
			u += "?page_token=" + url.QueryEscape(token)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := f.client.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			History []struct {
				Look int32 `json:"look"`
			} `json:"history"`
			NextPageToken string `json:"next_page_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: %s: %w", u, resp.Status, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		for _, h := range page.History {
			looks = append(looks, h.Look)
		}
		if token = page.NextPageToken; token == "" {
			return looks, nil
		}
	}
}
