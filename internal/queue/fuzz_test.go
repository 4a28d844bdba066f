package queue

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"posagent/internal/event"
)

// Records and key references come back from a file that may be damaged:
// decoding must fail cleanly, never panic, and what decodes must survive a
// round trip.
func FuzzDecodeRecord(f *testing.F) {
	f.Add((&record{Kind: "coupon", Key: "s-1", Payload: []byte{1, 2}, Attempts: 2, NextAt: 1, Deadline: 2, LastError: "x"}).encode())
	f.Add((&record{Kind: "coupon", Key: "s-1", Subject: event.Subject{SenceNo: "s", TplID: "t", SerialNumber: "n"}}).encode())
	f.Add([]byte{recordV1, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(1, b)
		if err != nil {
			return
		}
		again, err := decodeRecord(1, r.encode())
		if err != nil || !reflect.DeepEqual(normal(again), normal(r)) {
			t.Fatalf("round trip of %+v gave %+v, %v", r, again, err)
		}
	})
}

// normal treats an empty payload and none alike: both encode as length 0.
func normal(r record) record {
	if len(r.Payload) == 0 {
		r.Payload = nil
	}
	return r
}

func FuzzDecodeKeyRef(f *testing.F) {
	f.Add(keyRef{id: 7, done: true, doneAt: 1e18, kind: "coupon"}.encode())
	f.Add(keyRef{id: 1}.encode())
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		ref, ok := decodeKeyRef(b)
		if !ok {
			if len(b) >= 17 {
				t.Fatalf("%d bytes refused", len(b))
			}
			return
		}
		if again, ok := decodeKeyRef(ref.encode()); !ok || again != ref {
			t.Fatalf("round trip of %+v gave %+v", ref, again)
		}
	})
}

// A record is written in the third format (subject and checksum) and
// reads back whole; one in the second format (a subject, no checksum), as
// versions before checksums wrote it, still reads.
func TestDecodeRecordSubject(t *testing.T) {
	want := record{Kind: "coupon", Key: "s-1", Payload: []byte{1}, Subject: event.Subject{SenceNo: "2026112200000001", TplID: "tplA", SerialNumber: "s-1"}}
	v := want.encode()
	if v[0] != recordV3 {
		t.Fatalf("format byte %d, want %d", v[0], recordV3)
	}
	if r, err := decodeRecord(1, v); err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("decode: %+v, %v; want %+v", r, err, want)
	}
	if _, err := decodeRecord(1, v[:len(v)-1]); err == nil {
		t.Fatal("a truncated record decoded")
	}
	v2 := append([]byte{recordV2}, v[1:len(v)-4]...)
	if r, err := decodeRecord(1, v2); err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("decode of format 2: %+v, %v; want %+v", r, err, want)
	}
	if _, err := decodeRecord(1, v2[:len(v2)-1]); err == nil {
		t.Fatal("a truncated subject decoded")
	}
}

// Records read back as written; damage is an error naming the job.
func TestDecodeRecord(t *testing.T) {
	want := record{Kind: "coupon", Key: "s-1", Payload: []byte{1, 2}, Attempts: 2, NextAt: 1, Deadline: 2, Created: -3, LastError: "x"}
	v := want.encode()
	// Format 1: no subject (three empty fields), no checksum.
	v1 := append([]byte{recordV1}, v[1:len(v)-4-3]...)
	for _, tc := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"binary", v, ""},
		{"version 1, no checksum", v1, ""},
		{"one bit flipped", flip(v, 20), "job 7: stored record damaged: checksum"},
		{"checksum flipped", flip(v, len(v)-1), "job 7: stored record damaged: checksum"},
		{"truncated", v[:len(v)-1], "job 7: stored record damaged: checksum"},
		{"truncated, version 1", v1[:len(v1)-1], "job 7: stored record unreadable: record ends early"},
		{"trailing bytes, version 1", append(slices.Clone(v1), 0), "1 bytes after the last field"},
		{"unknown format", append([]byte{9}, v[1:]...), "does not start with format byte 1, 2 or 3"},
		{"empty", nil, "it is 0 bytes"},
		{"not a record", []byte(`{"kind":"coupon"}`), "job 7: stored record unreadable: it is 17 bytes and does not start with format byte 1, 2 or 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeRecord(7, tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("decode: %+v, %v; want an error saying %q", r, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(r, want) {
				t.Fatalf("decode: %+v, %v; want %+v", r, err, want)
			}
		})
	}
}

// flip returns b with one bit of byte i changed.
func flip(b []byte, i int) []byte {
	b = slices.Clone(b)
	b[i] ^= 0x10
	return b
}
