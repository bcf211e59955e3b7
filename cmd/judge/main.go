// Command judge is an automated canary analysis engine: it compares a
// canary's metrics with its baseline's and says PASS, MARGINAL or FAIL.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Exit codes, for CI pipelines (sysexits.h where one fits).
const (
	exitOK          = 0
	exitUsage       = 64 // EX_USAGE: bad flags or arguments
	exitDataErr     = 65 // EX_DATAERR: bad input file, config or data
	exitUnavailable = 69 // EX_UNAVAILABLE: a metrics source or server cannot be reached
	exitInternal    = 70 // EX_SOFTWARE: a bug
)

// exitError carries the process exit code for an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func dataError(err error) error { return &exitError{code: exitDataErr, err: err} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(viper.New(), stdin)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "judge:", ee.err)
		}
		return ee.code
	}
	// Errors cobra raises itself (unknown command, bad flag value) are usage errors.
	fmt.Fprintln(stderr, "judge:", err)
	return exitUsage
}

// newRootCmd wires the sub-commands and the configuration: flags win over
// JUDGE_* environment variables, which win over the --config file.
func newRootCmd(v *viper.Viper, stdin io.Reader) *cobra.Command {
	root := &cobra.Command{
		Use:           "judge",
		Short:         "Automated canary analysis: compare canary and baseline metrics, say PASS, MARGINAL or FAIL",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return loadConfig(v, cmd)
		},
	}
	root.PersistentFlags().String("config", "", "configuration file (YAML); JUDGE_* environment variables and flags override it")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(newCompareCmd(v, stdin), newAnalyzeCmd(v), newConfigCmd(), newServeCmd(v))
	return root
}

// loadConfig binds the running command's flags, the environment and the
// optional config file into v, once, before the command runs.
func loadConfig(v *viper.Viper, cmd *cobra.Command) error {
	v.SetEnvPrefix("JUDGE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err := v.BindPFlag(f.Name, f); err != nil && bindErr == nil {
			bindErr = err
		}
	})
	if bindErr != nil {
		return &exitError{code: exitInternal, err: bindErr}
	}
	if path := v.GetString("config"); path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return dataError(fmt.Errorf("read config %s: %w", path, err))
		}
	}
	return nil
}
