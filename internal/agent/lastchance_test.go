package agent

import (
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/event"
)

// A queued decode whose next backoff would run past its code's life is
// tried once more before the code expires, not given up early: with
// backoffs of up to 30 s and a code living 4 s, the decode still ends
// decoded once the gateway answers again.
func TestQueuedDecodeLastChanceBeforeExpiry(t *testing.T) {
	srv := newServer(t)
	scan := make(feed)
	a := newAgentOpts(t, srv, t.TempDir(), scan, func(o *Options) {
		o.CodeTTL = 4 * time.Second
		o.Queue.BaseDelay, o.Queue.MaxDelay = 30*time.Second, 30*time.Second
	})
	w := start(t, a)
	srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{HTTPStatus: 503, Count: 2})
	scan <- srv.IssueCode(plain.UserID)
	if e := w.until("the end of the decode", ended); e.Type() != event.TypeDecoded {
		t.Fatalf("the decode ended %+v, want decoded on its last chance", e)
	}
}
