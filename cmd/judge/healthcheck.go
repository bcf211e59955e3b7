package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd checks a running server's /healthz: the container
// image's HEALTHCHECK, which has no shell or curl to do it.
func newHealthcheckCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the judge server at --url answers /healthz with 200, 69 otherwise",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usageError("--url %q: %v", url, err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return &exitError{code: exitUnavailable, err: fmt.Errorf("health check: %w", err)}
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &exitError{code: exitUnavailable, err: fmt.Errorf("health check: %s answered %s", url, resp.Status)}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "healthy")
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/healthz", "the server's health endpoint")
	return cmd
}
