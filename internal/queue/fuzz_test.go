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

// A record with a subject is written in the second format and reads back
// whole; one without keeps the first.
func TestDecodeRecordSubject(t *testing.T) {
	want := record{Kind: "coupon", Key: "s-1", Payload: []byte{1}, Subject: event.Subject{SenceNo: "2026112200000001", TplID: "tplA", SerialNumber: "s-1"}}
	v := want.encode()
	if v[0] != recordV2 {
		t.Fatalf("format byte %d, want %d", v[0], recordV2)
	}
	if r, err := decodeRecord(1, v); err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("decode: %+v, %v; want %+v", r, err, want)
	}
	if _, err := decodeRecord(1, v[:len(v)-1]); err == nil {
		t.Fatal("a truncated subject decoded")
	}
	if v := (&record{Kind: "coupon"}).encode(); v[0] != recordV1 {
		t.Fatalf("a record without a subject has format byte %d, want %d", v[0], recordV1)
	}
}

// Records read back as written; damage is an error naming the job.
func TestDecodeRecord(t *testing.T) {
	want := record{Kind: "coupon", Key: "s-1", Payload: []byte{1, 2}, Attempts: 2, NextAt: 1, Deadline: 2, Created: -3, LastError: "x"}
	v := want.encode()
	for _, tc := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"binary", v, ""},
		{"truncated", v[:len(v)-1], "job 7: stored record unreadable: record ends early"},
		{"trailing bytes", append(slices.Clone(v), 0), "1 bytes after the last field"},
		{"unknown format", append([]byte{9}, v[1:]...), "does not start with format byte 1"},
		{"empty", nil, "it is 0 bytes"},
		{"not a record", []byte(`{"kind":"coupon"}`), "job 7: stored record unreadable: it is 17 bytes and does not start with format byte 1"},
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
