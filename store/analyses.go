package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Status is the state of an analysis.
type Status string

// Analysis states.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCanceled  Status = "canceled"
)

// Final reports whether no worker will change the status again.
func (s Status) Final() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCanceled
}

// Analysis is a stored analysis.
type Analysis struct {
	ID         string
	Status     Status
	ConfigName string
	Spec       []byte // the request, JSON
	Verdict    []byte // the verdict, JSON; set when succeeded
	Series     []byte // the fetched series (a MetricSetPairList), JSON; only from GetAnalysis
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Attempts   int
	// Owner is the worker holding the analysis' lease.
	Owner      string
	LeaseUntil time.Time
	// CreatedBy is the caller that created it (auth.Caller.Owner): the
	// owner of the sequence it is a look of.
	CreatedBy string
	// Label is what the analysis turned out to be (LabelRegression,
	// LabelGood, or empty), LabelledBy who said so and LabelledAt when.
	Label      string
	LabelledBy string
	LabelledAt time.Time
}

// AnalysisFilter restricts ListAnalyses; zero fields match everything.
type AnalysisFilter struct {
	Status      Status
	ConfigName  string
	Application string
	// Since keeps analyses created at or after it; Labelled those with a
	// label.
	Since    time.Time
	Labelled bool
}

const analysisColumns = `id, status, config_name, spec, verdict, error, created_at, updated_at, attempts, owner, lease_until, series, created_by, label, labelled_by, labelled_at`

// listColumns are analysisColumns without the stored spec, which lists and
// watches never need: a spec can hold megabytes of series.
const listColumns = `id, status, config_name, '', verdict, error, created_at, updated_at, attempts, owner, lease_until, '', created_by, label, labelled_by, labelled_at`

func scanAnalysis(row interface{ Scan(...any) error }) (Analysis, error) {
	var (
		a                             Analysis
		status, spec, verdict, series string
		created, updated, leaseEnd    int64
		labelled                      int64
	)
	if err := row.Scan(&a.ID, &status, &a.ConfigName, &spec, &verdict, &a.Error, &created, &updated, &a.Attempts, &a.Owner, &leaseEnd, &series, &a.CreatedBy,
		&a.Label, &a.LabelledBy, &labelled); err != nil {
		return Analysis{}, err
	}
	if labelled != 0 {
		a.LabelledAt = time.Unix(0, labelled).UTC()
	}
	a.Status = Status(status)
	a.Spec = []byte(spec)
	if verdict != "" {
		a.Verdict = []byte(verdict)
	}
	if series != "" {
		a.Series = []byte(series)
	}
	a.CreatedAt, a.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	a.LeaseUntil = time.Unix(0, leaseEnd).UTC()
	return a, nil
}

// CreateAnalysis stores a pending analysis created by createdBy and
// returns it with its id.
func (s *Store) CreateAnalysis(ctx context.Context, configName, application, createdBy string, spec []byte) (Analysis, error) {
	id, err := NewID()
	if err != nil {
		return Analysis{}, err
	}
	now := s.now()
	a := Analysis{ID: id, Status: StatusPending, ConfigName: configName, Spec: spec, CreatedAt: now, UpdatedAt: now, CreatedBy: createdBy}
	if _, err := s.exec(ctx, `INSERT INTO analyses (id, status, config_name, application, spec, created_at, updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, string(StatusPending), configName, application, string(spec), now.UnixNano(), now.UnixNano(), createdBy); err != nil {
		return Analysis{}, fmt.Errorf("create analysis: %w", err)
	}
	return a, nil
}

// GetAnalysis returns one analysis with its spec.
func (s *Store) GetAnalysis(ctx context.Context, id string) (Analysis, error) {
	return s.getAnalysis(ctx, id, analysisColumns)
}

// GetAnalysisSummary returns one analysis without its spec.
func (s *Store) GetAnalysisSummary(ctx context.Context, id string) (Analysis, error) {
	return s.getAnalysis(ctx, id, listColumns)
}

// AnalysisState returns an analysis' status and last update, a cheap read
// for watchers that only need to know whether anything changed.
func (s *Store) AnalysisState(ctx context.Context, id string) (Status, time.Time, error) {
	var (
		status  string
		updated int64
	)
	err := s.queryRow(ctx, `SELECT status, updated_at FROM analyses WHERE id = ?`, id).Scan(&status, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, fmt.Errorf("analysis %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("get analysis %q: %w", id, err)
	}
	return Status(status), time.Unix(0, updated).UTC(), nil
}

func (s *Store) getAnalysis(ctx context.Context, id, columns string) (Analysis, error) {
	a, err := scanAnalysis(s.queryRow(ctx, `SELECT `+columns+` FROM analyses WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Analysis{}, fmt.Errorf("analysis %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Analysis{}, fmt.Errorf("get analysis %q: %w", id, err)
	}
	return a, nil
}

// ListAnalyses returns up to limit analyses, newest first, matching the
// filter, after the page token, and the token of the next page.
func (s *Store) ListAnalyses(ctx context.Context, f AnalysisFilter, limit int, token string) ([]Analysis, string, error) {
	q := `SELECT ` + listColumns + ` FROM analyses WHERE 1 = 1`
	var args []any
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.ConfigName != "" {
		q += ` AND config_name = ?`
		args = append(args, f.ConfigName)
	}
	if f.Application != "" {
		q += ` AND application = ?`
		args = append(args, f.Application)
	}
	if !f.Since.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, f.Since.UnixNano())
	}
	if f.Labelled {
		q += ` AND label <> ''`
	}
	if token != "" {
		at, id, err := decodeAnalysisToken(token)
		if err != nil {
			return nil, "", err
		}
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, id)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list analyses: %w", err)
	}
	defer rows.Close()
	var out []Analysis
	for rows.Next() {
		a, err := scanAnalysis(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list analyses: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list analyses: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("a:%d:%s", last.CreatedAt.UnixNano(), last.ID)))
	}
	return out, next, nil
}

func decodeAnalysisToken(token string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", ErrBadPageToken
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "a" {
		return 0, "", ErrBadPageToken
	}
	at, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return 0, "", ErrBadPageToken
	}
	return at, parts[2], nil
}

// CancelAnalysis cancels a pending or running analysis that createdBy
// created and returns it; a finished analysis is returned unchanged, and
// one another caller created is ErrNotOwner.
func (s *Store) CancelAnalysis(ctx context.Context, id, createdBy string) (Analysis, error) {
	res, err := s.exec(ctx, `UPDATE analyses SET status = ?, updated_at = ?, owner = '', lease_until = 0
		WHERE id = ? AND status IN (?, ?) AND created_by = ?`,
		string(StatusCanceled), s.now().UnixNano(), id, string(StatusPending), string(StatusRunning), createdBy)
	if err != nil {
		return Analysis{}, fmt.Errorf("cancel analysis %q: %w", id, err)
	}
	a, err := s.GetAnalysis(ctx, id)
	if err != nil {
		return a, err
	}
	if n, _ := res.RowsAffected(); n == 0 && !a.Status.Final() && a.CreatedBy != createdBy {
		return Analysis{}, fmt.Errorf("analysis %q: %w", id, ErrNotOwner)
	}
	return a, nil
}

// DeleteFinished deletes analyses that finished (succeeded, failed or
// cancelled) before the cutoff, batch rows per statement so that claims are
// never blocked for long, and returns how many it deleted.
func (s *Store) DeleteFinished(ctx context.Context, before time.Time, batch int) (int, error) {
	total := 0
	for {
		res, err := s.exec(ctx, `DELETE FROM analyses WHERE id IN (
			SELECT id FROM analyses WHERE status IN (?, ?, ?) AND updated_at < ? LIMIT ?)`,
			string(StatusSucceeded), string(StatusFailed), string(StatusCanceled), before.UnixNano(), batch)
		if err != nil {
			return total, fmt.Errorf("delete finished analyses: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if int(n) < batch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// Outcome is how an analysis ended: a verdict (succeeded) or an error
// (failed), and the series it fetched, if any.
type Outcome struct {
	Verdict []byte // JSON; nil for a failure
	Series  []byte // JSON MetricSetPairList; nil when none was fetched
	Error   string
}

// Recorded is an analysis judged synchronously (a deployer's webhook),
// stored finished with its outcome so that it can be read back and
// reported like any other.
type Recorded struct {
	ConfigName, Application string
	Spec                    []byte
	Outcome                 Outcome
}

const insertAnalysisSQL = `INSERT INTO analyses (id, status, config_name, application, spec, verdict, series, error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// args are insertAnalysisSQL's arguments for rec stored under id at now.
func (rec *Recorded) args(id string, now time.Time) []any {
	status := StatusSucceeded
	if rec.Outcome.Verdict == nil {
		status = StatusFailed
	}
	o := rec.Outcome
	return []any{id, string(status), rec.ConfigName, rec.Application, string(rec.Spec), string(o.Verdict), string(o.Series), o.Error,
		now.UnixNano(), now.UnixNano()}
}

// RecordAnalysis stores rec under id (from NewID).
func (s *Store) RecordAnalysis(ctx context.Context, id string, rec Recorded) error {
	if _, err := s.exec(ctx, insertAnalysisSQL, rec.args(id, s.now())...); err != nil {
		return fmt.Errorf("record analysis: %w", err)
	}
	return nil
}
