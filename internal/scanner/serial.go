package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"

	"posagent/drivers"
)

// serialBackend is what the serial driver needs from go.bug.st/serial;
// tests count calls through it.
type serialBackend interface {
	Open(path string, mode *serial.Mode) (serial.Port, error)
	Ports() ([]*enumerator.PortDetails, error)
}

type bugstSerial struct{}

func (bugstSerial) Open(path string, mode *serial.Mode) (serial.Port, error) {
	return serial.Open(path, mode)
}

func (bugstSerial) Ports() ([]*enumerator.PortDetails, error) {
	return enumerator.GetDetailedPortsList()
}

// serialScanner reads a serial or USB-CDC scanner, by port name or by USB
// VID/PID (the port name of a USB scanner changes with the socket it is in).
type serialScanner struct {
	m manager
}

func newSerial(port string, vid, pid uint16, baud int, prof *drivers.Profile, o Options) (Scanner, error) {
	if port == "" && vid == 0 && pid == 0 {
		return nil, errors.New("scanner: a serial scanner needs a port, or a vid and pid")
	}
	be := o.serialIO
	if be == nil {
		be = bugstSerial{}
	}
	mode := serialMode(baud, prof)
	s := &serialScanner{m: manager{
		opts: o,
		describe: func(d Device) string {
			stop := 1
			if mode.StopBits == serial.TwoStopBits {
				stop = 2
			}
			desc := fmt.Sprintf("serial %d %d%c%d", mode.BaudRate, mode.DataBits, "NOEMS"[mode.Parity], stop)
			if d.VID != 0 {
				desc += fmt.Sprintf(", USB %04x:%04x", d.VID, d.PID)
			}
			if d.Profile != nil {
				desc += ", " + d.Profile.Vendor + " " + d.Profile.Model
			}
			return desc
		},
		open: func(d Device) (session, error) {
			p, err := be.Open(d.Path, mode)
			if err != nil {
				return nil, fmt.Errorf("open %s: %w", d.Path, describeSerialErr(err))
			}
			return &serialSession{port: p, path: d.Path, opts: o}, nil
		},
	}}
	if port != "" {
		s.m.want = port
		s.m.enumerate = func() ([]Device, error) {
			if !portPresent(be, port) {
				return nil, nil
			}
			return []Device{{Kind: "serial", Path: port}}, nil
		}
		s.m.match = func(Device) bool { return true }
	} else {
		s.m.want = fmt.Sprintf("serial port of USB %04x:%04x", vid, pid)
		s.m.enumerate = func() ([]Device, error) { return serialDevices(be) }
		s.m.match = func(d Device) bool { return d.VID == vid && d.PID == pid }
	}
	return s, nil
}

func (s *serialScanner) Run(ctx context.Context, out chan<- Event) error {
	return s.m.Run(ctx, out, func(d Device) string { return "serial:" + d.Path })
}

// serialMode is 9600 8N1 unless the configuration (baud) or the profile
// (baud, data bits, parity, stop bits) says otherwise. CDC devices ignore
// it all.
func serialMode(baud int, prof *drivers.Profile) *serial.Mode {
	m := &serial.Mode{BaudRate: 9600, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	if prof != nil && prof.Serial != nil {
		ps := prof.Serial
		m.BaudRate, m.DataBits = ps.Baud, ps.DataBits
		switch ps.Parity {
		case "odd":
			m.Parity = serial.OddParity
		case "even":
			m.Parity = serial.EvenParity
		}
		if ps.StopBits == 2 {
			m.StopBits = serial.TwoStopBits
		}
	}
	if baud > 0 {
		m.BaudRate = baud
	}
	return m
}

// portPresent: a port that is not there is waited for at the poll
// interval, not retried with backoff. Windows COM ports are no files.
func portPresent(be serialBackend, port string) bool {
	if runtime.GOOS != "windows" {
		_, err := os.Stat(port)
		return err == nil
	}
	ps, err := be.Ports()
	if err != nil {
		return true // let Open say what is wrong
	}
	for _, p := range ps {
		if strings.EqualFold(p.Name, port) {
			return true
		}
	}
	return false
}

// serialDevices lists serial ports with their USB ids and profiles.
func serialDevices(be serialBackend) ([]Device, error) {
	ps, err := be.Ports()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	var ds []Device
	for _, p := range ps {
		d := Device{Kind: "serial", Path: p.Name, Product: p.Product, Manufacturer: p.Manufacturer, Interface: -1}
		if p.IsUSB {
			v, err1 := strconv.ParseUint(p.VID, 16, 16)
			pi, err2 := strconv.ParseUint(p.PID, 16, 16)
			if err1 == nil && err2 == nil {
				d.VID, d.PID = uint16(v), uint16(pi)
				d.Profile = drivers.Match(d.VID, d.PID)
			}
		}
		d.Mode = drivers.ModeSerial
		if d.Profile != nil && d.Profile.Mode == drivers.ModeCDC {
			d.Mode = drivers.ModeCDC
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// describeSerialErr turns the library's error codes into what a cashier's
// IT person can act on.
func describeSerialErr(err error) error {
	var pe *serial.PortError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code() {
	case serial.PortBusy:
		return fmt.Errorf("%w: another program has it open", err)
	case serial.PermissionDenied:
		if runtime.GOOS == "linux" {
			return fmt.Errorf("%w: install drivers/linux/99-posagent-scanners.rules or add the user to group dialout", err)
		}
	case serial.PortNotFound:
		return fmt.Errorf("%w: unplugged?", err)
	}
	return err
}

type serialSession struct {
	port serial.Port
	path string
	opts Options
}

func (s *serialSession) Close() error { return s.port.Close() }

func (s *serialSession) serve(ctx context.Context, p *pipeline, flush func() bool) error {
	// Closing the port is what unblocks a Read: go.bug.st/serial wakes
	// the reader through a pipe.
	stop := context.AfterFunc(ctx, func() { s.port.Close() })
	defer stop()
	buf := make([]byte, 512)
	for {
		// Wake up only when a frame is open and its gap may pass.
		timeout := serial.NoTimeout
		if w := p.fr.wait(); w > 0 {
			timeout = w
		}
		if err := s.port.SetReadTimeout(timeout); err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		n, err := s.port.Read(buf)
		now := s.opts.Clock.Now()
		switch {
		case n > 0:
			p.write(buf[:n], now)
		case err == nil:
			p.idle(now)
		}
		if !flush() || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read %s: %w", s.path, err)
		}
	}
}
