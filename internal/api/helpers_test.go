package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"posagent/internal/event"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testServer is a Server on 127.0.0.1 with a port of its own.
type testServer struct {
	*Server
	bus *event.Bus
}

func newTestServer(t testing.TB, edit func(*Options)) *testServer {
	t.Helper()
	bus := event.NewBus()
	o := Options{Listen: "127.0.0.1:0", Token: testToken, Bus: bus, Version: "test", RunID: "run1",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		bus.Close()
	})
	return &testServer{Server: s, bus: bus}
}

// do sends a request with the token (unless header sets Authorization) and
// returns the status and body.
func (ts *testServer) do(t testing.TB, method, path, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// errorCode returns the code of an error body.
func errorCode(body string) string {
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

// stream is one SSE client.
type stream struct {
	resp *http.Response
	rd   *bufio.Reader
}

type sse struct {
	id    string
	event string
	data  string
}

func (ts *testServer) stream(t testing.TB, lastID string) *stream {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL()+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /v1/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &stream{resp: resp, rd: bufio.NewReader(resp.Body)}
}

// next reads the next event (skipping comments and retry lines).
func (s *stream) next() (sse, error) {
	var ev sse
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if ev.data != "" {
				return ev, nil
			}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

// read returns the next n events or fails after a deadline.
func (s *stream) read(t testing.TB, n int) []sse {
	t.Helper()
	type result struct {
		evs []sse
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for len(r.evs) < n {
			ev, err := s.next()
			if err != nil {
				r.err = err
				break
			}
			r.evs = append(r.evs, ev)
		}
		done <- r
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("after %d of %d events: %v", len(r.evs), n, r.err)
		}
		return r.evs
	case <-time.After(10 * time.Second):
		s.resp.Body.Close()
		t.Fatalf("no %d events within 10 s", n)
		return nil
	}
}

func gw(state string) event.Event { return event.Gateway{State: state} }
