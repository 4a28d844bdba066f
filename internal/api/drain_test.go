package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// blockingScans holds every Enter until release is closed.
type blockingScans struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingScans) Enter(ctx context.Context, code string) (string, error) {
	b.entered <- struct{}{}
	<-b.release
	return "till1-20261122-000001", nil
}

// Drain refuses new writes at once, keeps reads and streams going, and
// returns only once the write in progress has answered.
func TestDrainWaitsForWritesInProgress(t *testing.T) {
	bs := &blockingScans{entered: make(chan struct{}, 1), release: make(chan struct{})}
	ts := newTestServer(t, func(o *Options) { o.Scans = bs; o.ValidCode = validCode })
	stream := ts.stream(t, "")

	answered := make(chan int, 1)
	go func() {
		st, _, _ := ts.do(t, "POST", "/v1/scans", `{"code":"286861260475412123"}`)
		answered <- st
	}()
	<-bs.entered

	drained := make(chan error, 1)
	go func() { drained <- ts.Drain(context.Background()) }()
	// Drain has begun once a new write is refused.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, h, body := ts.do(t, "DELETE", "/v1/queue/job1", "")
		if st == 503 && errorCode(body) == "stopping" {
			if h.Get("Retry-After") == "" {
				t.Error("503 stopping without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still accepted while draining: %d %s", st, body)
		}
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while a write was in progress", err)
	default:
	}
	if st, _, body := ts.do(t, "GET", "/v1/status", ""); st != 200 {
		t.Errorf("GET /v1/status while draining: %d %s", st, body)
	}
	ts.bus.Publish(gw("up"))
	if ev := stream.read(t, 1); !strings.Contains(ev[0].data, `"type":"gateway"`) {
		t.Errorf("stream while draining got %+v", ev)
	}

	close(bs.release)
	if st := <-answered; st != 202 {
		t.Errorf("the write in progress answered %d, want 202", st)
	}
	select {
	case err := <-drained:
		if err != nil {
			t.Errorf("Drain: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return once the write answered")
	}
}

// A write that does not end in time makes Drain return with ctx's cause.
func TestDrainGivesUp(t *testing.T) {
	bs := &blockingScans{entered: make(chan struct{}, 1), release: make(chan struct{})}
	ts := newTestServer(t, func(o *Options) { o.Scans = bs; o.ValidCode = validCode })
	answered := make(chan struct{})
	go func() {
		ts.do(t, "POST", "/v1/scans", `{"code":"286861260475412123"}`)
		close(answered)
	}()
	<-bs.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Drain with a write stuck: %v, want context.Canceled", err)
	}
	close(bs.release)
	<-answered
}

// stoppingScans is a Scans whose agent is stopping.
type stoppingScans struct{}

func (stoppingScans) Enter(ctx context.Context, code string) (string, error) {
	return "", fmt.Errorf("the agent is not running: %w", ErrStopping)
}

// A scan the agent refuses because it is stopping is answered like every
// write during a stop: 503 "stopping" with Retry-After, not a failure.
func TestScanRefusedWhileStopping(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Scans = stoppingScans{}; o.ValidCode = validCode })
	st, h, body := ts.do(t, "POST", "/v1/scans", `{"code":"286861260475412123"}`)
	if st != 503 || errorCode(body) != "stopping" || h.Get("Retry-After") == "" {
		t.Fatalf("POST /v1/scans while the agent stops: %d Retry-After=%q %s; want 503 stopping with Retry-After", st, h.Get("Retry-After"), body)
	}
}
