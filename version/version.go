// Package version says which judge is running: the module version, the
// commit and its date, and the Go version it was built with. The Makefile
// sets them with -ldflags (-X); a binary built otherwise (go install,
// go build) reads them from the build information Go embeds.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by the linker: go build -ldflags "-X github.com/canaryjudge/judge/version.version=v1.2.3 ...".
var (
	version string
	commit  string
	date    string
)

// Info describes a build.
type Info struct {
	// Version is the module version (a tag, or git describe's name of the
	// commit); "devel" when unknown.
	Version string `json:"version"`
	// Commit is the VCS revision; Date its commit time (RFC 3339), which
	// keeps builds reproducible, unlike the time of the build.
	Commit string `json:"commit"`
	Date   string `json:"date"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Modified reports a build from a work tree with uncommitted changes.
	Modified bool `json:"modified,omitempty"`
}

// Get returns the running binary's build information.
var Get = sync.OnceValue(func() Info {
	info := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				info.Modified = info.Modified || s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	return info
})

// String is the one-line form: "judge v1.2.3 (commit 0123abc, 2026-12-04T10:00:00Z, go1.26.8)".
func (i Info) String() string {
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown"
	}
	if i.Modified {
		c += ", modified"
	}
	d := i.Date
	if d == "" {
		d = "date unknown"
	}
	return fmt.Sprintf("judge %s (commit %s, %s, %s)", i.Version, c, d, i.GoVersion)
}
