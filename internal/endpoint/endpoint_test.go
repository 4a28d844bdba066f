package endpoint

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://openapi.alipay.com/gateway.do", true},
		{"https://shop.example/coupons", true},
		{"http://127.0.0.1:8080/gateway.do", true},
		{"http://127.9.9.9/x", true},
		{"http://[::1]:9/x", true},
		{"http://localhost:9/x", true},
		{"http://openapi.alipay.com/gateway.do", false},
		{"http://10.0.0.5/coupons", false},
		{"http://localhost.evil.example/x", false},
		{"ftp://127.0.0.1/x", false},
		{"https://", false},
		{"::", false},
	} {
		if err := Check(tc.url); (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

// A 307 or 308 is never followed, whatever its Location: the error names it
// and the target never sees the body.
func TestClientFollowsNoRedirect(t *testing.T) {
	var reposted []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reposted = append(reposted, string(b))
	}))
	defer target.Close()
	for _, status := range []int{301, 302, 303, 307, 308} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/stolen", status)
		}))
		resp, err := Client(http.DefaultClient).Post(redirector.URL, "text/plain", strings.NewReader("dynamic_id=286861260475412123"))
		redirector.Close()
		if err == nil {
			resp.Body.Close()
			t.Errorf("HTTP %d: the redirect was followed (or answered)", status)
			continue
		}
		if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), target.URL+"/stolen") {
			t.Errorf("HTTP %d: %v, want ErrRedirect naming %s/stolen", status, err, target.URL)
		}
	}
	if len(reposted) > 0 {
		t.Errorf("the redirect target got %q", reposted)
	}
}
