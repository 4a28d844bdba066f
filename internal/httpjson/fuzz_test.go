package httpjson

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDecode feeds request bodies as a POS (or anything on the loopback)
// might send them: Decode either fills the value or answers a *BadRequest
// with a status and a message; it never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"sence_no":"s1","total_amount":"1.00","count":2}`,
		`{"sence_no":1}`, `{"amount":"1"}`, `{} {}`, `[]`, `null`, `{"sence_no":"\ud800"}`,
		`{"count":1e400}`, `{"sence_no":"` + string(make([]byte, 200)) + `"}`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var p payment
		err := Decode(httptest.NewRecorder(), r, &p, 256)
		if err == nil {
			if len(body) > 256 {
				t.Fatalf("a %d-byte body passed a 256-byte cap", len(body))
			}
			return
		}
		var br *BadRequest
		if !errors.As(err, &br) || br.Msg == "" || br.Status < 400 || br.Status > 499 {
			t.Fatalf("Decode(%q) = %v, want a *BadRequest with a 4xx status and a message", body, err)
		}
	})
}
