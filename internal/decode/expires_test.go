package decode

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"posagent/internal/event"
)

// The decoded event says when stage two refuses the code: the same
// deadline the code store keeps, written RFC 3339 with milliseconds.
func TestDecodedSaysWhenTheCodeExpires(t *testing.T) {
	h := newHarness(t)
	k := &keeper{codes: map[string]string{}, users: map[string]string{}, expires: map[string]time.Time{}, events: h.events}
	h.flow.c.Codes = k
	scanned := t0.Add(123 * time.Millisecond)
	id, err := h.flow.Scan(context.Background(), Scan{Code: code, Source: "sim", Time: scanned})
	if err != nil {
		t.Fatal(err)
	}
	var d event.Decoded
	for _, e := range h.events.All() {
		if e, ok := e.(event.Decoded); ok {
			d = e
		}
	}
	want := scanned.Add(DefaultCodeTTL)
	if !time.Time(d.CodeExpiresAt).Equal(want) || !k.expires[id.SenceNo].Equal(want) {
		t.Fatalf("code_expires_at %v, code store %v; want %v for both", time.Time(d.CodeExpiresAt), k.expires[id.SenceNo], want)
	}
	line, err := event.MarshalJSONLine(d)
	if err != nil {
		t.Fatal(err)
	}
	if w := `"code_expires_at":"` + want.Format("2006-01-02T15:04:05.000Z07:00") + `"`; !strings.Contains(string(line), w) {
		t.Errorf("%s lacks %s", line, w)
	}
	var back event.Decoded
	if err := json.Unmarshal(line, &back); err != nil || !time.Time(back.CodeExpiresAt).Equal(want) {
		t.Errorf("read back %v, %v", time.Time(back.CodeExpiresAt), err)
	}
}
