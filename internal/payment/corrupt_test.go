package payment

import (
	"errors"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/event"
)

// One stored payment failing its checksum is skipped and reported; the
// other open payments are resumed, and List and Unfinished still answer.
func TestCorruptRecordSkipped(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.close()
	now := time.Now()
	for otn, st := range map[string]string{"g1": event.PaymentCancelling, "g2": event.PaymentSending, "gp": event.PaymentPaid} {
		e.seed(Record{OutTradeNo: otn, SenceNo: "S" + otn, AmountFen: 100, Subject: "x", State: st, Created: now, Updated: now})
	}
	db, err := bbolt.Open(e.dbPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := Record{OutTradeNo: "bad", SenceNo: "Sbad", AmountFen: 100, Subject: "x", State: event.PaymentSending, Created: now, Updated: now}
	v, err := encodeRecord(&bad)
	if err != nil {
		t.Fatal(err)
	}
	v[len(v)-3] ^= 1 // fails its checksum
	if err := db.Update(func(tx *bbolt.Tx) error { return putTx(tx, &bad, v) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e.start(envOpts{})
	for _, otn := range []string{"g1", "g2"} {
		if got := e.states(otn); got[len(got)-1] != event.PaymentCancelled {
			t.Errorf("%s: states %v, want resumed to cancelled", otn, got)
		}
	}
	ps, err := e.svc.List(Filter{})
	if err != nil || len(ps) != 3 {
		t.Errorf("List: %d payments, %v; want the 3 readable ones", len(ps), err)
	}
	if n, err := e.svc.Unfinished(); err != nil || n != 0 {
		t.Errorf("Unfinished: %d, %v; want 0 (the unreadable one is nobody's work)", n, err)
	}
	if _, err := e.svc.Get("bad"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of the unreadable one: %v, want ErrCorrupt", err)
	}
}
