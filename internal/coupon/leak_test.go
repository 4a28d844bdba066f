package coupon

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
)

// A coupon that fails for good leaves its reason in a coupon_failed event
// and in the dead job's last error, both shown on screens and kept on disk.
// Neither may carry the customer's user_id, which the request holds in
// tpl_params ("who": "{user_id}") and the gateway may quote back: for a bad
// signature it echoes the whole signed request.
func TestIssueFailureKeepsUserIDOut(t *testing.T) {
	s := alipaytest.NewServer()
	defer s.Close()
	wrong, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := s.Client(func(c *alipay.Config) { c.PrivateKey = wrong })
	uid := student.UserID
	for _, tc := range []struct {
		name   string
		issuer Issuer
		want   string // in the reason
	}{
		{"gateway echoes the signed request", wrongKey, "the terminal's key does not match the app's public key on Alipay: call support"},
		{"sub_msg names the user", &fakeIssuer{errs: []error{&alipay.Error{Method: alipay.MethodPassInstanceAdd, HTTPStatus: 200,
			Code: alipay.CodeBusinessFailed, SubCode: "KP.AE_SOMETHING_NEW", SubMsg: "用户" + uid + "不可领取"}}}, "KP.AE_SOMETHING_NEW: 用户2088********1234不可领取"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, rules(t, campusRules), nil)
			h.cs.c.Issuer = tc.issuer
			if _, err := h.cs.Plan(context.Background(), student); err != nil {
				t.Fatal(err)
			}
			err := h.cs.Issue(context.Background(), h.queue.jobs[0].payload)
			var fl *Failure
			if !errors.As(err, &fl) {
				t.Fatalf("Issue = %v, want a final *Failure", err)
			}
			if !strings.Contains(fl.Reason, tc.want) {
				t.Errorf("reason %q, want it to contain %q", fl.Reason, tc.want)
			}
			if strings.Contains(err.Error(), uid) {
				t.Errorf("the dead job's last error carries the user_id: %v", err)
			}
			for _, e := range h.events.All() {
				if strings.Contains(fmt.Sprintf("%+v", e), uid) {
					t.Errorf("event %v carries the user_id", e)
				}
			}
		})
	}
}
