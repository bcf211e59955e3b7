// Command judge is an automated canary analysis engine: it compares a
// canary's metrics with its baseline's and says PASS, MARGINAL or FAIL.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

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

// run executes the command line args and returns the exit code. A panic
// is a bug, never a verdict: it exits 70 with one line, not Go's exit 2
// (which reads as MARGINAL).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return execute(newRootCmd(viper.New(), stdin), args, stdout, stderr)
}

// execute runs root with args and maps its error (or panic) to an exit code.
func execute(root *cobra.Command, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(stderr, "judge: internal error (a bug; please report it): %s\n", strings.Join(strings.Fields(fmt.Sprint(v)), " "))
			code = exitInternal
		}
	}()
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
	root.AddCommand(newCompareCmd(v, stdin), newAnalyzeCmd(v), newConfigCmd(v), newServeCmd(v), newBacktestCmd(v), newVersionCmd(), newHealthcheckCmd(), newArgoPluginCmd())
	return root
}

// loadConfig binds the running command's flags, the environment and the
// optional config file into v, once, before the command runs. It is strict:
// a config file that is missing or names an unknown key or a value of the
// wrong type, and a JUDGE_* variable whose value does not parse, are errors
// naming the file and key or the variable.
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
	var problems []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		env := "JUDGE_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(f.Name))
		if val, ok := os.LookupEnv(env); ok {
			if err := checkValue(f.Value.Type(), val); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", env, err))
			}
		}
	})
	if path := v.GetString("config"); path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return dataError(fmt.Errorf("read config %s: %w", path, err))
		}
		problems = append(problems, checkConfigFile(path, cmd.Root())...)
	}
	if len(problems) > 0 {
		return usageError("%s", strings.Join(problems, "; "))
	}
	return nil
}

// envOnlyKeys are settings that have no flag because they hold secrets:
// they come from the environment (or, for auth-tokens, a file named by a
// flag), never from a flag value.
var envOnlyKeys = map[string]string{"auth-tokens": "string", "token": "string", "metrics.accounts": "accounts"}

// checkConfigFile reports the keys of the config file that no command
// knows, and values whose type does not fit their flag.
func checkConfigFile(path string, root *cobra.Command) []string {
	types := map[string]string{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { types[f.Name] = f.Value.Type() })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for k, t := range envOnlyKeys {
		types[k] = t
	}
	file := viper.New()
	file.SetConfigFile(path)
	if err := file.ReadInConfig(); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	var problems []string
	for _, key := range file.AllKeys() {
		typ, ok := types[key]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: unknown key %q", path, key))
			continue
		}
		raw := file.Get(key)
		switch raw.(type) {
		case map[string]any:
			problems = append(problems, fmt.Sprintf("%s: %s: want a single %s value, got a mapping", path, key, typ))
			continue
		case []any:
			if typ != "stringSlice" && typ != "accounts" {
				problems = append(problems, fmt.Sprintf("%s: %s: want a single %s value, got a list", path, key, typ))
			}
			continue
		}
		if typ == "accounts" {
			problems = append(problems, fmt.Sprintf("%s: %s: want a list of accounts", path, key))
			continue
		}
		if err := checkValue(typ, fmt.Sprint(raw)); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", path, key, err))
		}
	}
	return problems
}

// checkValue reports whether val parses as a flag of type typ.
func checkValue(typ, val string) error {
	var err error
	switch typ {
	case "int":
		_, err = strconv.ParseInt(val, 0, 64)
	case "float64":
		_, err = strconv.ParseFloat(val, 64)
	case "bool":
		_, err = strconv.ParseBool(val)
	case "duration":
		_, err = time.ParseDuration(val)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%q is not a valid %s", val, typ)
	}
	return nil
}
