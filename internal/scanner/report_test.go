package scanner

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestWriteReport(t *testing.T) {
	serialFail := errors.New("list serial ports: boom")
	devs := []Device{{Kind: "serial", Path: "/dev/ttyACM0"}}
	tests := []struct {
		name    string
		err     error
		wantErr error
		loud    bool
	}{
		{"all fine", nil, nil, false},
		{"no HID in this build", ErrHIDUnsupported, nil, true},
		{"no HID and serial failed", errors.Join(serialFail, ErrHIDUnsupported), serialFail, true},
		{"HID wrapped", errors.Join(errors.New("x: " + ErrHIDUnsupported.Error())), errors.New("x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := WriteReport(&b, devs, tt.err)
			if (err == nil) != (tt.wantErr == nil) || tt.wantErr == serialFail && !errors.Is(err, serialFail) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if got := strings.Contains(b.String(), "HID SUPPORT IS NOT BUILT IN"); got != tt.loud {
				t.Errorf("warning shown = %v, want %v:\n%s", got, tt.loud, b.String())
			}
			if !strings.Contains(b.String(), "/dev/ttyACM0") {
				t.Errorf("serial port not listed:\n%s", b.String())
			}
		})
	}
}
