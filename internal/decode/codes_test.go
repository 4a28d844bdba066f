package decode

import (
	"context"
	"sync"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/event/eventtest"
)

// keeper records what the flow hands to stage two's code store.
type keeper struct {
	mu      sync.Mutex
	codes   map[string]string
	users   map[string]string
	expires map[string]time.Time
	failed  []string
	events  *eventtest.Recorder // to check the code is kept before decoded goes out
	before  bool
}

func (k *keeper) Decoded(senceNo, code, userID string, expires time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.codes[senceNo], k.users[senceNo], k.expires[senceNo] = code, userID, expires
	k.before = true
	for _, e := range k.events.All() {
		if e.Type() == event.TypeDecoded {
			k.before = false
		}
	}
}

func (k *keeper) Failed(senceNo string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.failed = append(k.failed, senceNo)
}

// The flow hands each decoded code to the code store before the decoded
// event (a POS that pays at once finds it), with the code's deadline, and
// tells it of a decode that failed.
func TestCodesHandedToStageTwo(t *testing.T) {
	h := newHarness(t)
	k := &keeper{codes: map[string]string{}, users: map[string]string{}, expires: map[string]time.Time{}, events: h.events}
	h.flow.c.Codes = k
	id, err := h.flow.Scan(context.Background(), Scan{Code: code, Source: "sim", Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	if k.codes[id.SenceNo] != code || k.users[id.SenceNo] != id.UserID || id.UserID == "" || !k.expires[id.SenceNo].Equal(t0.Add(DefaultCodeTTL)) || !k.before {
		t.Fatalf("kept %v of %v until %v (before the event: %v); decoded %s", k.codes, k.users, k.expires, k.before, id.UserID)
	}
	h.gw.errs = []error{bizErr("40004", alipay.SubCodeExpired)}
	other := "286861260475412124"
	if _, err := h.flow.Scan(context.Background(), Scan{Code: other, Source: "sim", Time: t0}); err == nil {
		t.Fatal("want a failure")
	}
	if len(k.failed) != 1 || k.failed[0] == id.SenceNo || k.codes[k.failed[0]] != "" {
		t.Fatalf("failed %v, codes %v", k.failed, k.codes)
	}
}
