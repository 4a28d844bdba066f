package scanner

import (
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	hidOK := &fakeHID{supported: true}
	tests := []struct {
		name string
		c    Spec
		o    Options
		err  string // "" = opens
	}{
		{"sim", Spec{Kind: "sim"}, Options{}, ""},
		{"wedge", Spec{Kind: "wedge", Terminator: "TAB"}, Options{}, ""},
		{"serial by port", Spec{Kind: "serial", Port: "/dev/ttyACM0", Baud: 9600}, Options{}, ""},
		{"serial by ids", Spec{Kind: "serial", VID: "1A86", PID: "7523"}, Options{}, ""},
		{"serial with nothing", Spec{Kind: "serial"}, Options{}, "needs a port, or a vid and pid"},
		{"hid", Spec{Kind: "hid", VID: "05e0", PID: "1200"}, Options{hidAPI: hidOK}, ""},
		{"hid without ids", Spec{Kind: "hid"}, Options{hidAPI: hidOK}, "needs vid and pid"},
		{"hid bad layout", Spec{Kind: "hid", VID: "05e0", PID: "1200"}, Options{hidAPI: hidOK, Layout: "dvorak"}, `layout "dvorak"`},
		{"bad vid", Spec{Kind: "serial", VID: "05e", PID: "1200"}, Options{}, `vid "05e"`},
		{"bad pid", Spec{Kind: "hid", VID: "05e0", PID: "zzzz"}, Options{hidAPI: hidOK}, `pid "zzzz"`},
		{"bad terminator", Spec{Kind: "sim", Terminator: "ETX"}, Options{}, `terminator "ETX"`},
		{"option terminator wins", Spec{Kind: "sim", Terminator: "ETX"}, Options{Terminator: "LF"}, ""},
		{"unknown profile", Spec{Kind: "serial", Port: "COM3", Profile: "nope"}, Options{}, `profile "nope"`},
		{"known profile", Spec{Kind: "serial", Port: "COM3", Profile: "newland-cdc"}, Options{}, ""},
		{"unknown kind", Spec{Kind: "bluetooth"}, Options{}, `kind "bluetooth"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.c, tt.o)
			if tt.err == "" {
				if err != nil || s == nil {
					t.Fatalf("Open = %v, %v", s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Open error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

// The profile's terminator applies when the configuration leaves it empty.
func TestOpenProfileTerminator(t *testing.T) {
	s, err := Open(Spec{Kind: "sim", Profile: "newland-hidpos"}, Options{Clock: newAutoClock(), Script: []Step{{Code: code1}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := brief(collect(t, s, 2)); got != "connected | scan:"+code1 {
		t.Fatalf("got %q: a profile with terminator none ends codes with silence", got)
	}
}
