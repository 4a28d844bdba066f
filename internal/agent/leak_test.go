package agent

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/event"
)

// The gateway's sub_msg sometimes quotes the payment code or the user id.
// Fed through every path (a decode retried, a decode refused, a coupon
// retried, a coupon refused for good), no such text leaves the process in
// clear: not on headless stdout (but for decoded.user_id, the integration
// field), not in the log.
func TestQuotingAnswersLeaveMasked(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	var logged bytes.Buffer
	log, _, err := Logger(true, dir, &logged, LogText)
	if err != nil {
		t.Fatal(err)
	}
	scan := make(feed)
	a := newAgentOpts(t, srv, dir, scan, func(o *Options) { o.Log = log })
	w := &watcher{t: t, sub: a.Bus.Subscribe()}
	var stdout bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Headless(ctx, a, &stdout) }()

	retried := srv.IssueCode(student.UserID)
	couponRefused := srv.IssueCode(plain.UserID)
	refused := srv.IssueCode(plain.UserID)
	secrets := []string{retried, couponRefused, refused, student.UserID, plain.UserID}
	quote := "码 " + retried + " 用户 " + student.UserID + " / " + refused + " " + plain.UserID

	// A decode retried once, then decoded; a coupon of it retried once.
	srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{SubCode: alipay.SubSystemError, SubMsg: quote, Count: 1})
	srv.SetFault(alipay.MethodPassInstanceAdd, alipaytest.Fault{SubCode: alipay.SubPassSystemError, SubMsg: quote, Count: 1})
	scan <- retried
	w.until("the decode", ended)
	w.reach("both coupons issued", 2, isType(event.TypeCouponIssued))
	// A coupon refused for good.
	srv.SetFault(alipay.MethodPassInstanceAdd, alipaytest.Fault{SubCode: "TEMPLATE_NOT_EXIST", SubMsg: quote})
	scan <- couponRefused
	w.until("a coupon refused", isType(event.TypeCouponFailed))
	// A decode refused for good.
	srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{SubCode: alipay.SubDecodeFailed, SubMsg: quote})
	scan <- refused
	w.until("the refusal", func(e event.Event) bool { return e.Type() == event.TypeDecodeFailed })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(stdout.String(), `"type":"queued"`) || !strings.Contains(stdout.String(), "28****") {
		t.Fatalf("no masked reason on stdout:\n%s", stdout.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.Contains(line, `"type":"decoded"`) {
			line = strings.Replace(strings.Replace(line, `"user_id":"`+student.UserID+`"`, "", 1), `"user_id":"`+plain.UserID+`"`, "", 1)
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("stdout line holds %s: %s", s, line)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(logged.String(), s) {
			t.Errorf("the log holds %s:\n%s", s, logged.String())
		}
	}
}
