package httpjson

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type payment struct {
	SenceNo string `json:"sence_no"`
	Amount  string `json:"total_amount"`
	Count   int    `json:"count"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body, ctype string
		status            int
		names             string // in the error message
	}{
		{"ok", `{"sence_no":"s1","total_amount":"1.00"}`, "application/json", 0, ""},
		{"unknown field", `{"sence_no":"s1","amount":1}`, "application/json", 400, `"amount"`},
		{"wrong type", `{"count":"3"}`, "application/json", 400, "count"},
		{"json with charset", `{"sence_no":"s1"}`, "Application/JSON; charset=utf-8", 0, ""},
		{"no type", `{"sence_no":"s1"}`, "", 415, "Content-Type: application/json"},
		{"text/plain", `{"sence_no":"s1"}`, "text/plain", 415, "application/json"},
		{"json-ish", `{"sence_no":"s1"}`, "application/jsonp", 415, "application/json"},
		{"not json", `{sence_no:1}`, "application/json", 400, "not JSON"},
		{"empty", ``, "application/json", 400, "empty"},
		{"truncated", `{"sence_no":`, "application/json", 400, "middle"},
		{"two values", `{} {}`, "application/json", 400, "more than one"},
		{"too big", `{"sence_no":"` + strings.Repeat("x", 200) + `"}`, "application/json", 413, "over 100 bytes"},
		{"form", `a=b`, "application/x-www-form-urlencoded", 415, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			w := httptest.NewRecorder()
			var p payment
			ok := DecodeOrFail(w, r, &p, 100)
			if tt.status == 0 {
				if !ok || p.SenceNo != "s1" {
					t.Fatalf("refused: %s", w.Body)
				}
				return
			}
			if ok || w.Code != tt.status {
				t.Fatalf("status %d ok=%v, want %d: %s", w.Code, ok, tt.status, w.Body)
			}
			var eb ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code != "bad_request" {
				t.Fatalf("error body %s (%v)", w.Body, err)
			}
			if !strings.Contains(eb.Error.Message, tt.names) {
				t.Errorf("message %q does not name %q", eb.Error.Message, tt.names)
			}
		})
	}
}

func TestTime(t *testing.T) {
	at := time.Date(2026, 12, 3, 7, 26, 9, 929977700, time.UTC)
	b, err := json.Marshal(struct {
		At  Time  `json:"at"`
		Nil *Time `json:"nil"`
	}{At: Time{at}})
	if err != nil || string(b) != `{"at":"2026-12-03T07:26:09.929Z","nil":null}` {
		t.Fatalf("%s, %v", b, err)
	}
	var back struct{ At Time }
	if err := json.Unmarshal([]byte(`{"At":"2026-12-03T07:26:09.929Z"}`), &back); err != nil || !back.At.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("decoded %v, %v", back.At, err)
	}
}
