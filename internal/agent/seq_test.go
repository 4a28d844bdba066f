package agent

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"posagent/internal/event"
	"posagent/internal/eventseq"
)

// firstSSE reads a stream from the agent's API resuming after lastID and
// returns its first event's "event:" and "id:" (the gap has no id).
func firstSSE(t *testing.T, c *apiClient, lastID string) (kind, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.url+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			kind = v
		}
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = v
		}
		if line == "" && (kind != "" || id != "") {
			return kind, id
		}
	}
	t.Fatalf("stream after %s ended: %v", lastID, sc.Err())
	return "", ""
}

// runOnce runs an agent on dir until it has published its started
// event, then stops it cleanly; it returns the seq of its first and last
// events.
func runOnce(t *testing.T, dir string, during func(started event.Started)) (first, last uint64) {
	t.Helper()
	a := newAgent(t, newServer(t), dir, make(feed))
	sub := a.Bus.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	e, err := sub.Next(ctx)
	if err != nil || e.Type() != event.TypeStarted {
		t.Fatalf("first event %v, %v", e, err)
	}
	if during != nil {
		during(e.(event.Started))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for e, ok := sub.TryNext(); ok; e, ok = sub.TryNext() {
		last = e.Sequence()
	}
	return e.Sequence(), last
}

// Two runs of one data_dir: the second numbers its events above anything
// the first emitted, and a client resuming with the first run's ids gets
// the second run from its started event, after a gap unless it had seen
// the first run's last event; 0, nothing seen, gets it with no gap.
func TestSeqContinuesAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	first1, last1 := runOnce(t, dir, nil)
	if first1 != 1 || last1 < 2 {
		t.Fatalf("run 1: seq %d..%d, want from 1 (a new database)", first1, last1)
	}
	first2, _ := runOnce(t, dir, func(started event.Started) {
		c := newAPIClient(t, started)
		for _, tc := range []struct {
			lastID, kind string
		}{
			{fmt.Sprint(last1), ""}, // saw run 1 to its end: nothing missed
			{"1", "gap"},            // missed the rest of run 1
			{"0", ""},               // seen nothing: run 2 from its started, no gap
			{"99999999999", "gap"},  // never emitted (unknown_id)
		} {
			kind, id := firstSSE(t, c, tc.lastID)
			if kind != tc.kind || kind == "" && id != fmt.Sprint(started.Seq) {
				t.Errorf("Last-Event-ID %s: first event %q id %q, want %q then run 2's started (%d)", tc.lastID, kind, id, tc.kind, started.Seq)
			}
		}
	})
	if first2 != eventseq.Block+1 {
		t.Errorf("run 2 starts at seq %d, want %d (above run 1's reservation)", first2, eventseq.Block+1)
	}
}
