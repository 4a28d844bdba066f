package payment

import (
	"sync"
	"time"
)

// DefaultForget is how long Codes remembers a sence_no after its code's
// life ended, so that a payment asked for it is refused as expired (409)
// rather than unknown (404).
const DefaultForget = time.Hour

// Codes holds the raw payment code of each decoded customer in memory, for
// the code's life only: alipay.trade.pay needs it as auth_code, and no file,
// event, log or queue job may hold it. The decode flow hands codes in
// (decode.CodeKeeper); a payment takes its code out once, so a code pays
// at most once. A code is wiped when its life ends, whether used or not.
type Codes struct {
	mu     sync.Mutex
	m      map[string]*held // by sence_no
	now    func() time.Time
	forget time.Duration
}

// held is what Codes knows of one sence_no.
type held struct {
	code    string // "" once taken or expired
	buyer   string // the user_id the code decoded to
	expires time.Time
	failed  bool // the decode ended without a customer
	taken   bool
	wipe    *time.Timer
}

// NewCodes returns an empty store on the clock now (time.Now when nil).
func NewCodes(now func() time.Time) *Codes {
	if now == nil {
		now = time.Now
	}
	return &Codes{m: map[string]*held{}, now: now, forget: DefaultForget}
}

// Decoded keeps code, which decoded to the customer userID, for senceNo
// until expires.
func (c *Codes) Decoded(senceNo, code, userID string, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge()
	h := c.m[senceNo]
	if h == nil {
		h = &held{}
		c.m[senceNo] = h
	}
	if h.taken {
		return // a rescan of a code already paid with: it is used
	}
	if h.wipe != nil {
		h.wipe.Stop()
	}
	h.code, h.buyer, h.expires, h.failed = code, userID, expires, false
	h.wipe = time.AfterFunc(expires.Sub(c.now())+time.Second, func() { c.wipeCode(senceNo) })
}

// Failed notes a decode of senceNo that ended without a customer. A code
// decoded for it before (a rescan that failed later) stays usable.
func (c *Codes) Failed(senceNo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge()
	if h := c.m[senceNo]; h != nil {
		if h.code == "" && !h.taken {
			h.failed = true
		}
		return
	}
	c.m[senceNo] = &held{failed: true, expires: c.now()}
}

func (c *Codes) wipeCode(senceNo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.m[senceNo]; h != nil && !c.now().Before(h.expires) {
		h.code = ""
	}
}

// purge forgets sence_nos whose code ended more than forget ago.
func (c *Codes) purge() {
	cut := c.now().Add(-c.forget)
	for k, h := range c.m {
		if h.expires.Before(cut) {
			if h.wipe != nil {
				h.wipe.Stop()
			}
			delete(c.m, k)
		}
	}
}

// codeState says why a sence_no has no code to pay with.
type codeState int

const (
	codeReady codeState = iota
	codeUnknown
	codeFailed
	codeExpired
	codeTaken
)

// peek returns senceNo's code if it may be paid with now.
func (c *Codes) peek(senceNo string) (code, buyer string, state codeState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge()
	h := c.m[senceNo]
	switch {
	case h == nil:
		return "", "", codeUnknown
	case h.taken:
		return "", "", codeTaken
	case h.failed:
		return "", "", codeFailed
	case h.code == "" || !c.now().Before(h.expires):
		return "", "", codeExpired
	}
	return h.code, h.buyer, codeReady
}

// take wipes senceNo's code: it has been sent, and a code pays once.
func (c *Codes) take(senceNo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.m[senceNo]; h != nil {
		h.code, h.taken = "", true
	}
}
