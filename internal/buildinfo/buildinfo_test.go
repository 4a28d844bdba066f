package buildinfo

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFill(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
		{Key: "CGO_ENABLED", Value: "1"},
	}}
	tests := []struct {
		name string
		in   Info
		want Info
	}{
		{"vcs stamp", Info{}, Info{Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-01T10:00:00Z", Modified: true, CGO: true}},
		{"ldflags win", Info{Version: "v1.2.0", Commit: "feed", Date: "2026-12-02"},
			Info{Version: "v1.2.0", Commit: "feed", Date: "2026-12-02", Modified: true, CGO: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			got.fill(bi)
			if got != tt.want {
				t.Errorf("fill = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestShortAndWrite(t *testing.T) {
	i := Info{Version: "dev", Commit: "0123456789abcdef", Modified: true, Go: "go1.26.0", Platform: "linux/amd64"}
	if got, want := i.Short(), "dev (0123456789ab+dirty)"; got != want {
		t.Errorf("Short = %q, want %q", got, want)
	}
	var b bytes.Buffer
	if err := i.Write(&b, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"posagent dev", "0123456789abcdef (with uncommitted changes)", "go1.26.0 linux/amd64", "hid:      NO"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Write lacks %q:\n%s", want, b.String())
		}
	}
}
