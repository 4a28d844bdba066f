package payment

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"posagent/internal/event"
)

// At start every open payment is recovered at once: GET says so before it
// resolves, and a payment event with its state on disk comes first.
func TestRecoveredAtOnce(t *testing.T) {
	e := newEnv(t, envOpts{buyerWait: 300 * time.Millisecond})
	e.close()
	now := time.Now().Add(-time.Hour) // stored by a run an hour ago
	disk := map[string]string{"rs": event.PaymentSending, "rw": event.PaymentWaitingBuyer, "ru": event.PaymentUnknown, "rc": event.PaymentCancelling}
	for otn, st := range disk {
		r := Record{OutTradeNo: otn, SenceNo: "S" + otn, AmountFen: 100, Subject: "x", State: st, Created: now, Updated: now}
		if st == event.PaymentWaitingBuyer {
			r.WaitUntil = time.Now().Add(time.Hour) // no resolution before the checks
		}
		e.seed(r)
	}
	restart := time.Now()
	e.start(envOpts{buyerWait: 300 * time.Millisecond})
	first := map[string]event.Payment{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(first) < len(disk) {
		ev, err := e.sub.Next(ctx)
		if err != nil {
			t.Fatalf("first events %v: %v", first, err)
		}
		if p, ok := ev.(event.Payment); ok {
			if _, seen := first[p.OutTradeNo]; !seen {
				first[p.OutTradeNo] = p
			}
		}
	}
	for otn, st := range disk {
		if p := first[otn]; p.State != st || !p.Recovered || p.Time.Before(restart) {
			t.Errorf("%s: first event %+v, want state %s recovered, told at or after the restart (%s)", otn, p, st, restart.Format(time.StampMilli))
		}
	}
	p, err := e.svc.Get("rw")
	if err != nil || !p.Recovered || p.State != event.PaymentWaitingBuyer {
		t.Errorf("GET rw while the buyer is waited for: %+v, %v; want recovered", p, err)
	}
}

// GET /v1/payments lists newest first, by sence_no or state, bounded.
func TestList(t *testing.T) {
	e := newEnv(t, envOpts{})
	now := time.Now()
	for i, otn := range []string{"l1", "l2", "l3", "l4"} {
		state := event.PaymentPaid
		if otn == "l4" {
			state = event.PaymentWaitingBuyer
		}
		r := Record{OutTradeNo: otn, SenceNo: "SL" + otn, AmountFen: 100, Subject: "x", State: state,
			Created: now.Add(time.Duration(i-4) * time.Second), Updated: now}
		if err := e.svc.st.put(&r); err != nil {
			t.Fatal(err)
		}
	}
	h := e.svc.Handler()
	get := func(q string) (int, []Payment, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/payments"+q, nil))
		var body struct{ Payments []Payment }
		json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body.Payments, w.Body.String()
	}
	otns := func(ps []Payment) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.OutTradeNo)
		}
		return strings.Join(s, ",")
	}
	for _, tt := range []struct {
		q      string
		status int
		want   string
	}{
		{"", 200, "l4,l3,l2,l1"},
		{"?sence_no=SLl2", 200, "l2"},
		{"?state=paid&limit=2", 200, "l3,l2"},
		{"?state=cancelling", 200, ""},
		{"?state=open", 200, "l4"},
		{"?state=bogus", 400, "state"},
		{"?limit=101", 400, "limit"},
		{"?user=1", 400, "user"},
	} {
		st, ps, body := get(tt.q)
		if st != tt.status || (st == 200 && otns(ps) != tt.want) || (st != 200 && !strings.Contains(body, tt.want)) {
			t.Errorf("GET /v1/payments%s: %d %s, want %d %s", tt.q, st, body, tt.status, tt.want)
		}
	}
}
