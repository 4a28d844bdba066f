package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"posagent/internal/buildinfo"
	"posagent/internal/config"
	"posagent/internal/event"
)

// Version is posagent's version as `posagent version` names it, with its
// commit: "v1.2.0 (0123456789ab)", or "v0.1.0-dev (…)" outside a release.
func Version() string { return buildinfo.Read().Short() }

// newRunID tells one run from the next (seq goes on across runs: it does
// not say where one ends).
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
// context was cancelled with (a signal: signal.NotifyContext's cause says
// which, e.g. "terminated signal received"; staff quitting the UI; the
// demo's end), else "stopped" (a plain cancel).
func stopReason(ctx context.Context, err error) string {
	if err != nil {
		return err.Error()
	}
	// A signal's cause is a context.Canceled too (errors.Is): only the
	// bare one says nothing.
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
		return cause.Error()
	}
	return "stopped"
}
