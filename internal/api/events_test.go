package api

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/event"
)

func ids(evs []sse) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.id)
	}
	return out
}

func seqs(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// waitClients waits until the hub has n stream clients.
func waitClients(t testing.TB, ts *testServer, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ts.metrics.clients.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d stream clients, want %d", ts.metrics.clients.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitSeq waits until the hub has seen the event seq.
func waitSeq(t testing.TB, ts *testServer, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ts.hub.status().lastSeq < seq {
		if time.Now().After(deadline) {
			t.Fatalf("hub at seq %d, want %d", ts.hub.status().lastSeq, seq)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStreamDeliversAndResumes(t *testing.T) {
	ts := newTestServer(t, nil)
	s := ts.stream(t, "")
	waitClients(t, ts, 1)
	for range 5 {
		ts.bus.Publish(event.Decoded{SenceNo: "S1", UserID: "2088000000000001", UserIDMasked: "2088********0001"})
	}
	evs := s.read(t, 5)
	if got := ids(evs); strings.Join(got, ",") != "1,2,3,4,5" {
		t.Fatalf("ids %v", got)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(evs[0].data), &m); err != nil || m["type"] != "decoded" || m["seq"] != 1.0 || m["user_id"] != "2088000000000001" {
		t.Errorf("data %s (%v): want the event's JSON line with the full user_id", evs[0].data, err)
	}
	s.resp.Body.Close()
	waitClients(t, ts, 0)
	for range 3 {
		ts.bus.Publish(gw(event.GatewayDown))
	}
	waitSeq(t, ts, 8)
	again := ts.stream(t, "5").read(t, 3)
	if got := ids(again); strings.Join(got, ",") != "6,7,8" {
		t.Fatalf("resumed at %v, want 6,7,8", got)
	}
	all := ts.stream(t, "0").read(t, 8)
	if got := ids(all); strings.Join(got, ",") != strings.Join(seqs(1, 8), ",") {
		t.Fatalf("from 0: %v", got)
	}
	// The query parameter does the same, for EventSource's first connect.
	st, _, _ := ts.do(t, "GET", "/v1/events?last_event_id=x", "")
	if st != 400 {
		t.Errorf("a bad last_event_id: %d", st)
	}
}

func TestRingOverflowGap(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.RingSize = 10 })
	for range 30 {
		ts.bus.Publish(gw(event.GatewayUp))
	}
	waitSeq(t, ts, 30)
	evs := ts.stream(t, "5").read(t, 11)
	var gap map[string]any
	if evs[0].event != "gap" || json.Unmarshal([]byte(evs[0].data), &gap) != nil || gap["type"] != "gap" || gap["missed"] != 15.0 || gap["after"] != 5.0 {
		t.Fatalf("first event %+v, want a gap of 15 after 5", evs[0])
	}
	if evs[0].id != "" {
		t.Errorf("the gap event has id %q: a client resuming after it would skip the lost ones silently", evs[0].id)
	}
	if got := ids(evs[1:]); strings.Join(got, ",") != strings.Join(seqs(21, 30), ",") {
		t.Fatalf("after the gap: %v, want 21..30", got)
	}
	// Caught up within the ring: no gap.
	if evs := ts.stream(t, "25").read(t, 5); evs[0].event != "" || evs[0].id != "26" {
		t.Errorf("resume inside the ring: %+v", evs[0])
	}
	// An id this agent never emitted (beyond its last seq): all we have,
	// after a gap that says so.
	if evs := ts.stream(t, "9999").read(t, 2); evs[0].event != "gap" || !strings.Contains(evs[0].data, `"unknown_id":true`) || evs[1].id != "21" {
		t.Errorf("resume from an id never emitted: %+v", evs[:2])
	}
	// 0, nothing seen: the run as far as the ring reaches, the rest a gap
	// of this run.
	if evs := ts.stream(t, "0").read(t, 2); evs[0].data != `{"type":"gap","after":0,"missed":20,"earlier_run":false,"unknown_id":false}` || evs[1].id != "21" {
		t.Errorf("Last-Event-ID 0 past the ring: %+v", evs[:2])
	}
}

// An id the bus has published but the ring has not taken in yet (a POS
// that read it on headless stdout) is a position in this run: no gap, and
// the stream goes on after it.
func TestResumeAheadOfRing(t *testing.T) {
	bus := event.NewBus()
	defer bus.Close()
	h := newHub(bus.Subscribe(), 10, 10, newMetrics())
	for range 3 {
		bus.Publish(gw(event.GatewayUp))
	}
	_, backlog, g, from, ok := h.attach(true, 2, bus.Last())
	if !ok || g.any() || len(backlog) != 0 || from != 2 {
		t.Fatalf("attach after 2 with 3 published, none in the ring: gap %+v, backlog %d, from %d", g, len(backlog), from)
	}
	if _, _, g, _, _ := h.attach(true, 4, bus.Last()); !g.unknown {
		t.Errorf("attach after 4 with 3 published: gap %+v, want unknown_id", g)
	}
}

// A client resuming across a restart gets the new run from its started
// event, never taken for a position in it; a gap comes first unless its id
// was the earlier run's last of a clean stop.
func TestResumeAcrossRuns(t *testing.T) {
	run1 := newTestServer(t, nil)
	for range 5 {
		run1.bus.Publish(gw(event.GatewayUp))
	}
	waitSeq(t, run1, 5)
	if got := ids(run1.stream(t, "2").read(t, 3)); strings.Join(got, ",") != "3,4,5" {
		t.Fatalf("run 1 resumed at %v", got)
	}
	// Run 2 of the same data_dir: seq goes on above run 1's reservation.
	const first = 1_000_001
	run2 := newTestServer(t, func(o *Options) {
		if err := o.Bus.SetFirst(first); err != nil {
			t.Fatal(err)
		}
		o.FirstSeq, o.PrevLastSeq = first, 5
	})
	run2.bus.Publish(event.Started{RunID: "run2"})
	run2.bus.Publish(gw(event.GatewayDown))
	waitSeq(t, run2, first+1)
	for _, tc := range []struct {
		lastID  string
		gap     bool
		earlier bool
		unknown bool
		ids     string
	}{
		{"2", true, true, false, "1000001,1000002"},         // missed 3..5 of run 1
		{"5", false, false, false, "1000001,1000002"},       // run 1's clean last: nothing missed
		{"0", false, false, false, "1000001,1000002"},       // seen nothing: this run, no gap
		{"1000000", false, false, false, "1000001,1000002"}, // just before this run's first
		{"1000001", false, false, false, "1000002"},
		// Never emitted on this data_dir: said so, not taken for an earlier run.
		{"9999999", true, false, true, "1000001,1000002"},
		{"99999999999", true, false, true, "1000001,1000002"},
	} {
		evs := run2.stream(t, tc.lastID).read(t, len(strings.Split(tc.ids, ","))+map[bool]int{true: 1}[tc.gap])
		if tc.gap {
			var g map[string]any
			if evs[0].event != "gap" || json.Unmarshal([]byte(evs[0].data), &g) != nil || g["earlier_run"] != tc.earlier || g["unknown_id"] != tc.unknown || g["after"] != mustFloat(tc.lastID) {
				t.Errorf("Last-Event-ID %s: first %+v, want a gap after it (earlier_run %v, unknown_id %v)", tc.lastID, evs[0], tc.earlier, tc.unknown)
			}
			evs = evs[1:]
		} else if evs[0].event == "gap" {
			t.Errorf("Last-Event-ID %s: unexpected gap %s", tc.lastID, evs[0].data)
			continue
		}
		if got := strings.Join(ids(evs), ","); got != tc.ids {
			t.Errorf("Last-Event-ID %s: ids %s, want %s", tc.lastID, got, tc.ids)
		}
	}
}

func mustFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// stalledClient opens a stream and never reads it.
func stalledClient(t testing.TB, ts *testServer) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "GET /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", strings.TrimPrefix(ts.URL(), "http://"), testToken)
	return conn
}

// A client that stops reading is cut off once its buffer is full, without
// holding up the bus or the other clients; it may resume.
func TestStalledClientCutOff(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.ClientBuffer = 16; o.WriteTimeout = 200 * time.Millisecond })
	stalledClient(t, ts)
	reader := ts.stream(t, "")
	waitClients(t, ts, 2)
	big := strings.Repeat("x", 8<<10)
	const n, batch = 2000, 8
	got := make(chan sse, n)
	go func() {
		for {
			ev, err := reader.next()
			if err != nil {
				close(got)
				return
			}
			got <- ev
		}
	}()
	// The reader keeps up, batch by batch; the stalled client does not.
	for i := 1; i <= n; i += batch {
		for range batch {
			ts.bus.Publish(event.Scanner{State: event.ScannerConnected, Device: "sim", Detail: big})
		}
		for j := i; j < i+batch; j++ {
			select {
			case ev, ok := <-got:
				if !ok || ev.id != strconv.Itoa(j) {
					t.Fatalf("the reading client got %+v (open %v), want id %d", ev.id, ok, j)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the reading client did not get event %d in 10 s", j)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for ts.metrics.cutOffs.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled client was not cut off")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitClients(t, ts, 1)
}

// 100 stream clients, one of them stalled: the 99 others get every event in
// order, and publishing keeps its pace.
func TestHundredClientsOneStalled(t *testing.T) {
	ts := newTestServer(t, nil)
	stalledClient(t, ts)
	const clients, n = 99, 300
	streams := make([]*stream, clients)
	for i := range streams {
		streams[i] = ts.stream(t, "")
	}
	waitClients(t, ts, clients+1)
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for _, s := range streams {
		wg.Go(func() {
			for i := 1; i <= n; i++ {
				ev, err := s.next()
				if err != nil || ev.id != strconv.Itoa(i) {
					errs <- fmt.Sprintf("event %d: id %q, %v", i, ev.id, err)
					return
				}
			}
		})
	}
	detail := strings.Repeat("d", 512)
	start := time.Now()
	for range n {
		ts.bus.Publish(event.Scanner{State: event.ScannerConnected, Detail: detail})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("publishing %d events with 100 clients took %v", n, d)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the clients did not get every event in 30 s")
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// Close delivers what was published before it (the stopping event), then
// ends the streams.
func TestCloseDrainsStreams(t *testing.T) {
	ts := newTestServer(t, nil)
	s := ts.stream(t, "")
	waitClients(t, ts, 1)
	ts.bus.Publish(event.Stopping{Reason: "test"})
	ts.Close(t.Context())
	evs := s.read(t, 1)
	if !strings.Contains(evs[0].data, `"type":"stopping"`) {
		t.Fatalf("last event %+v", evs[0])
	}
	if _, err := s.next(); err == nil {
		t.Error("the stream did not end at Close")
	}
}

// A quiet stream gets keep-alive comments and stays open well past the
// write timeout: the deadline is per write, not since the last one.
func TestHeartbeatKeepsQuietStream(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Heartbeat = 20 * time.Millisecond; o.WriteTimeout = 50 * time.Millisecond })
	s := ts.stream(t, "")
	waitClients(t, ts, 1)
	beats := 0
	for beats < 10 {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d keep-alives: %v", beats, err)
		}
		if line == ": keep-alive\n" {
			beats++
		}
	}
	ts.bus.Publish(gw(event.GatewayUp))
	if evs := s.read(t, 1); evs[0].id != "1" {
		t.Fatalf("after the quiet: %+v", evs[0])
	}
}
