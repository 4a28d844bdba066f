// Package doctor checks a till's setup end to end before the first
// customer: the configuration, the key files, the certificates, the PC's
// clock against the gateway's, a signed call to the gateway, the scanner,
// the data directory and the local API's port. Each check says what is
// wrong and what to do; `posagent doctor` prints them and fails if any did.
//
// It takes plain values (Options), not the configuration: the wiring in
// internal/agent fills them in.
package doctor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"posagent/internal/scanner"
)

// MaxClockSkew is how far the PC's clock may be from the gateway's: the
// gateway refuses requests whose timestamp is off by more than about 15
// minutes (isv.invalid-timestamp).
const MaxClockSkew = 15 * time.Minute

// Options describe the setup to check. Paths are absolute or relative to
// the working directory; empty ones are not configured.
type Options struct {
	// ConfigPath names the file in the report; ConfigErr is what validating
	// it found (nil if valid). The other fields are read from it even when
	// it is not valid, so that every problem is reported at once.
	ConfigPath string
	ConfigErr  error

	GatewayURL   string
	AppID        string
	SignType     string
	Charset      string
	AppAuthToken string
	PayPID       string

	AppPrivateKey   string
	AlipayPublicKey string
	AppCert         string
	AlipayCert      string
	AlipayRootCert  string
	EncryptKey      string

	DataDir string
	// DBFile is the database's name in DataDir; the process holding it
	// writes its pid to DBFile+".pid".
	DBFile string

	Scanner Scanner
	// APIListen is the local API's listen address; "" or "off" for none.
	APIListen string

	// ListScanners lists the devices this PC sees (scanner.List when nil).
	ListScanners func() ([]scanner.Device, error)
	// HTTPClient calls the gateway; nil: one with a 15 s timeout. Doctor
	// never follows a redirect, whatever the client's CheckRedirect.
	HTTPClient *http.Client
	// Now is the PC's clock (time.Now when nil).
	Now func() time.Time
	// MaxSkew is MaxClockSkew when zero.
	MaxSkew time.Duration
	// Running reports whether a process with this pid runs (a real check
	// of the OS when nil).
	Running func(pid int) bool
}

// Scanner is the configured scanner.
type Scanner struct {
	Kind     string // serial, hid, wedge, sim
	Port     string
	VID, PID string // 4 hex digits each, or ""
}

// Check is one line of the report.
type Check struct {
	Name string
	OK   bool
	// Detail says what was found; Fix what to do about a failure.
	Detail string
	Fix    string
}

// Run performs every check and returns them in order. A check whose input
// is missing (a key file the configuration does not name) is reported by
// the configuration's check and skipped here.
func Run(ctx context.Context, o Options) []Check {
	o.defaults()
	var r report
	r.config(o)
	keys := r.keyFiles(o)
	r.keyPair(o, keys)
	r.certs(o, keys)
	g := r.reach(ctx, o)
	r.clock(o, g)
	r.probe(ctx, o, keys, g)
	r.scanner(o)
	running := r.dataDir(o)
	r.apiPort(o, running)
	return r.checks
}

func (o *Options) defaults() {
	if o.ListScanners == nil {
		o.ListScanners = scanner.List
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	// A copy: the caller's client keeps its own redirect policy.
	c := *o.HTTPClient
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.HTTPClient = &c
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = MaxClockSkew
	}
	if o.Running == nil {
		o.Running = processRunning
	}
}

type report struct{ checks []Check }

func (r *report) ok(name, format string, args ...any) {
	r.checks = append(r.checks, Check{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)})
}

func (r *report) fail(name, detail, fix string) {
	r.checks = append(r.checks, Check{Name: name, Detail: detail, Fix: fix})
}

// Write prints the checks, one line each, and returns how many failed.
func Write(w io.Writer, checks []Check) (failed int, err error) {
	for _, c := range checks {
		mark := "✓"
		line := c.Detail
		if !c.OK {
			mark = "✗"
			failed++
			if c.Fix != "" {
				line += " — " + c.Fix
			}
		}
		if _, err := fmt.Fprintf(w, "%s %-18s %s\n", mark, c.Name, line); err != nil {
			return failed, err
		}
	}
	if failed == 0 {
		_, err = fmt.Fprintf(w, "\nall %d checks passed\n", len(checks))
	} else {
		_, err = fmt.Fprintf(w, "\n%d of %d checks failed\n", failed, len(checks))
	}
	return failed, err
}
