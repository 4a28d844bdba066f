package scanner

import (
	"path/filepath"
	"strconv"
	"testing"

	"posagent/internal/event"
)

// TestRecordings replays each recording through its decoder and the
// pipeline, and compares with what the recording's comments expect.
func TestRecordings(t *testing.T) {
	files, _ := filepath.Glob("testdata/hid/*.hidrec")
	if len(files) < 5 {
		t.Fatalf("found %d recordings", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rec := readRecording(t, f)
			var got []Event
			p, err := newPipeline("hid", "dev", Options{Layout: rec.meta["layout"]}.withDefaults(), func(e Event) { got = append(got, e) })
			if err != nil {
				t.Fatal(err)
			}
			var text []byte
			if rec.isPOS() {
				dec := newPOSDecoder(DefaultMaxLength)
				for _, r := range rec.events {
					c, ok, err := dec.decode(r.data)
					if err != nil {
						p.reject(nil, event.RejectDevice, err.Error(), epoch.Add(r.at))
					} else if ok {
						p.whole(c, epoch.Add(r.at))
					}
				}
			} else {
				dec, err := newKeyboardDecoder(rec.meta["layout"])
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rec.events {
					n := len(text)
					if text, err = dec.decode(r.data, text); err != nil {
						t.Fatalf("report at %v: %v", r.at, err)
					}
					p.write(text[n:], epoch.Add(r.at))
				}
				want, err := strconv.Unquote(`"` + rec.meta["text"] + `"`)
				if err != nil {
					t.Fatalf("text: %v", err)
				}
				if string(text) != want {
					t.Errorf("typed %q, want %q", text, want)
				}
			}
			if b := brief(got); b != rec.meta["want"] {
				t.Errorf("events\n got %q\nwant %q", b, rec.meta["want"])
			}
		})
	}
}

func kreport(mod byte, keys ...byte) []byte {
	r := make([]byte, 8)
	r[0] = mod
	copy(r[2:], keys)
	return r
}

func TestKeyboardDecoder(t *testing.T) {
	tests := []struct {
		name    string
		layout  string
		reports [][]byte
		want    string
	}{
		{"press and release", "us", [][]byte{kreport(0, 0x1f), kreport(0)}, "2"},
		{"held key is one character", "us", [][]byte{kreport(0, 0x1f), kreport(0, 0x1f), kreport(0, 0x1f)}, "2"},
		{"repeat needs a release", "us", [][]byte{kreport(0, 0x1e), kreport(0), kreport(0, 0x1e), kreport(0)}, "11"},
		{"new key beside a held one", "us", [][]byte{kreport(0, 0x1e), kreport(0, 0x1e, 0x1f), kreport(0, 0x1f, 0x1e, 0x20)}, "123"},
		{"left shift", "us", [][]byte{kreport(0x02, 0x04)}, "A"},
		{"right shift", "us", [][]byte{kreport(0x20, 0x1e)}, "!"},
		{"rollover ignored", "us", [][]byte{kreport(0, 0x1e), kreport(0, 1, 1, 1, 1, 1, 1), kreport(0, 0x1e), kreport(0, 0x1f)}, "12"},
		{"rollover does not forget held keys", "us", [][]byte{kreport(0), kreport(0, 1, 1, 1, 1, 1, 1), kreport(0, 0x1e)}, "1"},
		{"keypad", "us", [][]byte{kreport(0, 0x59), kreport(0, 0x62), kreport(0, 0x58)}, "10\r"},
		{"enter and tab", "us", [][]byte{kreport(0, 0x28), kreport(0, 0x2b)}, "\r\t"},
		{"ctrl+M is CR, ctrl+B is STX", "us", [][]byte{kreport(0x01, 0x10), kreport(0x10, 0x05)}, "\r\x02"},
		{"altgr types nothing", "us", [][]byte{kreport(0x40, 0x1f)}, ""},
		{"report id", "us", [][]byte{append([]byte{1}, kreport(0, 0x20)...)}, "3"},
		{"unknown key", "us", [][]byte{kreport(0, 0xe0), kreport(0, 0x90)}, ""},
		{"azerty digits need shift", "fr", [][]byte{kreport(0, 0x1e), kreport(0), kreport(0x02, 0x1e), kreport(0), kreport(0, 0x1f), kreport(0x02), kreport(0x02, 0x1f), kreport(0x02, 0x27)}, "&1é20"},
		{"azerty letters", "fr", [][]byte{kreport(0, 0x04), kreport(0, 0x14), kreport(0, 0x1a), kreport(0, 0x33), kreport(0x02, 0x10)}, "qazm?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := newKeyboardDecoder(tt.layout)
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			for _, r := range tt.reports {
				if out, err = d.decode(r, out); err != nil {
					t.Fatal(err)
				}
			}
			if string(out) != tt.want {
				t.Fatalf("typed %q, want %q", out, tt.want)
			}
		})
	}
}

func TestKeyboardDecoderRejects(t *testing.T) {
	d, _ := newKeyboardDecoder("us")
	for _, r := range [][]byte{{}, {0, 0}, make([]byte, 10)} {
		if _, err := d.decode(r, nil); err == nil {
			t.Errorf("report of %d bytes accepted", len(r))
		}
	}
	if _, err := newKeyboardDecoder("dvorak"); err == nil {
		t.Error("unknown layout accepted")
	}
}

func TestPOSDecoderTooLong(t *testing.T) {
	d := newPOSDecoder(20)
	r := make([]byte, 64)
	r[0], r[1], r[63] = posReportID, 15, posFlagMore
	for i := range 15 {
		r[5+i] = '2'
	}
	if _, ok, err := d.decode(r); ok || err != nil {
		t.Fatalf("first half: ok=%v err=%v", ok, err)
	}
	r[63] = 0
	c, ok, err := d.decode(r)
	if !ok || err != nil || !c.tooLong || c.n != 30 || len(c.data) != 20 {
		t.Fatalf("got %+v ok=%v err=%v, want a too-long code of 30 bytes keeping 20", c, ok, err)
	}
	if cap(d.buf) != 20 {
		t.Fatalf("buffer grew to %d", cap(d.buf))
	}
}
