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
// followed, a "gap" event first says how many events are lost. 0 means
// "seen nothing": this run from its start. An id of an earlier run (seq
// continues across runs, see eventseq) replays this run from its started
// event, after a gap unless the id was that run's last; an id above any
// seq emitted does the same after a gap with unknown_id. Without one the
// stream starts with the next event published.
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
	c, backlog, g, from, ok := s.hub.attach(resume, lastID, s.o.Bus.Last())
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
	// send writes b and flushes it, within WriteTimeout from now: a client
	// that does not take it in time is cut off. The deadline is set at
	// every send, so that a quiet stream is not cut off at its next write.
	send := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// A reconnecting browser waits retry ms; a second is enough on loopback.
	buf := append(make([]byte, 0, 4096), "retry: 1000\n\n"...)
	if g.any() {
		buf = fmt.Appendf(buf, "event: gap\ndata: {\"type\":\"gap\",\"after\":%d,\"missed\":%d,\"earlier_run\":%t,\"unknown_id\":%t}\n\n", g.after, g.missed, g.earlier, g.unknown)
	}
	for _, en := range backlog {
		buf = appendEntry(buf, en)
		if len(buf) >= 64<<10 {
			if !send(buf) {
				return
			}
			buf = buf[:0]
		}
	}
	if !send(buf) {
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
			if en.seq <= from {
				// Published before the client's id, but not yet in the
				// ring when it attached: the client has it.
				continue
			}
			buf = appendEntry(buf[:0], en)
			// Send what else is waiting in the same write.
			for more := true; more && len(buf) < 64<<10; {
				select {
				case en, ok = <-c.ch:
					if !ok {
						send(buf)
						return
					}
					if en.seq > from {
						buf = appendEntry(buf, en)
					}
				default:
					more = false
				}
			}
			if !send(buf) {
				return
			}
		case <-beat.C:
			if !send(keepAlive) {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

var keepAlive = []byte(": keep-alive\n\n")

func appendEntry(b []byte, en entry) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendUint(b, en.seq, 10)
	b = append(b, "\ndata: "...)
	b = append(b, en.data...)
	return append(b, "\n\n"...)
}
