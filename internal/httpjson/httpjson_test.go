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
	SenceNo string         `json:"sence_no"`
	Amount  string         `json:"total_amount"`
	Count   int            `json:"count"`
	Payer   *payer         `json:"payer,omitempty"`
	Items   []item         `json:"items,omitempty"`
	Extra   map[string]any `json:"extra,omitempty"`
	At      *Time          `json:"at,omitempty"`
	Hidden  string         `json:"-"`
	embedded
}

type payer struct {
	Name string `json:"name"`
}

type item struct {
	SKU string `json:"sku"`
}

type embedded struct {
	Note string `json:"note,omitempty"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body, ctype string
		status            int
		names             string // in the error message
	}{
		{"ok", `{"sence_no":"s1","total_amount":"1.00"}`, "application/json", 0, ""},
		{"nested to the limit", `{"sence_no":"s1","extra":{"a":` + strings.Repeat("[", MaxDepth-2) + strings.Repeat("]", MaxDepth-2) + `}}`, "application/json", 0, ""},
		{"nested too deep", `{"sence_no":"s1","extra":{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}}`, "application/json", 400, "deeper than 32 levels"},
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
		{"too big", `{"sence_no":"` + strings.Repeat("x", 400) + `"}`, "application/json", 413, "over 300 bytes"},
		{"form", `a=b`, "application/x-www-form-urlencoded", 415, "application/json"},

		// Keys are matched exactly and once, at every depth: encoding/json
		// alone takes TOTAL_AMOUNT for total_amount and the last of two.
		{"all exact", `{"sence_no":"s1","payer":{"name":"a"},"items":[{"sku":"x"}],"extra":{"A":1,"a":2},"at":"2026-12-03T07:26:09.929Z","note":"n"}`, "application/json", 0, ""},
		{"case differs", `{"Sence_No":"s1"}`, "application/json", 400, `unknown field "Sence_No": field names are case-sensitive, this one is "sence_no"`},
		{"upper-case twin", `{"sence_no":"s1","total_amount":"1.00","TOTAL_AMOUNT":"900.00"}`, "application/json", 400, `unknown field "TOTAL_AMOUNT"`},
		{"folded letter", `{"ſence_no":"s1"}`, "application/json", 400, `unknown field "ſence_no"`},
		{"repeated key", `{"sence_no":"s1","total_amount":"1.00","total_amount":"900.00"}`, "application/json", 400, `field "total_amount" appears twice`},
		{"nested case", `{"sence_no":"s1","payer":{"NAME":"a"}}`, "application/json", 400, `unknown field "payer.NAME"`},
		{"nested repeat", `{"sence_no":"s1","payer":{"name":"a","name":"b"}}`, "application/json", 400, `field "payer.name" appears twice`},
		{"in an array", `{"sence_no":"s1","items":[{"sku":"a"},{"Sku":"b"}]}`, "application/json", 400, `unknown field "items[1].Sku"`},
		{"repeat in a map", `{"sence_no":"s1","extra":{"a":{"b":1,"b":2}}}`, "application/json", 400, `field "extra.a.b" appears twice`},
		{"repeat in a time", `{"sence_no":"s1","at":{"x":1,"x":2}}`, "application/json", 400, `field "at.x" appears twice`},
		{"dash field", `{"sence_no":"s1","-":"x"}`, "application/json", 400, `unknown field "-"`},
		{"go name", `{"sence_no":"s1","Hidden":"x"}`, "application/json", 400, `unknown field "Hidden"`},
		{"nested type", `{"sence_no":"s1","payer":{"name":1}}`, "application/json", 400, "payer.name: want a JSON string, got JSON number"},

		// Text is UTF-8 or refused, never mangled to U+FFFD.
		{"gbk bytes", "{\"sence_no\":\"\xcf\xfa\xca\xdb\"}", "application/json", 400, "not valid UTF-8 (at byte 13)"},
		{"gbk charset", `{"sence_no":"s1"}`, "application/json; charset=GBK", 415, `charset "GBK": only UTF-8 JSON is taken`},
		{"lone high surrogate", `{"sence_no":"\ud800"}`, "application/json", 400, "byte 13 is half of a UTF-16 surrogate pair"},
		{"lone low surrogate", `{"sence_no":"s1","total_amount":"x\udc00"}`, "application/json", 400, "half of a UTF-16 surrogate pair"},
		{"high then no low", `{"sence_no":"\ud83d\u0041"}`, "application/json", 400, "half of a UTF-16 surrogate pair"},
		{"pairs and escaped backslashes", `{"sence_no":"s1","total_amount":"\ud83d\ude00 \u00e9 \\ud800 \""}`, "application/json", 0, ""},
		{"utf8 spelled short", `{"sence_no":"s1"}`, "application/json; charset=utf8", 0, ""},

		// No Go type names in what a POS developer reads.
		{"array body", `[{"sence_no":"s1"}]`, "application/json", 400, "body: want a JSON object, got JSON array"},
		{"string body", `"s1"`, "application/json", 400, "body: want a JSON object, got JSON string"},
		{"whitespace only", " \n ", "application/json", 400, "empty"},
		{"trailing garbage", `{"sence_no":"s1"} x`, "application/json", 400, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			w := httptest.NewRecorder()
			var p payment
			ok := DecodeOrFail(w, r, &p, 300)
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
			if strings.Contains(eb.Error.Message, "httpjson.") || strings.Contains(eb.Error.Message, "map[") {
				t.Errorf("message %q shows a Go type", eb.Error.Message)
			}
		})
	}
}

// A body of nothing but open brackets, as large as a body may be, is
// refused at the depth limit, without walking the rest.
func TestDeepBodyRefusedAtTheLimit(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"extra":`+strings.Repeat("[", MaxBody-20)))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	var p payment
	if DecodeOrFail(w, r, &p, 0) || w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "deeper than") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// BenchmarkDeepBody is the cost of refusing the deepest body a client can
// send (64 KiB of open brackets); it was 18 s of CPU before the depth limit.
func BenchmarkDeepBody(b *testing.B) {
	body := `{"extra":` + strings.Repeat("[", MaxBody-20)
	for b.Loop() {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var p payment
		DecodeOrFail(httptest.NewRecorder(), r, &p, 0)
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
