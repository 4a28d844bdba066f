package scanner

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karalabe/hid"
)

// fakeHID is a device layer behind hidBackend: devices come and go, and
// reads are served from a channel of reports.
type fakeHID struct {
	t         testing.TB
	supported bool
	mu        sync.Mutex
	infos     []hid.DeviceInfo
	dev       *fakeDevice // the device Open hands out next
	opens     atomic.Int32
}

func (f *fakeHID) Supported() bool { return f.supported }

func (f *fakeHID) Enumerate(vid, pid uint16) ([]hid.DeviceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hid.DeviceInfo
	for _, i := range f.infos {
		if (vid == 0 || i.VendorID == vid) && (pid == 0 || i.ProductID == pid) {
			out = append(out, i)
		}
	}
	return out, nil
}

func (f *fakeHID) Open(info hid.DeviceInfo) (hidDevice, error) {
	f.opens.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dev == nil {
		return nil, errors.New("hidapi: failed to open device")
	}
	d := f.dev
	f.dev = nil
	d.opened = info
	return d, nil
}

// plug makes infos visible and dev the device that opens next.
func (f *fakeHID) plug(dev *fakeDevice, infos ...hid.DeviceInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.infos, f.dev = infos, dev
}

func (f *fakeHID) unplug() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.infos, f.dev = nil, nil
}

type fakeDevice struct {
	t       testing.TB
	reports chan []byte
	gone    chan struct{} // closed: the device was unplugged
	closed  chan struct{} // closed by Close
	reading chan struct{} // a token each time a read starts, if there is room
	inRead  atomic.Int32
	closes  atomic.Int32
	opened  hid.DeviceInfo
}

func newFakeDevice(t testing.TB) *fakeDevice {
	return &fakeDevice{t: t, reports: make(chan []byte, 64), gone: make(chan struct{}), closed: make(chan struct{}), reading: make(chan struct{}, 1)}
}

func (d *fakeDevice) ReadTimeout(b []byte, ms int) (int, error) {
	d.inRead.Add(1)
	defer d.inRead.Add(-1)
	select {
	case d.reading <- struct{}{}:
	default:
	}
	select {
	case <-d.closed:
		return 0, hid.ErrDeviceClosed
	default:
	}
	select {
	case r := <-d.reports:
		return copy(b, r), nil
	case <-d.gone:
		return 0, errors.New("hidapi: libusb_interrupt_transfer: LIBUSB_ERROR_NO_DEVICE")
	case <-time.After(time.Duration(ms) * time.Millisecond):
		return 0, nil
	}
}

// Close fails the test when a read is in progress: that is the crash
// hidapi has when one goroutine closes while another reads.
func (d *fakeDevice) Close() error {
	if d.inRead.Load() != 0 {
		d.t.Error("Close called while a Read was in progress")
	}
	if d.closes.Add(1) == 1 {
		close(d.closed)
	}
	return nil
}
