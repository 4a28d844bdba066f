package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"runtime/debug"

	"posagent/internal/config"
	"posagent/internal/event"
)

// Version is posagent's version as the build recorded it: the module
// version of a released build, else the VCS revision, else "devel".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}

// newRunID tells one run from the next: seq starts again at 1 in each.
func newRunID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// describeScanner names the configured scanner for the started event,
// e.g. "serial:/dev/ttyACM0" or "sim".
func describeScanner(s config.Scanner) string {
	switch {
	case s.Port != "":
		return s.Kind + ":" + s.Port
	case s.VID != "" || s.PID != "":
		return s.Kind + ":" + s.VID + ":" + s.PID
	case s.Profile != "":
		return s.Kind + ":" + s.Profile
	}
	return s.Kind
}

// started is the first event of a run.
func (a *Agent) started() event.Started {
	c := a.Config
	return event.Started{
		Stamp:        event.Stamp{Time: a.now()},
		Version:      Version(),
		RunID:        a.RunID,
		TerminalID:   c.TerminalID,
		GatewayURL:   a.Client.GatewayURL(),
		DataDir:      c.DataDir,
		Scanner:      describeScanner(c.Scanner),
		APIURL:       a.apiURL,
		APITokenFile: a.apiTokenFile,
	}
}

// stopReason says why Run is ending: its own error, else the cause its
// context was cancelled with (a signal, staff quitting the UI, the demo's
// end), else "stopped".
func stopReason(ctx context.Context, err error) string {
	if err != nil {
		return err.Error()
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause.Error()
	}
	return "stopped"
}
