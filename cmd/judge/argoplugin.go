package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/canaryjudge/judge/container"
)

// newArgoPluginCmd installs the Argo Rollouts plugin the image carries:
// an init container of the Argo Rollouts controller runs it to copy the
// plugin into a volume the controller reads (a file:// plugin location),
// so installing needs no download.
func newArgoPluginCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "argo-plugin", Short: "Install judge's Argo Rollouts metric provider plugin"}
	install := &cobra.Command{
		Use:   "install DIR",
		Short: "Copy the Argo Rollouts plugin this image carries into DIR (an Argo Rollouts controller's init container)",
		Long: `install copies judge's Argo Rollouts metric provider plugin (in judge's image
at ` + container.ArgoPlugin + `) to DIR/judge-argo-plugin, executable, for the
controller's argo-rollouts-config:

  metricProviderPlugins: |-
    - name: canaryjudge/judge
      location: file://DIR/judge-argo-plugin

Exit codes: 0 installed, 64 bad usage, 65 the plugin or DIR cannot be used.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, _ := cmd.Flags().GetString("from")
			to := filepath.Join(args[0], "judge-argo-plugin")
			if err := copyExecutable(from, to); err != nil {
				return dataError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "installed %s (location: file://%s)\n", to, to)
			return nil
		},
	}
	install.Flags().String("from", container.ArgoPlugin, "the plugin binary to install")
	cmd.AddCommand(install)
	return cmd
}

// copyExecutable copies a regular file to dst (through a temporary file
// renamed into place, so the controller never reads half a plugin), mode
// 0755.
func copyExecutable(src, dst string) (err error) {
	in, err := os.Open(src) //nolint:gosec // the operator's flag
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer func() { _ = in.Close() }()
	if info, err := in.Stat(); err != nil || !info.Mode().IsRegular() {
		return fmt.Errorf("--from %s: not a regular file", src)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".judge-argo-plugin-*")
	if err != nil {
		return fmt.Errorf("DIR: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		return errors.Join(fmt.Errorf("copy the plugin: %w", err), tmp.Close())
	}
	if err := tmp.Chmod(0o755); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
