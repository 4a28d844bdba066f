// Package alipaytest is a fake Alipay Open Platform gateway for tests and for
// `posagent demo`, the way net/http/httptest fakes a web server: a real HTTP
// server on 127.0.0.1 with its own Alipay key pair that checks every request
// like the gateway does (common parameters, charset, signature, certificate
// serial numbers, AES content encryption) and carries out the business rules
// of the methods posagent calls. Faults can be scripted per method, and every
// request it sees is recorded.
//
// It depends on nothing from package testing, so the demo can run it.
package alipaytest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"posagent/internal/alipay"
)

// Defaults of a new Server.
const (
	DefaultAppID       = "2021000000000001"
	DefaultCodeTTL     = 60 * time.Second // how long a payment code decodes
	DefaultAgreeTTL    = 5 * time.Minute  // how long an agreement's SMS code is valid
	MaxConfirmAttempts = 3                // wrong SMS codes before VALIDATECODE_TIMES_LIMIT
	// TimestampSkew is how far a request's timestamp may be from the
	// server's clock (in Beijing time). It catches clients that send local or
	// UTC time.
	TimestampSkew = 15 * time.Minute
)

// Option configures a Server.
type Option func(*Server)

// WithAppID sets the app_id the server accepts (default DefaultAppID).
func WithAppID(id string) Option { return func(s *Server) { s.appID = id } }

// WithAppKey sets the application key the server trusts. Without it the
// server generates one (2048 bits, about 100ms or more: tests share keys).
func WithAppKey(k *rsa.PrivateKey) Option { return func(s *Server) { s.appKey = k } }

// WithAlipayKey sets the server's own ("Alipay's") key. Without it the
// server generates one.
func WithAlipayKey(k *rsa.PrivateKey) Option { return func(s *Server) { s.alipayKey = k } }

// WithSignType sets the sign type the app is registered with: requests must
// use it, responses and notifications are signed with it. Default RSA2.
func WithSignType(t alipay.SignType) Option { return func(s *Server) { s.signType = t } }

// WithCharset sets the charset assumed for a request that names none, and
// the one ClientConfig uses. Default "utf-8".
func WithCharset(cs string) Option { return func(s *Server) { s.charset = cs } }

// WithCertMode switches to public-key-certificate mode: the server makes a
// test CA, an Alipay certificate and an app certificate, requires app_cert_sn
// and alipay_root_cert_sn on requests and sends alipay_cert_sn in responses.
func WithCertMode() Option { return func(s *Server) { s.certMode = true } }

// WithRootKey sets the key of the test CA in certificate mode. Without it
// the server generates one.
func WithRootKey(k *rsa.PrivateKey) Option { return func(s *Server) { s.rootKey = k } }

// WithEncryptKey enables AES content encryption with a raw AES key (16, 24
// or 32 bytes); nil generates a 128-bit key. Requests with encrypt_type=AES
// are decrypted and answered encrypted; plain requests stay plain.
func WithEncryptKey(key []byte) Option {
	return func(s *Server) {
		if key == nil {
			key = make([]byte, 16)
			if _, err := rand.Read(key); err != nil {
				panic(fmt.Sprintf("alipaytest: encrypt key: %v", err))
			}
		}
		s.encryptKey = key
	}
}

// WithClock sets the server's clock: it decides code expiry, agreement
// expiry, the timestamp check and Request.At. ClientConfig hands the same
// clock to the client.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithCodeTTL sets how long an issued payment code decodes (default 60s).
func WithCodeTTL(d time.Duration) Option { return func(s *Server) { s.codeTTL = d } }

// WithAddr sets the listen address (default "127.0.0.1:0", a free port).
// It must be on loopback: NewServer panics otherwise.
func WithAddr(addr string) Option { return func(s *Server) { s.addr = addr } }

// WithPassErrorsInResult makes alipay.pass.instance.add answer business
// failures the other way the gateway does: code 10000 with success "false"
// and the KP.AE_* code in result.errorCode, instead of 40004 with sub_code.
func WithPassErrorsInResult() Option { return func(s *Server) { s.passErrorsInResult = true } }

// Server is a fake Alipay gateway. Its methods are safe for concurrent use.
type Server struct {
	// Fixed before Start.
	appID              string
	appKey             *rsa.PrivateKey
	signType           alipay.SignType
	charset            string
	now                func() time.Time
	codeTTL            time.Duration
	addr               string
	encryptKey         []byte
	certMode           bool
	rootKey            *rsa.PrivateKey
	passErrorsInResult bool
	anyCode            string // WithAnyCode's user

	srv  *http.Server
	quit chan struct{} // closed by Close: ends latency waits
	wg   sync.WaitGroup

	mu        sync.Mutex
	alipayKey *rsa.PrivateKey
	certs     *certSet
	ln        net.Listener
	started   bool
	closed    bool
	down      bool
	downTimer *time.Timer
	up        chan struct{} // closed while up
	conns     map[net.Conn]struct{}

	users      map[string]User
	codes      map[string]*payCode
	sences     map[string]string // sence_no -> the code it was first used with
	templates  map[string][]string
	passes     []*Pass
	bySerial   map[string]*Pass
	agreements map[string]*agreement
	faults     map[string]*Fault // by method; "" for all
	pay        payState          // stage two: payers and trades (trade.go)
	requests   []Request
	seq        int
}

// NewServer starts a fake gateway. It panics if it cannot listen or make
// its keys, like httptest.NewServer.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer makes a fake gateway that listens (so URL is known)
// but does not serve until Start.
func NewUnstartedServer(opts ...Option) *Server {
	s := &Server{
		appID:      DefaultAppID,
		signType:   alipay.RSA2,
		charset:    "utf-8",
		now:        time.Now,
		codeTTL:    DefaultCodeTTL,
		addr:       "127.0.0.1:0",
		quit:       make(chan struct{}),
		up:         make(chan struct{}),
		conns:      map[net.Conn]struct{}{},
		users:      map[string]User{},
		codes:      map[string]*payCode{},
		sences:     map[string]string{},
		templates:  map[string][]string{},
		bySerial:   map[string]*Pass{},
		agreements: map[string]*agreement{},
		faults:     map[string]*Fault{},
	}
	close(s.up)
	for _, o := range opts {
		o(s)
	}
	// The fake gateway answers for Alipay with keys anyone can read: it
	// serves this PC only, never a till's network.
	if host, _, err := net.SplitHostPort(s.addr); err != nil || !loopback(host) {
		panic(fmt.Sprintf("alipaytest: listen address %q is not on loopback (127.0.0.1, ::1 or localhost)", s.addr))
	}
	if _, ok := charsetOf(s.charset); !ok {
		panic(fmt.Sprintf("alipaytest: charset %q: want utf-8 or GBK", s.charset))
	}
	if s.signType != alipay.RSA2 && s.signType != alipay.RSA {
		panic(fmt.Sprintf("alipaytest: sign type %q: want RSA2 or RSA", s.signType))
	}
	var err error
	if s.appKey == nil {
		if s.appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(fmt.Sprintf("alipaytest: app key: %v", err))
		}
	}
	if s.alipayKey == nil {
		if s.alipayKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(fmt.Sprintf("alipaytest: alipay key: %v", err))
		}
	}
	if s.certMode {
		if s.certs, err = newCertSet(s.rootKey, s.appKey, s.alipayKey); err != nil {
			panic(fmt.Sprintf("alipaytest: certificates: %v", err))
		}
	}
	if s.ln, err = net.Listen("tcp", s.addr); err != nil {
		panic(fmt.Sprintf("alipaytest: listen on %s: %v", s.addr, err))
	}
	s.addr = s.ln.Addr().String() // a fixed port, so that the gateway can come back up on it
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.trackConn,
	}
	return s
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Start serves on the listener made by NewUnstartedServer.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		panic("alipaytest: Server already started")
	}
	s.started = true
	go s.srv.Serve(s.ln)
}

// Close stops the server, drops its connections and waits for the handlers
// in flight.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.quit)
	if s.downTimer != nil {
		s.downTimer.Stop()
	}
	s.mu.Unlock()
	s.srv.Close()
	s.ln.Close() // when never started, or down
	s.wg.Wait()
}

// URL is the gateway URL, ending in /gateway.do.
func (s *Server) URL() string { return "http://" + s.addr + "/gateway.do" }

// AppID is the app_id the server accepts.
func (s *Server) AppID() string { return s.appID }

// AppKey is the application private key the server trusts.
func (s *Server) AppKey() *rsa.PrivateKey { return s.appKey }

// SignType is the sign type the app is registered with.
func (s *Server) SignType() alipay.SignType { return s.signType }

// Charset is the charset ClientConfig uses.
func (s *Server) Charset() string { return s.charset }

// AlipayPublicKey is the public half of the key the server signs with now
// (it changes with RotateAlipayCert).
func (s *Server) AlipayPublicKey() *rsa.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &s.alipayKey.PublicKey
}

// EncryptKey is the raw AES content-encryption key, or nil.
func (s *Server) EncryptKey() []byte { return s.encryptKey }

// Now is the server's clock.
func (s *Server) Now() time.Time { return s.now() }

// trackConn keeps the open connections, so that going down can cut them.
func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// SetDown takes the gateway off the network (true) or back on (false).
// While down, the listener is closed, so connections are refused, and the
// open connections are cut: a client sees a transport error, not an answer.
// Coming back up listens again on the same port.
func (s *Server) SetDown(down bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.downTimer != nil {
		s.downTimer.Stop()
		s.downTimer = nil
	}
	return s.setDownLocked(down)
}

func (s *Server) setDownLocked(down bool) error {
	if s.closed {
		return fmt.Errorf("alipaytest: server closed")
	}
	if down == s.down {
		return nil
	}
	if down {
		s.down = true
		s.up = make(chan struct{})
		s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("alipaytest: back up on %s: %w", s.addr, err)
	}
	s.ln = ln
	s.down = false
	close(s.up)
	if s.started {
		go s.srv.Serve(ln)
	}
	return nil
}

// DownFor takes the gateway down now and brings it back after d (real
// time), for the demo's "network down for a while".
func (s *Server) DownFor(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.downTimer != nil {
		s.downTimer.Stop()
	}
	if err := s.setDownLocked(true); err != nil {
		return err
	}
	s.downTimer = time.AfterFunc(d, s.comeBackUp)
	return nil
}

// comeBackUp retries briefly if the port is taken for a moment.
func (s *Server) comeBackUp() {
	for i := 0; ; i++ {
		s.mu.Lock()
		err := s.setDownLocked(false)
		s.mu.Unlock()
		if err == nil || i == 100 {
			return
		}
		select {
		case <-s.quit:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitUp waits until the gateway is up (at once if it is), the server
// closes, or ctx is done.
func (s *Server) WaitUp(ctx context.Context) error {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-s.quit:
		return fmt.Errorf("alipaytest: server closed")
	case <-ctx.Done():
		return fmt.Errorf("alipaytest: wait for the gateway to come up: %w", ctx.Err())
	}
}

// Down reports whether the gateway is down.
func (s *Server) Down() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// enter registers a handler in flight; false once the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// wait waits d, or less when the client goes away or the server closes.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.quit:
	}
	return false
}
