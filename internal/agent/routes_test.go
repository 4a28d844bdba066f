package agent

import (
	"encoding/json"
	"net/http"
	"testing"

	"posagent/internal/event"
	"posagent/internal/httpjson"
)

// Every answer under /v1/, also the payments' and for routes or methods
// that do not exist, is the API's JSON error; a 405 says what is allowed.
func TestUnknownRoutesAnswerJSON(t *testing.T) {
	a := newAgent(t, newServer(t), t.TempDir(), make(feed))
	w := start(t, a)
	c := newAPIClient(t, w.until("started", isType(event.TypeStarted)).(event.Started))
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1/nothing", 404, "not_found", ""},
		{"GET", "/v1/payments/P1/cancel/more", 404, "not_found", ""},
		{"GET", "/v1/payments/P1/refund", 404, "not_found", ""},
		{"GET", "/v1/payments/P1", 404, "not_found", ""}, // no such payment
		{"DELETE", "/v1/status", 405, "method_not_allowed", "GET"},
		{"DELETE", "/v1/payments", 405, "method_not_allowed", "GET, POST"},
		{"DELETE", "/v1/payments/P1", 405, "method_not_allowed", "GET"},
		{"GET", "/v1/payments/P1/cancel", 405, "method_not_allowed", "POST"},
		{"GET", "/v1/queue/5/retry", 405, "method_not_allowed", "POST"},
	} {
		req, _ := http.NewRequest(tc.method, c.url+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body httpjson.ErrorBody
		derr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || derr != nil || body.Error.Code != tc.code || body.Error.Message == "" {
			t.Errorf("%s %s: %d %+v (%v), want %d with JSON code %s", tc.method, tc.path, resp.StatusCode, body, derr, tc.status, tc.code)
		}
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}
