package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/config"
	"posagent/internal/event"
	"posagent/internal/queue"
	"posagent/internal/scanner"
)

const payPID = "2088702093900999"

var (
	student = alipaytest.User{UserID: "2088000000000001", School: &alipay.HSchoolInfo{SchoolStdCode: "4136013432", CampusNo: "2019021208"}, Authorised: true}
	plain   = alipaytest.User{UserID: "2088000000000002", Authorised: true}
	unauth  = alipaytest.User{UserID: "2088000000000003"}
)

const rules = `[
 {"match": {"school_std_code": "4136013432"}, "tpl_id": "tplCampus", "tpl_params": {"campus": "{campus_no}", "day": "{date}"}},
 {"match": {"any_user": true}, "tpl_id": "tplAny"}
]`

func newServer(t testing.TB) *alipaytest.Server {
	srv := alipaytest.NewServer()
	t.Cleanup(srv.Close)
	for _, u := range []alipaytest.User{student, plain, unauth} {
		srv.AddUser(u)
	}
	return srv
}

func testConfig(t testing.TB, srv *alipaytest.Server, dataDir string) *config.Config {
	var cs []config.CouponRule
	if err := json.Unmarshal([]byte(rules), &cs); err != nil {
		t.Fatal(err)
	}
	c := &config.Config{GatewayURL: srv.URL(), AppID: srv.AppID(), AppPrivateKey: "app.pem", AlipayPublicKey: "alipay.pem",
		PayPID: payPID, TerminalID: "till1", DataDir: dataDir, Scanner: config.Scanner{Kind: config.ScannerSim}, Coupons: cs,
		API: config.API{Listen: "127.0.0.1:0"}}
	c.SetDefaults()
	return c
}

// fastQueue retries within milliseconds, so that an outage's end shows at once.
var fastQueue = queue.Options{BaseDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxProbeDelay: 50 * time.Millisecond}

func newAgent(t testing.TB, srv *alipaytest.Server, dataDir string, sc scanner.Scanner, edit ...func(*config.Config)) *Agent {
	t.Helper()
	return newAgentOpts(t, srv, dataDir, sc, func(o *Options) {
		for _, e := range edit {
			e(o.Config)
		}
	})
}

// newAgentOpts is newAgent with the options edited before New.
func newAgentOpts(t testing.TB, srv *alipaytest.Server, dataDir string, sc scanner.Scanner, edit func(*Options)) *Agent {
	t.Helper()
	o := Options{Config: testConfig(t, srv, dataDir), Gateway: srv.Client(), Scanner: sc, Queue: fastQueue,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	edit(&o)
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// isGateway accepts gateway events of state.
func isGateway(state string) func(event.Event) bool {
	return func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == state }
}

// start runs a until the test ends; it returns the events from the start.
func start(t testing.TB, a *Agent) *watcher {
	w := &watcher{t: t, sub: a.Bus.Subscribe()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		a.Close()
	})
	return w
}

// feed is a scanner the test scans with, code by code.
type feed chan string

func (f feed) Run(ctx context.Context, out chan<- scanner.Event) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-f:
			e := scanner.Event{Kind: scanner.EventScan, Device: "test", Scan: scanner.Scan{Code: c, Source: "test", Time: time.Now()}}
			select {
			case out <- e:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// watcher reads the agent's events, remembering them.
type watcher struct {
	t    testing.TB
	sub  *event.Subscription
	seen []event.Event
}

const patience = 20 * time.Second

// until returns the first event from now on that ok accepts.
func (w *watcher) until(what string, ok func(event.Event) bool) event.Event {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for {
		e, err := w.sub.Next(ctx)
		if err != nil {
			w.t.Fatalf("waiting for %s: %v; events so far:\n%s", what, err, w.dump())
		}
		w.seen = append(w.seen, e)
		if ok(e) {
			return e
		}
	}
}

func (w *watcher) dump() string {
	var s string
	for _, e := range w.seen {
		line, _ := event.MarshalJSONLine(e)
		s += string(line) + "\n"
	}
	return s
}

// ended accepts the end of a decode: decoded or decode_failed.
func ended(e event.Event) bool {
	switch e.(type) {
	case event.Decoded, event.DecodeFailed:
		return true
	}
	return false
}

func isType(t event.Type) func(event.Event) bool {
	return func(e event.Event) bool { return e.Type() == t }
}

// reach waits until n of the events seen, before or from now on, are
// accepted by ok.
func (w *watcher) reach(what string, n int, ok func(event.Event) bool) {
	w.t.Helper()
	for w.count(ok) < n {
		w.until(what, ok)
	}
}

// bizOf returns a request's biz_content, also of requests a fault cut short.
func bizOf(r alipaytest.Request) map[string]any {
	if r.Biz != nil {
		return r.Biz
	}
	var m map[string]any
	json.Unmarshal([]byte(r.Params.Get("biz_content")), &m)
	return m
}

// count returns how many of the seen events ok accepts.
func (w *watcher) count(ok func(event.Event) bool) int {
	n := 0
	for _, e := range w.seen {
		if ok(e) {
			n++
		}
	}
	return n
}

// untilDead runs q until n of its jobs died, as sub (subscribed to q's
// events) reports, and returns their events.
func untilDead(t testing.TB, q *queue.Queue, sub *event.Subscription, n int) []event.Dead {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- q.Run(ctx) }()
	var dead []event.Dead
	for len(dead) < n {
		wait, cancel := context.WithTimeout(ctx, patience)
		e, err := sub.Next(wait)
		cancel()
		if err != nil {
			stop()
			t.Fatalf("waiting for %d dead jobs: %v; dead so far %v", n, err, dead)
		}
		if d, ok := e.(event.Dead); ok {
			dead = append(dead, d)
		}
	}
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	return dead
}
