package api

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"posagent/internal/event"
	"posagent/internal/redact"
)

// metrics are counted from the events and the requests. They hold no
// personal data: counts by fixed words only (event types, results, sub
// codes of the gateway, route patterns).
type metrics struct {
	clients atomic.Int64 // stream clients connected
	cutOffs atomic.Int64 // stream clients cut off for falling behind

	mu       sync.Mutex
	events   map[event.Type]uint64
	decodes  map[string]uint64 // result: decoded, or the decode_failed sub_code
	coupons  map[string]uint64 // issued, failed
	payments map[string]uint64 // final state: paid, failed, cancelled, refunded
	gateway  float64           // 1 up, 0 down, -1 unknown
	requests map[requestKey]*histogram
}

// requestKey labels a request's latency: its method and the pattern of the
// route that served it (never the path itself: it may hold an
// out_trade_no).
type requestKey struct{ method, route string }

// latencyBuckets are the upper bounds, in seconds, of the request latency
// histogram: a loopback API answers in well under a millisecond, a gateway
// call (agreement confirmation) in up to seconds.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	return &metrics{events: map[event.Type]uint64{}, decodes: map[string]uint64{}, coupons: map[string]uint64{},
		payments: map[string]uint64{}, gateway: -1, requests: map[requestKey]*histogram{}}
}

func (m *metrics) observe(e event.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[e.Type()]++
	switch e := e.(type) {
	case event.Decoded:
		m.decodes["decoded"]++
	case event.DecodeFailed:
		m.decodes[redact.Text(or(e.SubCode, or(e.Code, "error")))]++
	case event.CouponIssued:
		m.coupons["issued"]++
	case event.CouponFailed:
		m.coupons["failed"]++
	case event.Payment:
		switch e.State {
		case event.PaymentPaid, event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded:
			m.payments[e.State]++
		}
	case event.Gateway:
		m.gateway = 0
		if e.State == event.GatewayUp {
			m.gateway = 1
		}
	}
}

// timed records the latency of h's requests by method and route pattern:
// the pattern h's own mux matched when it has one (the payments' routes),
// else the route it was registered for.
func (m *metrics) timed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h(w, r)
		d := time.Since(start).Seconds()
		k := requestKey{method: methodLabel(r.Method), route: routeLabel(r.Pattern)}
		m.mu.Lock()
		defer m.mu.Unlock()
		hg := m.requests[k]
		if hg == nil {
			hg = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
			m.requests[k] = hg
		}
		i, _ := slices.BinarySearch(latencyBuckets, d)
		hg.counts[i]++
		hg.sum += d
		hg.n++
	}
}

// methodLabel keeps the label's values few: a client may send any word.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// routeLabel is a mux pattern's path ("GET /v1/payments/{out_trade_no}" →
// "/v1/payments/{out_trade_no}"); "unmatched" for a catch-all.
func routeLabel(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	if pattern == "" || pattern == "/" {
		return "unmatched"
	}
	return pattern
}

// serveMetrics writes the Prometheus text exposition format (version
// 0.0.4).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	q, qerr := s.queueStatus()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Rendered before it is sent: the hub counts under the same lock and
	// must never wait for a slow reader.
	var bw bytes.Buffer
	defer func() { w.Write(bw.Bytes()) }()
	m := s.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	family := func(name, typ, help string) {
		fmt.Fprintf(&bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	labelled := func(name, label string, vals map[string]uint64) {
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&bw, "%s{%s=%s} %d\n", name, label, strconv.Quote(k), vals[k])
		}
	}
	family("posagent_events_total", "counter", "Events published, by type.")
	types := map[string]uint64{}
	for t, n := range m.events {
		types[string(t)] = n
	}
	labelled("posagent_events_total", "type", types)
	family("posagent_scans_total", "counter", "Payment codes scanned or entered (scan events).")
	fmt.Fprintf(&bw, "posagent_scans_total %d\n", m.events[event.TypeScan])
	family("posagent_decodes_total", "counter", "Decodes ended, by result: decoded, or the sub_code of the failure.")
	labelled("posagent_decodes_total", "result", m.decodes)
	family("posagent_coupons_total", "counter", "Coupons ended, by result: issued or failed.")
	labelled("posagent_coupons_total", "result", m.coupons)
	family("posagent_payments_total", "counter", "Payments ended, by final state: paid, failed, cancelled or refunded.")
	labelled("posagent_payments_total", "state", m.payments)
	family("posagent_gateway_up", "gauge", "1 while the Alipay gateway answers, 0 while it is down, -1 before it is known.")
	fmt.Fprintf(&bw, "posagent_gateway_up %g\n", m.gateway)
	if qerr == nil {
		family("posagent_queue_jobs", "gauge", "Jobs in the retry queue, by state.")
		fmt.Fprintf(&bw, "posagent_queue_jobs{state=\"pending\"} %d\nposagent_queue_jobs{state=\"dead\"} %d\n", q.Pending, q.Dead)
		family("posagent_queue_oldest_age_seconds", "gauge", "Age of the oldest pending job; 0 when none.")
		fmt.Fprintf(&bw, "posagent_queue_oldest_age_seconds %g\n", q.OldestAgeSeconds)
	}
	family("posagent_sse_clients", "gauge", "Event stream clients connected.")
	fmt.Fprintf(&bw, "posagent_sse_clients %d\n", m.clients.Load())
	family("posagent_sse_cutoffs_total", "counter", "Event stream clients cut off for falling behind.")
	fmt.Fprintf(&bw, "posagent_sse_cutoffs_total %d\n", m.cutOffs.Load())
	family("posagent_http_request_duration_seconds", "histogram", "Latency of API requests, by method and route pattern.")
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b requestKey) int {
		return cmp.Or(strings.Compare(a.route, b.route), strings.Compare(a.method, b.method))
	})
	for _, k := range keys {
		hg := m.requests[k]
		label := "method=" + strconv.Quote(k.method) + ",route=" + strconv.Quote(k.route)
		var cum uint64
		for i, le := range latencyBuckets {
			cum += hg.counts[i]
			fmt.Fprintf(&bw, "posagent_http_request_duration_seconds_bucket{%s,le=\"%g\"} %d\n", label, le, cum)
		}
		fmt.Fprintf(&bw, "posagent_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", label, hg.n)
		fmt.Fprintf(&bw, "posagent_http_request_duration_seconds_sum{%s} %g\n", label, hg.sum)
		fmt.Fprintf(&bw, "posagent_http_request_duration_seconds_count{%s} %d\n", label, hg.n)
	}
}
