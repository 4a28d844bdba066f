package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"posagent/internal/api"
	"posagent/internal/config"
	"posagent/internal/coupon"
	"posagent/internal/event"
	"posagent/internal/queue"
)

// apiClient talks to a running agent's API as the POS software would: the
// URL and token file from the started event.
type apiClient struct {
	t     testing.TB
	url   string
	token string
}

func newAPIClient(t testing.TB, started event.Started) *apiClient {
	t.Helper()
	fi, err := os.Stat(started.APITokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %q: %v, %v; want mode 0600", started.APITokenFile, fi, err)
	}
	tok, err := os.ReadFile(started.APITokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(started.APIURL, "http://127.0.0.1:") {
		t.Fatalf("api_url %q", started.APIURL)
	}
	return &apiClient{t: t, url: started.APIURL, token: strings.TrimSpace(string(tok))}
}

func (c *apiClient) do(method, path, body string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// A code entered through the API goes through the ledger and the decode
// flow like a scanned one; an SSE client sees its events, joined by
// sence_no, with the full user_id.
func TestManualScanEndToEnd(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), make(feed))
	w := start(t, a)
	c := newAPIClient(t, w.until("started", isType(event.TypeStarted)).(event.Started))

	req, _ := http.NewRequest("GET", c.url+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/events: %v %v", resp, err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lines <- d
			}
		}
		close(lines)
	}()

	if st, body := c.do("POST", "/v1/scans", `{"code":"12ab"}`); st != 400 || !strings.Contains(string(body), "not an Alipay payment code") {
		t.Errorf("malformed code: %d %s", st, body)
	}
	code := srv.IssueCode(student.UserID)
	st, body := c.do("POST", "/v1/scans", `{"code":"`+code+`"}`)
	var acc api.ScanAccepted
	if st != 202 || json.Unmarshal(body, &acc) != nil || acc.SenceNo == "" || acc.Source != "api" {
		t.Fatalf("POST /v1/scans: %d %s", st, body)
	}
	var seen []map[string]any
	deadline := time.After(patience)
	for done := false; !done; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			var m map[string]any
			json.Unmarshal([]byte(l), &m)
			if m["type"] == "started" || m["type"] == "gateway" {
				// started: the hub may pass it on after the stream
				// attached; gateway: the gateway's health, whose first
				// answer this was.
				continue
			}
			seen = append(seen, m)
			done = m["type"] == "decoded"
		case <-deadline:
			t.Fatalf("no decoded event on the stream; got %v", seen)
		}
	}
	var types []string
	for _, m := range seen {
		types = append(types, m["type"].(string))
		if m["sence_no"] != acc.SenceNo {
			t.Errorf("%s event with sence_no %v, want %s", m["type"], m["sence_no"], acc.SenceNo)
		}
	}
	if strings.Join(types, ",") != "scan,decoding,decoded" {
		t.Errorf("events %v", types)
	}
	if seen[0]["source"] != "api" || seen[2]["user_id"] != student.UserID {
		t.Errorf("scan %v, decoded %v", seen[0], seen[2])
	}
	// The same code again: the same sence_no (the ledger).
	if st, body := c.do("POST", "/v1/scans", `{"code":"`+code+`"}`); st != 202 || !strings.Contains(string(body), acc.SenceNo) {
		t.Errorf("rescan: %d %s, want sence_no %s", st, body, acc.SenceNo)
	}
}

// posagent queue retry|drop reach the running agent through its API; at a
// clean stop the endpoint file is gone.
func TestQueueChangeThroughAPI(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	a := newAgent(t, srv, dir, make(feed))
	w := start(t, a)
	w.until("started", isType(event.TypeStarted))
	// An unreadable coupon job dies at its first run.
	j, err := a.Queue.Enqueue(context.Background(), queue.Job{Kind: coupon.JobKind, Key: "bad", Payload: []byte("{")})
	if err != nil {
		t.Fatal(err)
	}
	w.until("dead", isType(event.TypeDead))
	// The listing goes through the API while the agent holds the database,
	// also from a demo's --data directory (the data is in its data/).
	parent := filepath.Dir(dir)
	if got := DataDir(parent); got != parent {
		t.Errorf("DataDir(%s) = %s: not a demo directory", parent, got)
	}
	demo := t.TempDir()
	if err := os.Symlink(dir, filepath.Join(demo, "data")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, DataDir(demo)} {
		var list bytes.Buffer
		if err := ListQueue(context.Background(), &list, d); err != nil {
			t.Fatalf("list in %s while the agent runs: %v", d, err)
		}
		if got := list.String(); !strings.Contains(got, "dead   "+j.ID+"   coupon  bad") || !strings.Contains(got, "0 pending, 1 dead") {
			t.Errorf("list in %s:\n%s", d, got)
		}
	}
	var out bytes.Buffer
	if err := QueueChange(context.Background(), &out, dir, "retry", "abc"); err == nil || !strings.Contains(err.Error(), `job id "abc" is not a job id`) {
		t.Errorf("retry abc: %v", err)
	}
	if err := QueueChange(context.Background(), &out, dir, "retry", j.ID); err != nil {
		t.Fatalf("retry: %v", err)
	}
	w.until("dead again", isType(event.TypeDead))
	if err := QueueChange(context.Background(), &out, dir, "drop", j.ID); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if p, d, _ := a.Queue.Stats(); p != 0 || d != 0 {
		t.Errorf("after drop: %d pending, %d dead", p, d)
	}
	err = QueueChange(context.Background(), &out, dir, "drop", j.ID)
	if err == nil || !strings.Contains(err.Error(), "no such job") {
		t.Errorf("dropping again: %v", err)
	}
	if got := out.String(); got != "job "+j.ID+": put back in line\njob "+j.ID+": dropped\n" {
		t.Errorf("output %q", got)
	}
}

func TestEndpointFileLife(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	a := newAgent(t, srv, dir, make(feed))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sub := a.Bus.Subscribe()
	go func() { done <- a.Run(ctx) }()
	if e, _ := sub.Next(ctx); e.Type() != event.TypeStarted {
		t.Fatalf("first event %s", e.Type())
	}
	e, tok, err := api.ReadEndpoint(dir)
	if err != nil || e.URL != a.API.URL() || len(tok) != 64 || e.TokenFile != filepath.Join(dir, api.TokenFile) {
		t.Fatalf("endpoint %+v, %v", e, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a.Close()
	if _, err := os.Stat(filepath.Join(dir, api.EndpointFile)); !os.IsNotExist(err) {
		t.Errorf("endpoint file after a clean stop: %v", err)
	}
	if err := QueueChange(context.Background(), &bytes.Buffer{}, dir, "drop", "1"); err == nil || !strings.Contains(err.Error(), "no running posagent") {
		t.Errorf("queue drop with no agent: %v", err)
	}
}

func TestAPIOff(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	a := newAgent(t, srv, dir, make(feed), func(c *config.Config) { c.API.Listen = config.APIOff })
	w := start(t, a)
	st := w.until("started", isType(event.TypeStarted)).(event.Started)
	if a.API != nil || st.APIURL != "" || st.APITokenFile != "" {
		t.Errorf("api off, yet %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, api.TokenFile)); !os.IsNotExist(err) {
		t.Errorf("a token file with the API off: %v", err)
	}
}

// An API request in progress when the agent stops finishes, and publishes,
// before stopping; a request that arrives while the agent stops is refused
// with 503 "stopping" and does nothing.
func TestStoppingAfterAPIRequestsInProgress(t *testing.T) {
	srv := newServer(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var bus *event.Bus
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/payments" {
			// The probes below, should they come before the agent stops.
			w.WriteHeader(http.StatusConflict)
			return
		}
		close(entered)
		<-release
		bus.Publish(event.Payment{Stamp: event.Stamp{Time: time.Now()}, OutTradeNo: "slow-1", State: "paying"})
		w.WriteHeader(http.StatusAccepted)
	})
	a := newAgentOpts(t, srv, t.TempDir(), make(feed), func(o *Options) { o.Payments = slow })
	bus = a.Bus
	sub := a.Bus.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	w := &watcher{t: t, sub: sub}
	c := newAPIClient(t, w.until("started", isType(event.TypeStarted)).(event.Started))

	answered := make(chan int, 1)
	go func() {
		st, _ := c.do("POST", "/v1/payments", `{}`)
		answered <- st
	}()
	<-entered
	cancel()
	// Released once a new request is refused, or, should the agent not
	// wait for requests in progress, once it has said stopping.
	stopped := make(chan struct{})
	go func() {
		defer close(release)
		for {
			select {
			case <-stopped:
				return
			default:
			}
			req, _ := http.NewRequest("POST", c.url+"/v1/payments/slow-1/cancel", nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // the API has closed
			}
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 503 && strings.Contains(body.String(), `"stopping"`) {
				return
			}
		}
	}()
	var types []event.Type
	for {
		e := w.until("stopping", func(event.Event) bool { return true })
		types = append(types, e.Type())
		if e.Type() == event.TypeStopping {
			close(stopped)
			break
		}
	}
	if st := <-answered; st != http.StatusAccepted {
		t.Errorf("the request in progress answered %d", st)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a.Close()
	if !slices.Contains(types, event.TypePayment) {
		t.Errorf("the request in progress published after stopping; events before stopping: %v", types)
	}
}
