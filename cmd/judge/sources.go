package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/verdict"
)

// metricsAccounts reads metrics.accounts from the configuration, strictly:
// an unknown field of an account is an error naming it.
func metricsAccounts(v *viper.Viper) ([]metrics.Account, error) {
	var accounts []metrics.Account
	err := v.UnmarshalKey("metrics.accounts", &accounts, func(c *mapstructure.DecoderConfig) {
		c.ErrorUnused = true
		c.DecodeHook = mapstructure.StringToTimeDurationHookFunc()
	})
	if err != nil {
		return nil, usageError("metrics.accounts: %v", err)
	}
	return accounts, nil
}

// configuredSources are the clients of the configuration's metrics
// accounts.
func configuredSources(v *viper.Viper) (*analysis.Sources, error) {
	accounts, err := metricsAccounts(v)
	if err != nil {
		return nil, err
	}
	sources, err := analysis.NewSources(accounts, nil)
	if err != nil {
		return nil, usageError("%w", err)
	}
	return sources, nil
}

// analyzeScopes fetches the series of every metric for the request's
// scopes, judges them and, with --save-data, writes what it fetched.
func analyzeScopes(cmd *cobra.Command, v *viper.Viper, cfg *verdict.Config, path string, opts verdict.Options) (*verdict.Result, []verdict.MetricSetPair, error) {
	raw, err := readBounded(path)
	if err != nil {
		return nil, nil, dataError(err)
	}
	req, err := analysis.ParseRequest(raw, path)
	if err != nil {
		return nil, nil, dataError(err)
	}
	sources, err := configuredSources(v)
	if err != nil {
		return nil, nil, err
	}
	runner := &analysis.Runner{Sources: sources}
	out, err := runner.Run(cmd.Context(), cfg, req, analysis.Options{Account: v.GetString("metrics-account"), Judge: opts.Judge, Thresholds: opts.Thresholds})
	switch {
	case errors.Is(err, analysis.ErrInvalidRequest), errors.Is(err, verdict.ErrInvalidData):
		return nil, nil, dataError(err)
	case errors.Is(err, analysis.ErrConfig):
		return nil, nil, usageError("%w", err)
	case errors.Is(err, context.Canceled):
		return nil, nil, &exitError{code: exitUnavailable, err: err}
	case err != nil:
		return nil, nil, usageError("%w", err)
	}
	if p := v.GetString("save-data"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return nil, nil, usageError("--save-data: %w", err)
		}
		werr := writeJSON(f, out.Pairs)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, nil, &exitError{code: exitInternal, err: fmt.Errorf("--save-data %s: %w", p, werr)}
		}
	}
	if out.Unavailable {
		return nil, nil, &exitError{code: exitUnavailable, err: fmt.Errorf("every metric fetch failed: %w", out.Cause)}
	}
	return out.Result, out.Pairs, nil
}
