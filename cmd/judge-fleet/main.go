// Command judge-fleet measures judge as a shared service: a real Prometheus
// holding many services' series (backfilled), judge serve replicas on one
// real PostgreSQL, and many concurrent sequences of looks at canaries, each
// look every interval (time compressed: a look's window moves on by
// -step-of-look of history while -interval passes), half through Argo
// Rollouts' web provider (/webhooks/argo) and half through the v1 API
// (POST /v1/analyze). It reports looks per second, time-to-verdict against
// the fetch floor (the same looks' queries fetched alone through judge's
// analysis runner, in the same run), CPU seconds per look, database rows
// and bytes per 1,000 analyses, resident memory over the run, and, with
// -restart, whether a replica restarted mid-run lost or duplicated a look.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	judgeBin      string
	services      int
	sequences     int
	looks         int
	interval      time.Duration
	duration      time.Duration
	floorDuration time.Duration
	replicas      int
	restart       bool
	work          string
	profile       string
	durable       bool
}

func main() {
	var o options
	flag.StringVar(&o.judgeBin, "judge", "bin/judge", "the judge binary to serve with")
	flag.IntVar(&o.services, "services", 50, "services whose baseline and canary series Prometheus holds")
	flag.IntVar(&o.sequences, "sequences", 200, "concurrent sequences (each, when done, starts another)")
	flag.IntVar(&o.looks, "looks", 10, "planned looks of each sequence")
	flag.DurationVar(&o.interval, "interval", 10*time.Second, "time between two looks of a sequence (a rollout's look every minute or more, compressed)")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "length of the fleet run (the soak)")
	flag.DurationVar(&o.floorDuration, "floor-duration", 3*time.Minute, "length of the fetch floor's run (its p99 is the goal's yardstick: a minute's 1,200 looks vary by a third from run to run)")
	flag.IntVar(&o.replicas, "replicas", 1, "judge serve replicas behind one PostgreSQL (requests go round-robin)")
	flag.BoolVar(&o.restart, "restart", false, "stop one replica half-way (SIGTERM) and start it again; needs -replicas 2 or more")
	flag.StringVar(&o.work, "work", "", "directory for the run's files (default: a temporary one, removed)")
	flag.BoolVar(&o.durable, "durable", false, "run PostgreSQL with its production defaults (every commit flushed to disk) rather than, as for tests, with fsync off")
	flag.StringVar(&o.profile, "profile", "", "write the first replica's CPU profile, taken over the middle third of the run, to this file (go tool pprof)")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "judge-fleet:", err)
		os.Exit(64)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, o, log); err != nil {
		fmt.Fprintln(os.Stderr, "judge-fleet:", err)
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.services < 1 || o.sequences < 1 || o.looks < 1:
		return fmt.Errorf("-services, -sequences and -looks must be at least 1")
	case o.interval <= 0 || o.duration < o.interval || o.floorDuration < o.interval:
		return fmt.Errorf("-duration and -floor-duration must hold at least one -interval")
	case o.replicas < 1 || o.replicas > 8:
		return fmt.Errorf("-replicas: %d; want 1 to 8", o.replicas)
	case o.restart && o.replicas < 2:
		return fmt.Errorf("-restart needs -replicas 2 or more, so the others answer while one restarts")
	}
	return nil
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	work := o.work
	if work == "" {
		dir, err := os.MkdirTemp("", "judge-fleet-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		work = dir
	}
	f, err := startFleet(ctx, o, work, log)
	if err != nil {
		return err
	}
	defer f.stop()

	log.Info("fleet run", "sequences", o.sequences, "interval", o.interval, "duration", o.duration, "replicas", o.replicas)
	fleet, err := f.drive(ctx, o)
	if err != nil {
		return err
	}
	log.Info("fetch floor run", "duration", o.floorDuration)
	floor := f.floor(ctx, o)
	integrity := f.checkSequences(ctx, fleet)
	db, err := f.databaseSize(ctx)
	if err != nil {
		return err
	}
	report(os.Stdout, o, fleet, floor, integrity, db)
	return nil
}
