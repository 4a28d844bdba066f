package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// events streams the bus as Server-Sent Events: "id:" is the event's seq,
// "data:" its JSON line. Last-Event-ID (the header a browser's EventSource
// sends when it reconnects, or the last_event_id query parameter) resumes
// after that seq from the ring; when the ring no longer holds all of what
// followed, a "gap" event first says how many events are lost. Without it
// the stream starts with the next event published.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	var lastID uint64
	resume := last != ""
	if resume {
		n, err := strconv.ParseUint(strings.TrimSpace(last), 10, 64)
		if err != nil {
			badRequest(w, "Last-Event-ID "+strconv.Quote(last)+" is not a seq (a whole number)")
			return
		}
		lastID = n
	}
	c, backlog, missed, ok := s.hub.attach(resume, lastID)
	if !ok {
		unavailable(w, "the agent is stopping")
		return
	}
	defer s.hub.detach(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	flush := func() bool {
		rc.SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
		return rc.Flush() == nil
	}
	// A reconnecting browser waits retry ms; a second is enough on loopback.
	fmt.Fprint(w, "retry: 1000\n\n")
	if missed > 0 {
		fmt.Fprintf(w, "event: gap\ndata: {\"type\":\"gap\",\"after\":%d,\"missed\":%d}\n\n", lastID, missed)
	}
	buf := make([]byte, 0, 4096)
	for i, en := range backlog {
		buf = appendEntry(buf[:0], en)
		if _, err := w.Write(buf); err != nil {
			return
		}
		if i%256 == 255 && !flush() {
			return
		}
	}
	if !flush() {
		return
	}
	beat := time.NewTicker(s.o.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case en, ok := <-c.ch:
			if !ok {
				return
			}
			buf = appendEntry(buf[:0], en)
			// Send what else is waiting in the same write.
			for more := true; more && len(buf) < 64<<10; {
				select {
				case en, ok = <-c.ch:
					if !ok {
						w.Write(buf)
						flush()
						return
					}
					buf = appendEntry(buf, en)
				default:
					more = false
				}
			}
			if _, err := w.Write(buf); err != nil || !flush() {
				return
			}
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || !flush() {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

func appendEntry(b []byte, en entry) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendUint(b, en.seq, 10)
	b = append(b, "\ndata: "...)
	b = append(b, en.data...)
	return append(b, "\n\n"...)
}
