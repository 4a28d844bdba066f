// Package api is posagent's local HTTP API for the POS software beside it:
// the event stream (Server-Sent Events), the agent's status, manual code
// entry, agreement confirmation, app-pay orders, the retry queue, payments
// (mounted from another package), Prometheus metrics and the OpenAPI
// document that describes all of it (openapi.json).
//
// Every request but GET /healthz and CORS preflights carries the bearer
// token; the Host header must name this listener, so that a web page cannot
// reach the till through DNS rebinding; CORS answers only the configured
// origins. The package takes plain values and small interfaces (Options):
// the agent, its composition root, builds them from the configuration.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/httpjson"
	"posagent/internal/queue"
)

// DefaultListen is the address of the API when none is given.
const DefaultListen = "127.0.0.1:7450"

// Defaults of Options.
const (
	DefaultRingSize     = 10_000
	DefaultClientBuffer = 1024
	DefaultHeartbeat    = 15 * time.Second
	DefaultWriteTimeout = 10 * time.Second
)

// Scans enters a payment code typed by hand into the same ledger and
// decode flow as a scanned one. It returns the code's sence_no once it is
// assigned; the rest of the flow is reported on the event stream. An error
// that wraps ErrStopping says the agent no longer takes codes because it is
// stopping.
type Scans interface {
	Enter(ctx context.Context, code string) (senceNo string, err error)
}

// ErrStopping is wrapped by a collaborator (Scans) that refuses a request
// because the agent is stopping. The API answers it as it answers every
// write that arrives during a stop: 503 "stopping" with Retry-After, so a
// request that raced the stop is told to come back, not that it failed.
var ErrStopping = errors.New("posagent is stopping")

// Queue is the retry queue as the API shows and changes it (*queue.Queue).
type Queue interface {
	Pending() ([]queue.Job, error)
	Dead() ([]queue.Job, error)
	Stats() (pending, dead int, err error)
	RetryDead(id string) error
	Drop(id string) error
}

// Agreements confirms a deduction agreement's SMS code (the agreement
// dialog of the TUI does the same).
type Agreements interface {
	AgreementAuthConfirm(ctx context.Context, req alipay.AgreementAuthConfirmRequest) error
}

// Orders signs app-pay order strings (the order dialog of the TUI does the
// same); no network call.
type Orders interface {
	AppPayOrder(req alipay.TradeAppPayRequest) (string, error)
}

// Options build a Server. Bus and Token are required; a missing
// collaborator makes its endpoints answer 503.
type Options struct {
	Listen       string   // host:port; DefaultListen when empty; port 0 picks one
	Token        string   // the bearer token (see LoadToken)
	AllowOrigins []string // exact origins allowed by CORS
	// TLSCert and TLSKey are PEM files; required when Listen is not
	// loopback.
	TLSCert, TLSKey string

	Bus *event.Bus
	// FirstSeq is the seq of this run's first event (1 when zero): a
	// Last-Event-ID below it names an event of an earlier run.
	FirstSeq uint64
	// PrevLastSeq is the last seq of the earlier run if it stopped cleanly
	// (0: unknown); a client resuming from it missed nothing.
	PrevLastSeq uint64
	Version     string
	RunID       string
	ValidCode   func(code string) error // the scanner's validation of a payment code
	Scans       Scans
	Queue       Queue
	Agreements  Agreements
	Orders      Orders
	// Payments serves /v1/payments and below, behind the same checks as
	// every route; nil answers 503.
	Payments http.Handler

	RingSize     int           // events kept for resuming streams; DefaultRingSize
	ClientBuffer int           // events a stream client may lag; DefaultClientBuffer
	Heartbeat    time.Duration // between comment lines on a quiet stream; DefaultHeartbeat
	WriteTimeout time.Duration // a stream write that takes longer cuts the client off
	Log          *slog.Logger
	Now          func() time.Time
}

// Server is the local API. New subscribes it to the bus and opens its
// listener; Serve answers requests until Close.
type Server struct {
	o       Options
	ln      net.Listener
	url     string
	port    string
	hosts   map[string]bool // Host header names that reach this listener
	origins map[string]bool
	token   [32]byte // sha256 of the token: compared in constant time
	mux     *http.ServeMux
	routes  []string // "METHOD /path" of every route, for the OpenAPI check
	hub     *hub
	metrics *metrics
	srv     *http.Server

	// writes counts requests that may change something (any method but
	// GET, HEAD and OPTIONS) while they run; once draining is set no new
	// one is counted, so Drain's Wait cannot race an Add from zero.
	writesMu sync.RWMutex
	draining bool
	writes   sync.WaitGroup

	closeOnce sync.Once
	served    chan struct{}
}

// New checks o, opens the listener and subscribes to the bus; nothing is
// served until Serve. Call Close.
func New(o Options) (*Server, error) {
	if o.Bus == nil {
		return nil, errors.New("api: no event bus")
	}
	if len(o.Token) < 16 {
		return nil, errors.New("api: the token is missing or shorter than 16 characters")
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("api: set tls_cert and tls_key together")
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("api: listen %q: %w", o.Listen, err)
	}
	if !loopback(host) && o.TLSCert == "" {
		return nil, fmt.Errorf("api: tls_cert and tls_key are required to listen on %s, which is not loopback", o.Listen)
	}
	if o.RingSize <= 0 {
		o.RingSize = DefaultRingSize
	}
	if o.ClientBuffer <= 0 {
		o.ClientBuffer = DefaultClientBuffer
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, token: sha256.Sum256([]byte(o.Token)), origins: map[string]bool{}, served: make(chan struct{})}
	for _, org := range o.AllowOrigins {
		s.origins[org] = true
	}
	var tlsConf *tls.Config
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("api: tls_cert/tls_key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("api: listen on %s: %w", o.Listen, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.ln = ln
	addr := ln.Addr().(*net.TCPAddr)
	s.port = fmt.Sprint(addr.Port)
	s.hosts = listenerNames(host)
	scheme, shown := "http", host
	if tlsConf != nil {
		scheme = "https"
	}
	if shown == "" || shown == "0.0.0.0" || shown == "::" {
		shown = "127.0.0.1"
	}
	s.url = scheme + "://" + net.JoinHostPort(shown, s.port)
	s.metrics = newMetrics()
	if o.FirstSeq == 0 {
		o.FirstSeq = 1
	}
	s.hub = newHub(o.Bus.Subscribe(), o.RingSize, o.ClientBuffer, s.metrics)
	s.hub.first, s.hub.prevLast = o.FirstSeq, o.PrevLastSeq
	s.routesInit()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	go s.hub.run()
	return s, nil
}

// URL is where the API answers, e.g. "http://127.0.0.1:7450".
func (s *Server) URL() string { return s.url }

// Serve answers requests until Close; it returns nil then.
func (s *Server) Serve() error {
	defer close(s.served)
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: %w", err)
	}
	return nil
}

// Close ends the streams once they have delivered every event published
// before it (the agent's stopping event among them), then stops the
// server, waiting for requests in progress until ctx is done.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		s.hub.close()
		err = s.srv.Shutdown(ctx)
		if err != nil {
			s.srv.Close()
		}
	})
	return err
}

// listenerNames are the Host header names that reach a listener on host:
// the loopback names, and the host itself; for every interface ("",
// 0.0.0.0, ::) also this machine's name and addresses.
func listenerNames(host string) map[string]bool {
	names := map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		names[strings.ToLower(host)] = true
		return names
	}
	if h, err := os.Hostname(); err == nil {
		names[strings.ToLower(h)] = true
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				names[n.IP.String()] = true
			}
		}
	}
	return names
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeHTTP checks Host, Origin and the token, in that order, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.hostAllowed(r.Host) {
		httpjson.Error(w, http.StatusForbidden, "forbidden_host", "the Host header does not name this listener")
		return
	}
	origin := r.Header.Get("Origin")
	if origin != "" {
		if !s.origins[origin] {
			httpjson.Error(w, http.StatusForbidden, "forbidden_origin", "origin "+origin+" is not in api.allow_origins")
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "600")
			if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
				h.Set("Access-Control-Allow-Private-Network", "true")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		// A preflight without an Origin is no browser's: nothing to allow.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !(r.Method == http.MethodGet && r.URL.Path == "/healthz") && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="posagent"`)
		httpjson.Error(w, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <token> (the token is in api.token_file)")
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, httpjson.MaxBody)
	}
	if readOnly(r.Method) {
		s.mux.ServeHTTP(w, r)
		return
	}
	s.writesMu.RLock()
	if s.draining {
		s.writesMu.RUnlock()
		stopping(w)
		return
	}
	s.writes.Add(1)
	s.writesMu.RUnlock()
	defer s.writes.Done()
	s.mux.ServeHTTP(w, r)
}

// stopping answers a write refused because the agent is stopping.
func stopping(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	httpjson.Error(w, http.StatusServiceUnavailable, "stopping", "posagent is stopping; nothing was done: send the request again once it is back")
}

func readOnly(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// Drain refuses every request that could change something from now on
// (503 "stopping", with Retry-After), and waits until those in progress
// have answered, or ctx is done. Reads and the event streams go on until
// Close. A stopping agent drains before it publishes its stopping event,
// so that no request of this run publishes after it.
func (s *Server) Drain(ctx context.Context) error {
	s.writesMu.Lock()
	s.draining = true
	s.writesMu.Unlock()
	done := make(chan struct{})
	go func() {
		s.writes.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("api: requests still in progress: %w", context.Cause(ctx))
	}
}

// hostAllowed: a loopback name or the configured host, with this port. A
// Host without a port names the scheme's default port, as browsers send it
// (they always include any other): on any other port it is refused, so
// that a page served from a rebound name with no port cannot reach the till.
func (s *Server) hostAllowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "80"
		if strings.HasPrefix(s.url, "https:") {
			port = "443"
		}
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return s.hosts[host] && port == s.port
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(h[len(prefix):])))
	return subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
}
