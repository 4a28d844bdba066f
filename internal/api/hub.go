package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"posagent/internal/event"
	"posagent/internal/httpjson"
	"posagent/internal/redact"
)

// entry is one event as the stream sends it: encoded once, for every
// client.
type entry struct {
	seq  uint64
	data []byte
}

// hub reads the bus, keeps the last events in a ring for clients that
// resume, keeps what /v1/status shows, and hands every event to every
// stream client without ever waiting for one: a client whose buffer is full
// is cut off (it may resume from the ring). The bus is never slowed by the
// API.
type hub struct {
	sub     *event.Subscription
	metrics *metrics
	buffer  int
	// first is the seq of this run's first event; prevLast the earlier
	// run's last if it stopped cleanly (0: unknown).
	first, prevLast uint64

	mu      sync.Mutex
	ring    []entry // circular, len == cap once full
	next    int     // where the next entry goes once full
	clients map[*client]struct{}
	closed  bool
	state   status
	done    chan struct{}      // closed when run returns
	ctx     context.Context    // cancelled by close: run drains and returns
	stop    context.CancelFunc // cancels ctx
}

// status is what the hub learned from the events.
type status struct {
	lastSeq                     uint64
	gateway                     string
	gatewaySince                time.Time
	gatewayCause, gatewayDetail string
	scanner                     string
	device                      string
	scannerSince                time.Time
	customer                    *customer
}

type customer struct {
	SenceNo      string        `json:"sence_no"`
	UserIDMasked string        `json:"user_id_masked"`
	DecodedAt    httpjson.Time `json:"decoded_at"`
}

// client is one stream. ch is closed when the client is cut off or the hub
// stops.
type client struct {
	ch     chan entry
	cutOff bool
}

func newHub(sub *event.Subscription, size, buffer int, m *metrics) *hub {
	// first is 1 until New says otherwise.
	ctx, stop := context.WithCancel(context.Background())
	return &hub{sub: sub, metrics: m, buffer: buffer, first: 1, ring: make([]entry, 0, size),
		clients: map[*client]struct{}{}, done: make(chan struct{}), ctx: ctx, stop: stop}
}

// run moves events from the bus to the ring and the clients until the bus
// closes or close is called; then it ends every stream.
func (h *hub) run() {
	defer close(h.done)
	defer h.endStreams()
	for {
		e, err := h.sub.Next(h.ctx)
		if errors.Is(err, event.ErrClosed) {
			return
		}
		if err != nil {
			// Closing: deliver what was published before, then end.
			for e, ok := h.sub.TryNext(); ok; e, ok = h.sub.TryNext() {
				h.publish(e)
			}
			return
		}
		h.publish(e)
	}
}

func (h *hub) publish(e event.Event) {
	data, err := event.MarshalJSONLine(e)
	if err != nil {
		return
	}
	h.metrics.observe(e)
	en := entry{seq: e.Sequence(), data: data}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.learn(e)
	if len(h.ring) < cap(h.ring) {
		h.ring = append(h.ring, en)
	} else {
		h.ring[h.next] = en
		h.next = (h.next + 1) % len(h.ring)
	}
	for c := range h.clients {
		select {
		case c.ch <- en:
		default:
			// Too far behind: cut off, never waited for.
			c.cutOff = true
			close(c.ch)
			delete(h.clients, c)
			h.metrics.cutOffs.Add(1)
		}
	}
}

// learn keeps what the status shows; called with mu held.
func (h *hub) learn(e event.Event) {
	st := &h.state
	st.lastSeq = e.Sequence()
	switch e := e.(type) {
	case event.Gateway:
		if e.State != st.gateway {
			st.gateway, st.gatewaySince = e.State, e.When()
		}
		st.gatewayCause, st.gatewayDetail = e.Cause, e.Detail
	case event.Scanner:
		st.scanner, st.device, st.scannerSince = e.State, e.Device, e.When()
	case event.Decoded:
		st.customer = &customer{SenceNo: e.SenceNo, UserIDMasked: redact.UserID(e.UserID), DecodedAt: httpjson.Time{Time: e.When()}}
	}
}

func (h *hub) status() status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// gap is what a resuming client is told it missed before its backlog.
type gap struct {
	after, missed uint64
	// earlier: the client's id is from an earlier run, whose events after
	// it (if any: not when it is that run's clean last) are not kept.
	earlier bool
	// unknown: the client's id is above every seq published on this
	// data_dir, so this agent never emitted it (another data_dir, one
	// wiped, a client's bug): it says nothing of what the client has seen.
	unknown bool
}

func (g gap) any() bool { return g.missed > 0 || g.earlier || g.unknown }

// attach registers a client and returns the ring's events after lastID
// (none when resume is false), what the client missed, and the seq its
// live events must be above. published is the bus's last seq, which the
// ring may not have reached yet: an id up to it (read from headless
// stdout, say) is a position in this run like any other.
//
// lastID 0 is no event's id (seqs start at 1): the client has seen nothing
// and gets this run from its start, as far as the ring reaches. An id
// below this run's first is from an earlier run: the client gets this run
// from its start too, after a gap unless the id was the earlier run's
// clean last. An id above published was never emitted: the client gets
// this run from its start after a gap that says so.
func (h *hub) attach(resume bool, lastID, published uint64) (c *client, backlog []entry, g gap, from uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, gap{}, 0, false
	}
	c = &client{ch: make(chan entry, h.buffer)}
	h.clients[c] = struct{}{}
	h.metrics.clients.Add(1)
	if !resume {
		return c, nil, gap{}, 0, true
	}
	g.after = lastID
	switch {
	case lastID == 0:
		lastID = h.first - 1
	case lastID > max(h.state.lastSeq, published, h.first-1):
		g.unknown = true
		lastID = h.first - 1
	case lastID < h.first-1:
		g.earlier = h.prevLast == 0 || lastID != h.prevLast
		lastID = h.first - 1
	}
	ordered := h.ordered()
	if len(ordered) > 0 && ordered[0].seq > lastID+1 {
		g.missed = ordered[0].seq - lastID - 1
	}
	for i, en := range ordered {
		if en.seq > lastID {
			backlog = ordered[i:]
			break
		}
	}
	return c, backlog, g, lastID, true
}

// ordered returns the ring oldest first, as a new slice.
func (h *hub) ordered() []entry {
	out := make([]entry, 0, len(h.ring))
	if len(h.ring) < cap(h.ring) {
		return append(out, h.ring...)
	}
	out = append(out, h.ring[h.next:]...)
	return append(out, h.ring[:h.next]...)
}

func (h *hub) detach(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.ch)
	}
	h.metrics.clients.Add(-1)
}

func (h *hub) endStreams() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		close(c.ch)
		delete(h.clients, c)
	}
}

// close delivers what the bus holds, ends every stream and waits for run.
func (h *hub) close() {
	h.stop()
	<-h.done
	h.sub.Close()
}
