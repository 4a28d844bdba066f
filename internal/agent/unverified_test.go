package agent

import (
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/event"
)

// An answer that does not verify as Alipay's (a proxy's error page, a
// tampered final answer) never ends a coupon: it is "gateway unreachable",
// the coupon stays queued, and is issued once the gateway answers.
func TestUnverifiedAnswerNeverEndsCoupon(t *testing.T) {
	for name, f := range map[string]alipaytest.Fault{
		"proxy's 403 page":      {HTTPStatus: 403},
		"tampered final answer": {SubCode: "INVALID_PARAMETER", BadSign: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			scan := make(feed)
			a := newAgent(t, srv, t.TempDir(), scan)
			w := start(t, a)
			f.Count = 2
			srv.SetFault(alipay.MethodPassInstanceAdd, f)
			scan <- srv.IssueCode(plain.UserID)
			w.until("the coupon", func(e event.Event) bool {
				switch e.(type) {
				case event.CouponFailed, event.Dead:
					t.Fatalf("the coupon ended on an unverified answer: %+v", e)
				}
				return e.Type() == event.TypeCouponIssued
			})
		})
	}
}
