package httpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds request bodies as a POS (or anything on the loopback)
// might send them: Decode either fills the value or answers a *BadRequest
// with a status and a message; it never panics. What it takes is UTF-8
// with every key once and exactly a field's name, and what it says names
// no Go type. testdata/fuzz/FuzzDecode holds the cases that got through
// before (case-folded and repeated keys, GBK bytes, arrays).
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
			if !utf8.Valid(body) {
				t.Fatalf("Decode took %q, which is not UTF-8", body)
			}
			if mangled(p) && !bytes.Contains(body, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
				t.Fatalf("Decode turned text of %q into U+FFFD: %+v", body, p)
			}
			if k := foreignKey(body); k != "" {
				t.Fatalf("Decode took %q with key %q, which is no field's name or a repeat", body, k)
			}
			return
		}
		var br *BadRequest
		if !errors.As(err, &br) || br.Msg == "" || br.Status < 400 || br.Status > 499 {
			t.Fatalf("Decode(%q) = %v, want a *BadRequest with a 4xx status and a message", body, err)
		}
		if strings.Contains(br.Msg, "httpjson.") {
			t.Fatalf("Decode(%q) says %q: a Go type name", body, br.Msg)
		}
	})
}

// mangled says whether a decoded string holds U+FFFD, encoding/json's
// stand-in for what it could not read.
func mangled(p payment) bool {
	s := p.SenceNo + p.Amount + p.Note
	if p.Payer != nil {
		s += p.Payer.Name
	}
	for _, it := range p.Items {
		s += it.SKU
	}
	return strings.ContainsRune(s, utf8.RuneError)
}

// foreignKey is a top-level key of body that is not one of payment's JSON
// names, or one that appears twice; "" when there is none. It reads the
// keys with a map of raw messages, independently of Decode's own walk.
func foreignKey(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	names := map[string]bool{"sence_no": true, "total_amount": true, "count": true, "payer": true, "items": true, "extra": true, "at": true, "note": true}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key := tok.(string)
		if !names[key] || seen[key] {
			return key
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}
