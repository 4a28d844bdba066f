package api

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"posagent/internal/event"
)

func TestAuth(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, tc := range []struct {
		name, path, auth string
		want             int
	}{
		{"no token", "/v1/status", "", 401},
		{"wrong token", "/v1/status", "Bearer wrong" + testToken, 401},
		{"short token", "/v1/status", "Bearer x", 401},
		{"not bearer", "/v1/status", "Basic " + testToken, 401},
		{"right token", "/v1/status", "Bearer " + testToken, 200},
		{"scheme case", "/v1/status", "bearer " + testToken, 200},
		{"metrics need it", "/metrics", "", 401},
		{"openapi needs it", "/v1/openapi.json", "", 401},
		{"queue needs it", "/v1/queue", "", 401},
		{"healthz without", "/healthz", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, h, body := ts.do(t, "GET", tc.path, "", "Authorization", tc.auth)
			if st != tc.want {
				t.Fatalf("%s: %d %s, want %d", tc.path, st, body, tc.want)
			}
			if st == 401 && (errorCode(body) != "unauthorized" || h.Get("WWW-Authenticate") == "") {
				t.Errorf("401 answer: %s, WWW-Authenticate %q", body, h.Get("WWW-Authenticate"))
			}
		})
	}
	// Nothing that changes the queue is reachable without the token.
	if st, _, _ := ts.do(t, "DELETE", "/v1/queue/1", "", "Authorization", ""); st != 401 {
		t.Errorf("DELETE without token: %d", st)
	}
}

func TestHostCheck(t *testing.T) {
	ts := newTestServer(t, nil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL(), "http://"))
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"[::1]:" + port, 200},
		{"localhost", 403}, // port 80: not this listener's
		{"127.0.0.1", 403},
		{"evil.example:" + port, 403},
		{"evil.example", 403},
		{"127.0.0.1.evil.example:" + port, 403},
		{"127.0.0.1:1", 403},
	} {
		t.Run(tc.host, func(t *testing.T) {
			st, _, body := ts.do(t, "GET", "/v1/status", "", "Host", tc.host)
			if st != tc.want {
				t.Fatalf("Host %s: %d %s, want %d", tc.host, st, body, tc.want)
			}
			if st == 403 && errorCode(body) != "forbidden_host" {
				t.Errorf("403 body %s", body)
			}
		})
	}
	// /healthz too: a rebinding page learns nothing.
	// On the scheme's default port a browser sends no port.
	for _, tc := range []struct {
		url, port, host string
		ok              bool
	}{
		{"http://127.0.0.1:80", "80", "127.0.0.1", true},
		{"https://127.0.0.1:443", "443", "localhost", true},
		{"https://127.0.0.1:443", "443", "127.0.0.1:443", true},
		{"http://127.0.0.1:443", "443", "127.0.0.1", false},
	} {
		s := &Server{url: tc.url, port: tc.port, hosts: listenerNames("127.0.0.1")}
		if got := s.hostAllowed(tc.host); got != tc.ok {
			t.Errorf("%s, Host %s: allowed %v, want %v", tc.url, tc.host, got, tc.ok)
		}
	}
	if st, _, _ := ts.do(t, "GET", "/healthz", "", "Host", "evil.example:"+port); st != 403 {
		t.Errorf("healthz with a foreign Host: %d", st)
	}
}

func TestCORS(t *testing.T) {
	const pos = "https://pos.example.com"
	ts := newTestServer(t, func(o *Options) { o.AllowOrigins = []string{pos} })
	t.Run("preflight allowed with private network", func(t *testing.T) {
		st, h, _ := ts.do(t, "OPTIONS", "/v1/payments", "", "Authorization", "", "Origin", pos,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type",
			"Access-Control-Request-Private-Network", "true")
		if st != 204 || h.Get("Access-Control-Allow-Origin") != pos || h.Get("Access-Control-Allow-Private-Network") != "true" ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("preflight: %d %v", st, h)
		}
	})
	t.Run("preflight without private network", func(t *testing.T) {
		_, h, _ := ts.do(t, "OPTIONS", "/v1/status", "", "Authorization", "", "Origin", pos, "Access-Control-Request-Method", "GET")
		if h.Get("Access-Control-Allow-Private-Network") != "" {
			t.Errorf("private network allowed unasked: %v", h)
		}
	})
	t.Run("preflight refused", func(t *testing.T) {
		for _, o := range []string{"http://evil.example", "https://pos.example.com.evil.example", "null", "http://pos.example.com"} {
			st, h, _ := ts.do(t, "OPTIONS", "/v1/status", "", "Authorization", "", "Origin", o,
				"Access-Control-Request-Method", "GET", "Access-Control-Request-Private-Network", "true")
			if st < 400 || h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Private-Network") != "" {
				t.Errorf("origin %s: %d %v", o, st, h)
			}
		}
	})
	t.Run("request allowed", func(t *testing.T) {
		st, h, _ := ts.do(t, "GET", "/v1/status", "", "Origin", pos)
		if st != 200 || h.Get("Access-Control-Allow-Origin") != pos || !slices.Contains(h.Values("Vary"), "Origin") {
			t.Errorf("request: %d %v", st, h)
		}
	})
	t.Run("request refused", func(t *testing.T) {
		st, h, body := ts.do(t, "GET", "/v1/status", "", "Origin", "http://evil.example")
		if st != 403 || h.Get("Access-Control-Allow-Origin") != "" || errorCode(body) != "forbidden_origin" {
			t.Errorf("request: %d %v %s", st, h, body)
		}
	})
}

func TestNoWildcardEverAnswered(t *testing.T) {
	ts := newTestServer(t, nil)
	_, h, _ := ts.do(t, "OPTIONS", "/v1/status", "", "Authorization", "", "Origin", "http://any.example", "Access-Control-Request-Method", "GET")
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no origins configured, yet %v", h)
	}
}

func TestNonLoopbackNeedsTLS(t *testing.T) {
	_, err := New(Options{Listen: "0.0.0.0:0", Token: testToken, Bus: event.NewBus()})
	if err == nil || !strings.Contains(err.Error(), "tls_cert") {
		t.Fatalf("New on 0.0.0.0 without TLS = %v, want an error naming tls_cert", err)
	}
	_, err = New(Options{Listen: "127.0.0.1:0", Token: "short", Bus: event.NewBus()})
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("New with a short token = %v", err)
	}
}

func TestTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", TokenFile)
	tok, err := LoadToken(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || len(tok) != 64 {
		t.Fatalf("token file: %v %v, token of %d characters", fi.Mode(), err, len(tok))
	}
	again, err := LoadToken(path)
	if err != nil || again != tok {
		t.Fatalf("second load: %q, %v; want the same token", again, err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadToken(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a token others may read: %v", err)
	}
}

func TestEndpointFile(t *testing.T) {
	dir := t.TempDir()
	tokPath := filepath.Join(dir, TokenFile)
	tok, _ := LoadToken(tokPath)
	if _, _, err := ReadEndpoint(dir); err == nil {
		t.Fatal("ReadEndpoint found an agent that is not running")
	}
	if err := WriteEndpoint(dir, Endpoint{URL: "http://127.0.0.1:1", TokenFile: tokPath, PID: 7}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, EndpointFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("endpoint file mode %v", fi.Mode())
	}
	e, got, err := ReadEndpoint(dir)
	if err != nil || got != tok || e.URL != "http://127.0.0.1:1" || e.PID != 7 {
		t.Fatalf("ReadEndpoint = %+v, %q, %v", e, got, err)
	}
	if err := RemoveEndpoint(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, EndpointFile)); !os.IsNotExist(err) {
		t.Errorf("endpoint file still there: %v", err)
	}
}

// Every path and method of openapi.json is served, and every route served
// is in it.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "patch", "delete":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	ts := newTestServer(t, func(o *Options) {
		o.Payments = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Payments", "1") })
	})
	served := map[string]bool{}
	for _, rt := range ts.Routes() {
		served[rt] = true
		if !documented[rt] {
			t.Errorf("route %s is served but not in openapi.json", rt)
		}
	}
	for rt := range documented {
		method, path, _ := strings.Cut(rt, " ")
		if strings.HasPrefix(path, "/v1/payments") {
			// Mounted: the payment handler must get it.
			p := strings.ReplaceAll(path, "{out_trade_no}", "T1")
			_, h, _ := ts.do(t, method, p, "")
			if h.Get("X-Payments") != "1" {
				t.Errorf("%s is documented but does not reach the payment handler", rt)
			}
			continue
		}
		if !served[rt] {
			t.Errorf("%s is in openapi.json but not served", rt)
		}
	}
	st, h, body := ts.do(t, "GET", "/v1/openapi.json", "")
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || body != string(OpenAPI()) {
		t.Errorf("GET /v1/openapi.json: %d %s", st, h.Get("Content-Type"))
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	ts := newTestServer(t, nil)
	if st, _, body := ts.do(t, "GET", "/v1/nothing", ""); st != 404 || errorCode(body) != "not_found" {
		t.Errorf("unknown route: %d %s", st, body)
	}
	if st, h, body := ts.do(t, "DELETE", "/v1/status", ""); st != 405 || errorCode(body) != "method_not_allowed" || h.Get("Allow") != "GET" {
		t.Errorf("wrong method: %d %v %s", st, h, body)
	}
}

func TestPaymentsUnavailableWithoutHandler(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, p := range []string{"/v1/payments", "/v1/payments/T1", "/v1/payments/T1/cancel"} {
		st, _, body := ts.do(t, "POST", p, `{}`)
		if st != 503 || errorCode(body) != "unavailable" {
			t.Errorf("POST %s: %d %s", p, st, body)
		}
	}
	if st, _, _ := ts.do(t, "POST", "/v1/payments", `{}`, "Authorization", ""); st != 401 {
		t.Errorf("payments without a token: %d", st)
	}
}

// The payment handler gets its requests behind the same checks, with the
// body capped.
func TestPaymentsMounted(t *testing.T) {
	var got []string
	ts := newTestServer(t, func(o *Options) {
		o.Payments = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 1<<20)
			n, err := r.Body.Read(buf)
			for err == nil {
				var m int
				m, err = r.Body.Read(buf[n:])
				n += m
			}
			got = append(got, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, n))
			w.WriteHeader(http.StatusAccepted)
		})
	})
	if st, _, _ := ts.do(t, "POST", "/v1/payments", `{"sence_no":"x"}`); st != 202 {
		t.Errorf("POST /v1/payments: %d", st)
	}
	if st, _, _ := ts.do(t, "GET", "/v1/payments/T1", "", "Host", "evil.example"); st != 403 {
		t.Errorf("foreign Host reached payments: %d", st)
	}
	ts.do(t, "POST", "/v1/payments", strings.Repeat(" ", 100<<10)+"{}")
	if len(got) != 2 || got[0] != "POST /v1/payments 16" || got[1] != "POST /v1/payments 65536" {
		t.Errorf("payment handler saw %q; want the second body cut at 64 KiB", got)
	}
}

func TestListenerNames(t *testing.T) {
	if n := listenerNames("192.168.1.5"); !n["192.168.1.5"] || !n["localhost"] || n["evil.example"] {
		t.Errorf("names for 192.168.1.5: %v", n)
	}
	if n := listenerNames("0.0.0.0"); n["0.0.0.0"] || !n["127.0.0.1"] {
		t.Errorf("names for every interface: %v", n)
	}
}
