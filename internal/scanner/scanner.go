// Package scanner turns what a barcode scanner sends into validated Alipay
// payment codes: drivers for serial/USB-CDC (go.bug.st/serial), USB-HID
// (karalabe/hid), keyboard wedge and a simulated scanner, each feeding the
// same framer, validation and debounce.
//
// A driver never gives up while its context lives: an unplugged scanner is
// reported as disconnected and reopened when it comes back, waiting between
// attempts so that a missing device costs no CPU.
package scanner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"posagent/drivers"
)

// Scan is one payment code read from a scanner.
type Scan struct {
	Code      string
	Symbology string // the AIM identifier the scanner sent, e.g. "]Q1"; "" if none
	Source    string // driver and device, e.g. "serial:/dev/ttyACM0"
	Time      time.Time
}

// EventKind says what an Event reports.
type EventKind int

const (
	EventScan         EventKind = iota // Scan holds a valid payment code
	EventRejected                      // Scan.Code holds input that is not one; Reason says why
	EventConnected                     // the device was opened
	EventDisconnected                  // the device went away or could not be opened; Err says why
)

func (k EventKind) String() string {
	switch k {
	case EventScan:
		return "scan"
	case EventRejected:
		return "rejected"
	case EventConnected:
		return "connected"
	case EventDisconnected:
		return "disconnected"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what a Scanner reports. A rejected Scan.Code may be a payment
// code with a byte missing: consumers mask it like any code.
type Event struct {
	Kind   EventKind
	Scan   Scan
	Device string // e.g. "/dev/ttyACM0", "05e0:1200", "wedge", "sim"
	Reason string
	Cause  string // of EventRejected: an event.Reject* cause
	Err    error
}

// Scanner is a source of scan events.
type Scanner interface {
	// Run reads until ctx is done, reconnecting by itself, and returns nil
	// then. It returns an error only when it cannot run at all.
	Run(ctx context.Context, out chan<- Event) error
}

// Kinds of scanner a Spec names.
const (
	KindSerial = "serial" // serial port or USB-CDC, via go.bug.st/serial
	KindHID    = "hid"    // USB-HID, keyboard or HID-POS, via karalabe/hid
	KindWedge  = "wedge"  // a keyboard wedge: keystrokes the UI feeds
	KindSim    = "sim"    // simulated: a script of codes
)

// Spec names the scanner to read, as the configuration's "scanner" key
// does. Empty fields take the profile's settings, then the defaults.
type Spec struct {
	Kind string // KindSerial, KindHID, KindWedge or KindSim
	Port string // serial: path or COM name; "" = find it by VID and PID
	Baud int    // serial: 0 = the profile's, else 9600
	// VID and PID are 4 hex digits each, e.g. "05e0"; required for HID.
	VID, PID   string
	Terminator string // CR, LF, CRLF, TAB or none; "" = the profile's, else CR
	Profile    string // a profile name from drivers/; "" = matched by VID and PID
}

// Defaults of Options.
const (
	DefaultDebounce  = 1500 * time.Millisecond
	DefaultMaxLength = 128
	DefaultIdleGap   = 80 * time.Millisecond
	// DefaultStaleGap ends a half-read code: bytes separated by more than
	// this belong to different reads, whatever the terminator.
	DefaultStaleGap   = 500 * time.Millisecond
	DefaultPoll       = 1500 * time.Millisecond
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// Options tune a scanner beyond its Spec. The zero value means the
// defaults.
type Options struct {
	Terminator string // CR, LF, CRLF, TAB or none; "" = the Spec's
	Prefix     string // stripped from the start of a frame when present
	Suffix     string // stripped from the end of a frame when present
	MaxLength  int    // longest frame; longer input is discarded up to the next terminator
	IdleGap    time.Duration
	StaleGap   time.Duration
	Debounce   time.Duration // the same code again within this is one scan; <0 turns it off

	Clock      Clock
	Poll       time.Duration // how often a missing device is looked for
	MinBackoff time.Duration // first wait after a failed open or a lost device
	MaxBackoff time.Duration

	Layout  string // keyboard layout the scanner emulates: "us" (default) or "fr"
	HIDMode string // drivers.ModeKeyboard or drivers.ModeHIDPOS; "" = from usage page or profile
	// HIDInterface picks the USB interface to read on Linux, where usage
	// pages are not reported; nil = the profile's, or any.
	HIDInterface *int
	Script       []Step // for kind sim; nil = DemoScript(nil)
	hidAPI       hidBackend
	serialIO     serialBackend
}

func (o Options) withDefaults() Options {
	if o.MaxLength <= 0 {
		o.MaxLength = DefaultMaxLength
	}
	if o.IdleGap <= 0 {
		o.IdleGap = DefaultIdleGap
	}
	if o.StaleGap <= 0 {
		o.StaleGap = DefaultStaleGap
	}
	if o.Debounce == 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Clock == nil {
		o.Clock = SystemClock
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Terminator == "" {
		o.Terminator = "CR"
	}
	return o
}

// Open builds the scanner c describes, with framing,
// validation and debounce. It opens no device: Run does, and keeps
// reopening it. For kind wedge the Scanner is a *Wedge, which the checkout
// screen feeds keystrokes (its KeyFeeder).
func Open(c Spec, opts Options) (Scanner, error) {
	if opts.Terminator == "" {
		opts.Terminator = c.Terminator
	}
	var prof *drivers.Profile
	if c.Profile != "" {
		p, err := drivers.Lookup(c.Profile)
		if err != nil {
			return nil, fmt.Errorf("scanner: %w", err)
		}
		prof = p
		if opts.Terminator == "" {
			opts.Terminator = p.Terminator
		}
	}
	opts = opts.withDefaults()
	if err := checkTerminator(opts.Terminator); err != nil {
		return nil, fmt.Errorf("scanner: %w", err)
	}
	var vid, pid uint16
	if c.VID != "" || c.PID != "" {
		var err error
		if vid, pid, err = parseIDs(c.VID, c.PID); err != nil {
			return nil, fmt.Errorf("scanner: %w", err)
		}
		if prof == nil {
			prof = drivers.Match(vid, pid)
		}
	}
	switch c.Kind {
	case KindSim:
		script := opts.Script
		if script == nil {
			script = DemoScript(nil)
		}
		return NewSim(script, opts), nil
	case KindWedge:
		return NewWedge(opts), nil
	case KindSerial:
		return newSerial(c.Port, vid, pid, c.Baud, prof, opts)
	case KindHID:
		if c.VID == "" || c.PID == "" {
			return nil, fmt.Errorf("scanner: a HID scanner needs vid and pid")
		}
		return newHID(vid, pid, prof, opts)
	}
	return nil, fmt.Errorf("scanner: kind %q: want serial, hid, wedge or sim", c.Kind)
}

func parseIDs(vid, pid string) (uint16, uint16, error) {
	var v, p uint16
	if _, err := fmt.Sscanf(strings.ToLower(vid), "%04x", &v); err != nil || len(vid) != 4 {
		return 0, 0, fmt.Errorf("vid %q: want 4 hex digits", vid)
	}
	if _, err := fmt.Sscanf(strings.ToLower(pid), "%04x", &p); err != nil || len(pid) != 4 {
		return 0, 0, fmt.Errorf("pid %q: want 4 hex digits", pid)
	}
	return v, p, nil
}

// outbox holds what a pipeline emits while it handles input, so that the
// events go out on the channel between reads, in order, and a slow consumer
// never blocks the pipeline in the middle of a frame.
type outbox struct{ events []Event }

func (o *outbox) add(e Event) { o.events = append(o.events, e) }

// flush sends the held events in order; false means ctx ended first.
func (o *outbox) flush(ctx context.Context, out chan<- Event) bool {
	for _, e := range o.events {
		if !send(ctx, out, e) {
			return false
		}
	}
	o.events = o.events[:0]
	return true
}

// send delivers e unless ctx ends first.
func send(ctx context.Context, out chan<- Event, e Event) bool {
	select {
	case out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}
