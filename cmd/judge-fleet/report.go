package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/canaryjudge/judge/sequence"
)

// table is one of judge's tables: its rows and bytes (with indexes and
// TOAST).
type table struct {
	name        string
	rows, bytes int64
}

// databaseSize reads every table judge keeps in PostgreSQL.
func (f *fleet) databaseSize(ctx context.Context) ([]table, error) {
	db, err := sql.Open("pgx", f.dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out, err := tables(ctx, db)
	if err != nil {
		return nil, err
	}
	for i := range out {
		// Table names come from the catalogue, quoted as identifiers.
		q := `SELECT count(*) FROM "` + strings.ReplaceAll(out[i].name, `"`, `""`) + `"`
		if err := db.QueryRowContext(ctx, q).Scan(&out[i].rows); err != nil {
			return nil, fmt.Errorf("count %s: %w", out[i].name, err)
		}
	}
	return out, nil
}

// tables lists judge's tables with their bytes.
func tables(ctx context.Context, db *sql.DB) ([]table, error) {
	rows, err := db.QueryContext(ctx, `SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables ORDER BY relname`)
	if err != nil {
		return nil, fmt.Errorf("database size: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.name, &t.bytes); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// percentile is the p-quantile (0 < p ≤ 1) of sorted durations, by the
// nearest-rank rule.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// report prints the run's figures as Markdown, with the goals
// beside them.
func report(w io.Writer, o options, run fleetRun, floor []time.Duration, in integrity, db []table) {
	var ttv []time.Duration
	errs, retried, decided := map[string]int{}, 0, map[string]int{}
	for _, l := range run.looks {
		if l.retried {
			retried++
		}
		if l.err != "" {
			errs[l.err]++
			continue
		}
		ttv = append(ttv, l.latency)
		decided[l.decision]++
	}
	slices.Sort(ttv)
	slices.Sort(floor)
	durability := "fsync off"
	if o.durable {
		durability = "durable commits"
	}
	fmt.Fprintf(w, "%d sequences of %d looks, a look every %s each, %d services, %d replica(s) on PostgreSQL (%s), %s run\n\n",
		o.sequences, o.looks, o.interval, o.services, o.replicas, durability, run.elapsed.Round(time.Second))
	fmt.Fprintln(w, "| measure | value | goal |")
	fmt.Fprintln(w, "|---|---:|---|")
	fmt.Fprintf(w, "| looks answered | %d (%.1f/s) | |\n", len(ttv), float64(len(ttv))/run.elapsed.Seconds())
	fmt.Fprintf(w, "| looks without a verdict | %d | 0 |\n", len(run.looks)-len(ttv))
	fmt.Fprintf(w, "| time-to-verdict p50 / p99 | %.1f / %.1f ms | |\n", ms(percentile(ttv, 0.5)), ms(percentile(ttv, 0.99)))
	fmt.Fprintf(w, "| fetch floor p50 / p99 (%d looks) | %.1f / %.1f ms | |\n", len(floor), ms(percentile(floor, 0.5)), ms(percentile(floor, 0.99)))
	ratio := 0.0
	if p := percentile(floor, 0.99); p > 0 {
		ratio = float64(percentile(ttv, 0.99)) / float64(p)
	}
	fmt.Fprintf(w, "| **p99 time-to-verdict / fetch floor** | **%.2f×** | ≤ 1.5× |\n", ratio)
	if len(ttv) > 0 {
		fmt.Fprintf(w, "| judge CPU per look | %.1f ms | |\n", ms(run.cpu)/float64(len(ttv)))
	}
	var rows, bytes int64
	for _, t := range db {
		rows += t.rows
		bytes += t.bytes
	}
	if in.stored > 0 {
		fmt.Fprintf(w, "| database rows / bytes per 1,000 looks stored | %.0f / %.1f MiB | |\n",
			float64(rows)*1000/float64(in.stored), mib(bytes)*1000/float64(in.stored))
	}
	if len(run.rss) > 1 {
		first, last := run.rss[min(len(run.rss)-1, 6)], run.rss[len(run.rss)-1] // after a minute's warm-up
		lo, hi := slices.Min(run.rss[min(len(run.rss)-1, 6):]), slices.Max(run.rss[min(len(run.rss)-1, 6):])
		fmt.Fprintf(w, "| replica RSS after 1 min → end (min–max) | %.1f → %.1f MiB (%.1f–%.1f), %+.1f%% | flat (±10%%) |\n",
			mib(first), mib(last), mib(lo), mib(hi), 100*(float64(last)/float64(first)-1))
	}
	// The canaries are unchanged: a FAIL is a false fail of the judge's,
	// which the sequence's spending holds to the config's 5% per sequence.
	fmt.Fprintf(w, "| looks that ended their sequence: pass / pass early / FAIL | %d / %d / %d | |\n",
		decided[string(sequence.Pass)], decided[string(sequence.PassEarly)], decided[string(sequence.Fail)])
	fmt.Fprintf(w, "| looks answered by another replica | %d | |\n", retried)
	fmt.Fprintf(w, "| sequences checked / looks answered / stored | %d / %d / %d | |\n", in.sequences, in.answered, in.stored)
	fmt.Fprintf(w, "| **looks lost / duplicated** | **%d / %d** | 0 / 0 |\n", in.lost, in.duplicated)
	if run.restart != "" {
		fmt.Fprintf(w, "\nRestart: %s.\n", run.restart)
	}
	if len(db) > 0 {
		fmt.Fprintln(w, "\n| table | rows | bytes |")
		fmt.Fprintln(w, "|---|---:|---:|")
		for _, t := range db {
			fmt.Fprintf(w, "| %s | %d | %.1f MiB |\n", t.name, t.rows, mib(t.bytes))
		}
	}
	for msg, n := range errs {
		fmt.Fprintf(w, "\n%d looks: %s", n, msg)
	}
	for _, u := range in.unreadable {
		fmt.Fprintf(w, "\nunreadable sequence: %s", u)
	}
	fmt.Fprintln(w)
}
