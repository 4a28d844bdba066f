package doctor

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"posagent/internal/scanner"
)

// scanner checks that the configured scanner is one this PC sees.
func (r *report) scanner(o Options) {
	const name = "scanner"
	s := o.Scanner
	switch s.Kind {
	case "":
		return // the config check names it
	case "sim":
		r.ok(name, "sim: a simulated scanner (test setups on a loopback gateway only)")
		return
	}
	devs, err := o.ListScanners()
	hidMissing, listErr := scanner.WithoutHID(err)
	vid, pid := hexID(s.VID), hexID(s.PID)
	byID := func(kind string) *scanner.Device {
		for i, d := range devs {
			if (kind == "" || d.Kind == kind) && d.VID == vid && d.PID == pid && (vid != 0 || pid != 0) {
				return &devs[i]
			}
		}
		return nil
	}
	switch s.Kind {
	case "serial":
		if s.Port != "" {
			for _, d := range devs {
				if d.Path == s.Port {
					r.ok(name, "serial port %s is present", s.Port)
					return
				}
			}
			if listErr == nil && runtime.GOOS != "windows" {
				if _, serr := os.Stat(s.Port); serr == nil {
					r.ok(name, "serial port %s is present", s.Port)
					return
				}
			}
			r.fail(name, fmt.Sprintf("serial port %s is not present%s", s.Port, listed(listErr)),
				"plug the scanner in, check its USB mode (CDC/serial), and run `posagent scanners` for the port's name")
			return
		}
		if d := byID("serial"); d != nil {
			r.ok(name, "serial scanner %s:%s at %s", s.VID, s.PID, d.Path)
			return
		}
		r.fail(name, fmt.Sprintf("no serial port with USB id %s:%s%s", s.VID, s.PID, listed(listErr)),
			"plug the scanner in and set it to USB-CDC (serial) mode; `posagent scanners` lists what this PC sees")
	case "hid":
		if hidMissing {
			r.fail(name, "a HID scanner is configured but this posagent has no HID support (built with CGO_ENABLED=0)",
				"install a release build (HID built in), or set the scanner to serial mode")
			return
		}
		if d := byID("hid"); d != nil {
			r.ok(name, "HID scanner %s:%s is present (%s)", s.VID, s.PID, d.Path)
			return
		}
		r.fail(name, fmt.Sprintf("no HID device %s:%s%s", s.VID, s.PID, listed(listErr)),
			"plug the scanner in and check its USB mode; on Linux install the udev rules (docs/install-linux.md)")
	case "wedge":
		if d := byID(""); d != nil {
			r.ok(name, "keyboard-wedge scanner %s:%s is present; it types into the focused window", s.VID, s.PID)
			return
		}
		r.ok(name, "keyboard wedge: it types like a keyboard and cannot be detected; scan a code with posagent in front to test it")
	default:
		r.fail(name, fmt.Sprintf("unknown scanner kind %q", s.Kind), "set scanner.kind to serial, hid, wedge or sim")
	}
}

func listed(err error) string {
	if err == nil {
		return ""
	}
	return " (listing devices: " + err.Error() + ")"
}

func hexID(s string) uint16 {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 2 {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

// dataDir checks that data_dir can be written and is not shared: not open
// to other users, and not held by a posagent of another configuration. A
// posagent that runs on it now is reported (and returned: its pid), as
// doctor is also run beside a running till.
func (r *report) dataDir(o Options) (runningPID int) {
	const name = "data_dir"
	if o.DataDir == "" {
		return 0
	}
	st, err := os.Stat(o.DataDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		parent := existingParent(o.DataDir)
		if werr := writable(parent); werr != nil {
			r.fail(name, fmt.Sprintf("%s does not exist and cannot be made in %s: %v", o.DataDir, parent, werr),
				"create it, owned by the user posagent runs as, mode 0700")
			return 0
		}
		r.ok(name, "%s does not exist yet; posagent will create it (mode 0700)", o.DataDir)
		return 0
	case err != nil:
		r.fail(name, err.Error(), "check data_dir")
		return 0
	case !st.IsDir():
		r.fail(name, o.DataDir+" is not a directory", "set data_dir to a directory")
		return 0
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		r.fail(name, fmt.Sprintf("%s has mode %04o: other users may read the queue and the API token", o.DataDir, st.Mode().Perm()),
			"chmod 700 "+o.DataDir)
		return 0
	}
	if werr := writable(o.DataDir); werr != nil {
		r.fail(name, fmt.Sprintf("%s is not writable: %v", o.DataDir, werr), "chown it to the user posagent runs as")
		return 0
	}
	pid := o.holder()
	if pid != 0 {
		r.ok(name, "%s is writable and in use by the running posagent (pid %d)", o.DataDir, pid)
		return pid
	}
	r.ok(name, "%s is writable and not in use", o.DataDir)
	return 0
}

// holder returns the pid of a running process that holds the database, or
// 0. A pid file left by a process that ended is stale.
func (o Options) holder() int {
	if o.DBFile == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(o.DataDir, o.DBFile) + ".pid")
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() || !o.Running(pid) {
		return 0
	}
	return pid
}

func existingParent(dir string) string {
	for {
		parent := filepath.Dir(dir)
		if _, err := os.Stat(parent); err == nil || parent == dir {
			return parent
		}
		dir = parent
	}
}

// writable creates and removes a file in dir.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// apiPort checks that the local API's address can be listened on, or is
// held by the posagent running on this data_dir.
func (r *report) apiPort(o Options, running int) {
	const name = "api port"
	if o.APIListen == "" || o.APIListen == "off" {
		r.ok(name, "the local API is off")
		return
	}
	ln, err := net.Listen("tcp", o.APIListen)
	if err == nil {
		ln.Close()
		r.ok(name, "%s is free", o.APIListen)
		return
	}
	if running != 0 {
		r.ok(name, "%s is held by the running posagent (pid %d)", o.APIListen, running)
		return
	}
	r.fail(name, fmt.Sprintf("cannot listen on %s: %v", o.APIListen, err),
		"stop the program that holds the port (Linux: ss -ltnp; Windows: netstat -ano), or change api.listen")
}
