package scanner

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzFramer feeds arbitrary bytes, cut at arbitrary places, through the
// framer and validation. Whatever comes in: no panic, the buffer never
// grows, every scan is a valid payment code taken from the input, and how
// the bytes were cut into reads changes nothing.
func FuzzFramer(f *testing.F) {
	f.Add([]byte(code1+"\r"), uint8(3), uint8(0))
	f.Add([]byte("]Q1"+code1+"\r\n"+code2+"\t"), uint8(5), uint8(1))
	f.Add([]byte("\x00\x1b[A~~\r2812"), uint8(1), uint8(2))
	f.Add(bytes.Repeat([]byte("9"), 300), uint8(7), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, cut uint8, term uint8) {
		o := Options{Terminator: []string{"CR", "LF", "CRLF", "TAB", "none"}[term%5], MaxLength: 40, Prefix: "P:", Suffix: "S"}.withDefaults()
		run := func(step int) []Event {
			var got []Event
			p, err := newPipeline("fuzz", "dev", o, func(e Event) { got = append(got, e) })
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(in); i += step {
				p.write(in[i:min(i+step, len(in))], epoch)
			}
			p.idle(epoch.Add(time.Hour))
			if cap(p.fr.buf) != o.MaxLength {
				t.Fatalf("buffer grew to %d", cap(p.fr.buf))
			}
			return got
		}
		whole := run(len(in) + 1)
		pieces := run(int(cut%16) + 1)
		if brief(whole) != brief(pieces) {
			t.Fatalf("cutting the input changed the result:\n whole  %q\n pieces %q", brief(whole), brief(pieces))
		}
		for _, e := range whole {
			if e.Kind != EventScan {
				continue
			}
			if err := checkCode(e.Scan.Code); err != nil {
				t.Fatalf("emitted %q: %v", e.Scan.Code, err)
			}
			if !bytes.Contains(in, []byte(e.Scan.Code)) {
				t.Fatalf("emitted %q, which is not in the input", e.Scan.Code)
			}
		}
	})
}

// FuzzKeyboardReports decodes arbitrary bytes as a stream of boot reports.
// It must not panic, must produce valid UTF-8, and can type at most one
// character per key slot.
func FuzzKeyboardReports(f *testing.F) {
	for _, rec := range []string{"kbd-us-doubled-shift", "kbd-keypad-reportid", "kbd-fr-azerty"} {
		r := readRecording(f, "testdata/hid/"+rec+".hidrec")
		var all []byte
		for _, e := range r.events {
			all = append(all, e.data...)
		}
		f.Add(all, uint8(len(r.events[0].data)), rec == "kbd-fr-azerty")
	}
	f.Fuzz(func(t *testing.T, in []byte, size uint8, fr bool) {
		layout := "us"
		if fr {
			layout = "fr"
		}
		d, err := newKeyboardDecoder(layout)
		if err != nil {
			t.Fatal(err)
		}
		n := int(size%10) + 1
		var out []byte
		slots := 0
		for i := 0; i < len(in); i += n {
			r := in[i:min(i+n, len(in))]
			if out, err = d.decode(r, out); err == nil {
				slots += 6
			}
		}
		if !utf8.Valid(out) {
			t.Fatalf("typed invalid UTF-8 %q", out)
		}
		if c := utf8.RuneCount(out); c > slots {
			t.Fatalf("typed %d characters from %d key slots", c, slots)
		}
	})
}

// FuzzPOSReports decodes arbitrary bytes as HID POS reports. It must not
// panic, must not grow its buffer, and a code can hold no more bytes than
// the reports declared.
func FuzzPOSReports(f *testing.F) {
	for _, rec := range []string{"pos-split", "pos-noise"} {
		r := readRecording(f, "testdata/hid/"+rec+".hidrec")
		var all []byte
		for _, e := range r.events {
			all = append(all, e.data...)
		}
		f.Add(all, uint8(64))
	}
	f.Add([]byte{2, 3, ']', 'C', '0', '1', '2', '3'}, uint8(8))
	f.Fuzz(func(t *testing.T, in []byte, size uint8) {
		const max = 32
		d := newPOSDecoder(max)
		n := int(size%70) + 1
		declared := 0
		for i := 0; i < len(in); i += n {
			r := in[i:min(i+n, len(in))]
			if len(r) >= posHeader && r[0] == posReportID {
				declared += int(r[1])
			}
			c, ok, err := d.decode(r)
			if err != nil || !ok {
				continue
			}
			if len(c.data) > max || len(c.data) > c.n || c.n > declared {
				t.Fatalf("code of %d bytes (n=%d) from %d declared", len(c.data), c.n, declared)
			}
			if c.tooLong != (c.n > max) {
				t.Fatalf("tooLong=%v with n=%d", c.tooLong, c.n)
			}
			declared = 0
		}
		if cap(d.buf) != max {
			t.Fatalf("buffer grew to %d", cap(d.buf))
		}
	})
}
