// Package buildinfo names the build a posagent binary came from: what an
// engineer reads out on the phone, and what the `started` event and the
// start log line carry.
//
// A release sets Version, Commit and Date with -ldflags -X (scripts/release);
// a plain `go build` in a checkout still knows its commit and time from the
// VCS stamp Go embeds (runtime/debug.ReadBuildInfo).
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Base is the version the source tree is at. A build outside the release
// script reports Base+"-dev", so that even one made with -buildvcs=false
// (no VCS stamp) says which line of releases it belongs to.
const Base = "v0.1.0"

// Set by the release script:
//
//	-ldflags "-X posagent/internal/buildinfo.Version=v1.2.0 -X posagent/internal/buildinfo.Commit=… -X posagent/internal/buildinfo.Date=…"
var (
	Version string
	Commit  string
	Date    string
)

// Info is what a binary knows of its build.
type Info struct {
	Version  string // "v1.2.0", or Base+"-dev" for a build outside the release script
	Commit   string // the full VCS revision, "" when unknown
	Date     string // RFC 3339 commit or build time, "" when unknown
	Modified bool   // built from a checkout with uncommitted changes
	Go       string // the Go toolchain, e.g. "go1.26.0"
	Platform string // GOOS/GOARCH
	CGO      bool   // built with cgo: needed for USB-HID scanners
}

// Read returns this binary's build information: the -ldflags values where
// set, else the VCS stamp.
func Read() Info {
	i := Info{Version: Version, Commit: Commit, Date: Date, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		i.fill(bi)
	}
	if i.Version == "" {
		i.Version = Base + "-dev"
	}
	return i
}

func (i *Info) fill(bi *debug.BuildInfo) {
	if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if i.Commit == "" {
				i.Commit = s.Value
			}
		case "vcs.time":
			if i.Date == "" {
				i.Date = s.Value
			}
		case "vcs.modified":
			i.Modified = s.Value == "true"
		case "CGO_ENABLED":
			i.CGO = s.Value == "1"
		}
	}
}

// Short is one line for logs and events: "v1.2.0 (abc1234)", "v0.1.0-dev (abc1234+dirty)".
func (i Info) Short() string {
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown commit"
	}
	if i.Modified {
		c += "+dirty"
	}
	return i.Version + " (" + c + ")"
}

// Write prints the build for `posagent version`. hid says whether USB-HID
// scanner support is compiled in (it needs cgo).
func (i Info) Write(w io.Writer, hid bool) error {
	commit, date := i.Commit, i.Date
	if commit == "" {
		commit = "unknown (built outside a git checkout, without the release script)"
	}
	if i.Modified {
		commit += " (with uncommitted changes)"
	}
	if date == "" {
		date = "unknown"
	}
	h := "yes"
	if !hid {
		h = "NO: built with CGO_ENABLED=0; USB-HID scanners cannot be read (serial and keyboard-wedge can)"
	}
	_, err := fmt.Fprintf(w, "posagent %s\ncommit:   %s\nbuilt:    %s\ngo:       %s %s\nhid:      %s\n",
		i.Version, commit, date, i.Go, i.Platform, h)
	return err
}
