package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
)

func TestLoggerFormats(t *testing.T) {
	tests := []struct {
		format   string
		headless bool
		want     string // in the line
		wantErr  bool
	}{
		{LogText, true, `msg=start terminal_id=till1`, false},
		{"", true, `msg=start terminal_id=till1`, false},
		{LogJSON, true, `"msg":"start","terminal_id":"till1"`, false},
		{LogJSON, false, `"msg":"start","terminal_id":"till1"`, false},
		{"xml", true, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.format+map[bool]string{true: " headless", false: " tui"}[tt.headless], func(t *testing.T) {
			dir := t.TempDir()
			var stderr bytes.Buffer
			log, closer, err := Logger(tt.headless, dir, &stderr, tt.format)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.format) {
					t.Errorf("Logger(%q): %v, want an error naming it", tt.format, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Info("start", "terminal_id", "till1")
			closer.Close()
			got := stderr.String()
			if !tt.headless {
				b, err := os.ReadFile(filepath.Join(dir, LogFile))
				if err != nil {
					t.Fatal(err)
				}
				if stderr.Len() != 0 {
					t.Errorf("TUI mode wrote to stderr: %q", stderr.String())
				}
				got = string(b)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("log %q lacks %q", got, tt.want)
			}
			if tt.format == LogJSON && !json.Valid([]byte(strings.TrimSpace(got))) {
				t.Errorf("not a JSON line: %q", got)
			}
		})
	}
}

// records is a slog handler that hands each record to the test.
type records chan slog.Record

func (r records) Enabled(context.Context, slog.Level) bool        { return true }
func (r records) Handle(_ context.Context, rec slog.Record) error { r <- rec; return nil }
func (r records) WithAttrs([]slog.Attr) slog.Handler              { return r }
func (r records) WithGroup(string) slog.Handler                   { return r }

// next waits for the record with message msg and returns its attributes.
func (r records) next(t *testing.T, msg string) map[string]string {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case rec := <-r:
			if rec.Message != msg {
				continue
			}
			attrs := map[string]string{}
			rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
			return attrs
		case <-deadline:
			t.Fatalf("no %q logged", msg)
			return nil
		}
	}
}

// A run logs its start (build, configuration, till), the gateway going
// down and coming back, and its stop.
func TestRunLogs(t *testing.T) {
	srv := newServer(t)
	code := srv.IssueCode(plain.UserID)
	if err := srv.SetDown(true); err != nil {
		t.Fatal(err)
	}
	recs := make(records, 256)
	f := make(feed, 1)
	a := newAgentOpts(t, srv, t.TempDir(), f, func(o *Options) {
		o.Config.Coupons = nil
		o.ConfigPath = "/etc/posagent/posagent.json"
		o.Log = slog.New(recs)
	})
	w := &watcher{t: t, sub: a.Bus.Subscribe()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer a.Close()
	s := recs.next(t, "start")
	if s["terminal_id"] != "till1" || s["config"] != "/etc/posagent/posagent.json" || !strings.HasPrefix(s["version"], "v") {
		t.Errorf("start logged %v", s)
	}
	f <- code
	w.until("gateway down", isGateway(event.GatewayDown))
	recs.next(t, "gateway down")
	if err := srv.SetDown(false); err != nil {
		t.Fatal(err)
	}
	w.until("gateway up", isGateway(event.GatewayUp))
	recs.next(t, "gateway up")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recs.next(t, "stop")
}

// An app-pay order carries app_pay.notify_url, and is logged with who
// asked for it.
func TestStaffOrderNotifyURL(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), make(feed))
	defer a.Close()
	recs := make(records, 4)
	o := appPayOrders{a.Client, "https://shop.example.com/alipay/notify", slog.New(recs), "staff"}
	order, err := o.AppPayOrder(alipay.TradeAppPayRequest{TotalAmount: "9.90", Subject: "lunch", OutTradeNo: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(order)
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("notify_url") != "https://shop.example.com/alipay/notify" {
		t.Errorf("order's notify_url = %q", q.Get("notify_url"))
	}
	if l := recs.next(t, "staff: app-pay order"); l["out_trade_no"] != "T1" || l["notify_url"] != q.Get("notify_url") {
		t.Errorf("logged %v", l)
	}
}

// A till whose API port is taken fails to start with an error naming the
// address, and leaves its database closed (a second New can open it).
func TestNewFailsCleanlyOnBusyAPIPort(t *testing.T) {
	srv := newServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	client, err := alipay.NewClient(alipay.Config{GatewayURL: srv.URL(), AppID: srv.AppID(), PrivateKey: srv.AppKey(), AlipayPublicKey: srv.AlipayPublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Config: testConfig(t, srv, dir), Gateway: client, Scanner: make(feed), Log: slog.New(records(make(chan slog.Record, 64)))}
	o.Config.API.Listen = ln.Addr().String()
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("New with a busy API port: %v", err)
	}
	o.Config.API.Listen = "off"
	a, err := New(o)
	if err != nil {
		t.Fatalf("New after a failed New: %v", err)
	}
	a.Close()
}
