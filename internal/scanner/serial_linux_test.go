package scanner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial/enumerator"
)

func TestSerialPTY(t *testing.T) {
	master, slave := openPTY(t)
	be := &countingSerial{}
	s, err := Open(Spec{Kind: "serial", Port: slave, Baud: 9600, Terminator: "CR"}, Options{serialIO: be})
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := startScanner(t, s)
	if e := next(t, out); e.Kind != EventConnected || e.Device != slave || !strings.Contains(e.Reason, "9600 8N1") {
		t.Fatalf("first event %+v, want connected to %s", e, slave)
	}
	// A code in pieces, CRLF after a CR config, an AIM id, noise.
	for _, piece := range []string{"2812345", "67890123", "456\r", "\n]Q1" + code2 + "\r\x00\x07zz\r"} {
		if _, err := master.WriteString(piece); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"scan:" + code1, "scan:" + code2 + "[]Q1]", "rejected[not_payment_code]:\x00\azz(character 1 is byte 0x00, want digits only)"}
	for _, w := range want {
		e := next(t, out)
		if got := brief([]Event{e}); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
		if e.Scan.Source != "serial:"+slave {
			t.Fatalf("source %q", e.Scan.Source)
		}
	}
}

// Unplugging is closing the master: the slave's reads fail and its
// /dev/pts node goes away. The driver must report it, keep the half-read
// code to itself, and wait on the clock, not spin, until the port is back.
func TestSerialUnplugReplug(t *testing.T) {
	master, slave := openPTY(t)
	link := filepath.Join(t.TempDir(), "ttyScanner") // a stable name that moves like a udev symlink
	if err := os.Symlink(slave, link); err != nil {
		t.Fatal(err)
	}
	clock := newManualClock()
	be := &countingSerial{}
	s, err := Open(Spec{Kind: "serial", Port: link, Baud: 115200}, Options{serialIO: be, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := startScanner(t, s)
	if e := next(t, out); e.Kind != EventConnected {
		t.Fatalf("got %+v, want connected", e)
	}
	master.WriteString("28123456789") // half a code, then the cable is pulled
	master.Close()
	e := next(t, out)
	if e.Kind != EventDisconnected || e.Err == nil || e.Device != link {
		t.Fatalf("got %+v, want disconnected with an error", e)
	}
	// The driver now waits: each tick of the clock allows one look for the
	// port, and none is there.
	if d := <-clock.waits; d != DefaultMinBackoff {
		t.Fatalf("first wait %v, want the minimum backoff %v", d, DefaultMinBackoff)
	}
	opens := be.opens.Load()
	const ticks = 20
	for range ticks {
		clock.Advance(time.Hour)
		select {
		case d := <-clock.waits:
			if d != DefaultPoll {
				t.Fatalf("waits %v for a missing port, want the poll interval %v", d, DefaultPoll)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("driver stopped waiting on the clock")
		}
	}
	if n := be.opens.Load() - opens; n != 0 {
		t.Fatalf("%d opens of a missing port in %d ticks", n, ticks)
	}
	select {
	case e := <-out:
		t.Fatalf("reported %+v while the port stayed away: want one disconnected event only", e)
	default:
	}

	// Replug: a new pty behind the same name.
	master2, slave2 := openPTY(t)
	os.Remove(link)
	if err := os.Symlink(slave2, link); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if e := next(t, out); e.Kind != EventConnected {
		t.Fatalf("got %+v, want connected again", e)
	}
	master2.WriteString("4567890\r" + code1 + "\r")
	// The half code from before the unplug is gone: "4567890" alone is rejected.
	if got := brief([]Event{next(t, out), next(t, out)}); got != "rejected[not_payment_code]:4567890(7 digits, want 16 to 24) | scan:"+code1 {
		t.Fatalf("got %q", got)
	}
}

// A port that is there but will not open (busy, no permission) is retried
// with a doubling backoff, and reported once.
func TestSerialOpenFailureBacksOff(t *testing.T) {
	dir := t.TempDir()
	port := filepath.Join(dir, "notatty")
	os.WriteFile(port, nil, 0o600) // present, but not a serial port
	clock := newManualClock()
	be := &countingSerial{}
	s, _ := Open(Spec{Kind: "serial", Port: port}, Options{serialIO: be, Clock: clock, MaxBackoff: 4 * time.Second})
	out, _, _ := startScanner(t, s)
	e := next(t, out)
	if e.Kind != EventDisconnected || !strings.Contains(e.Reason, "open "+port) {
		t.Fatalf("got %+v, want disconnected naming the port", e)
	}
	var waits []time.Duration
	for range 6 {
		waits = append(waits, <-clock.waits)
		clock.Advance(time.Hour)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	if n := be.opens.Load(); n < 6 || n > 7 {
		t.Fatalf("%d opens over 6 waits", n)
	}
	select {
	case e := <-out:
		t.Fatalf("reported again: %+v", e)
	default:
	}
}

// By VID/PID: the enumerator names the port.
func TestSerialByUSBID(t *testing.T) {
	master, slave := openPTY(t)
	be := &countingSerial{ports: func() []*enumerator.PortDetails {
		return []*enumerator.PortDetails{
			{Name: "/dev/ttyS0"},
			{Name: "/dev/ttyUSB7", IsUSB: true, VID: "1a86", PID: "7523"},
			{Name: slave, IsUSB: true, VID: "1EAB", PID: "1406"},
		}
	}}
	s, err := Open(Spec{Kind: "serial", VID: "1eab", PID: "1406"}, Options{serialIO: be})
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := startScanner(t, s)
	e := next(t, out)
	if e.Kind != EventConnected || e.Device != slave || !strings.Contains(e.Reason, "1eab:1406") || !strings.Contains(e.Reason, "Newland") {
		t.Fatalf("got %+v, want connected to %s as a Newland CDC scanner", e, slave)
	}
	master.WriteString(code1 + "\r")
	if e := next(t, out); e.Kind != EventScan || e.Scan.Code != code1 {
		t.Fatalf("got %+v", e)
	}
}

// Cancelling the context while the driver is blocked in Read returns Run
// promptly: Close unblocks the read.
func TestSerialCloseDuringRead(t *testing.T) {
	_, slave := openPTY(t)
	s, _ := Open(Spec{Kind: "serial", Port: slave}, Options{})
	out, cancel, done := startScanner(t, s)
	if e := next(t, out); e.Kind != EventConnected {
		t.Fatalf("got %+v", e)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still blocked in Read 5s after cancel")
	}
}
