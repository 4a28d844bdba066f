package queue

import (
	"reflect"
	"testing"
)

// Records and key references come back from a file that may be damaged:
// decoding must fail cleanly, never panic, and what decodes must survive a
// round trip.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"kind":"coupon","key":"s-1","payload":"AQI=","attempts":2,"next_at":1,"deadline":2,"created":0,"last_error":"x"}`))
	f.Add([]byte(`{"kind":""}`))
	f.Add([]byte(`{"attempts":"2"}`))
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

// normal treats an empty payload and none alike, as JSON does.
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
