package scanner

import (
	"testing"

	"go.bug.st/serial"

	"posagent/drivers"
)

func TestSerialMode(t *testing.T) {
	seven := &drivers.Profile{Serial: &drivers.SerialSettings{Baud: 38400, DataBits: 7, Parity: "even", StopBits: 2}}
	tests := []struct {
		name string
		baud int
		prof *drivers.Profile
		want serial.Mode
	}{
		{"default", 0, nil, serial.Mode{BaudRate: 9600, DataBits: 8}},
		{"config baud", 115200, nil, serial.Mode{BaudRate: 115200, DataBits: 8}},
		{"profile", 0, seven, serial.Mode{BaudRate: 38400, DataBits: 7, Parity: serial.EvenParity, StopBits: serial.TwoStopBits}},
		{"config baud over profile", 9600, seven, serial.Mode{BaudRate: 9600, DataBits: 7, Parity: serial.EvenParity, StopBits: serial.TwoStopBits}},
	}
	for _, tt := range tests {
		if got := *serialMode(tt.baud, tt.prof); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
