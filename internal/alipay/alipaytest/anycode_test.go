package alipaytest

import (
	"context"
	"errors"
	"testing"

	"posagent/internal/alipay"
)

// TestWithAnyCode: a code the server never issued decodes to the demo
// customer, again with the same sence_no; a malformed one is still
// ILLEGAL_CODE and an issued one keeps its own user.
func TestWithAnyCode(t *testing.T) {
	srv := newServer(t, WithAnyCode("2088000000000001"))
	srv.AddUser(User{UserID: "2088000000000001", Authorised: true})
	srv.AddUser(User{UserID: "2088000000000002", Authorised: true})
	c := srv.Client()
	issued := srv.IssueCode("2088000000000002")
	for _, tc := range []struct {
		code, sence, user, sub string
	}{
		{"281234567890123456", "any-1", "2088000000000001", ""},
		{"281234567890123456", "any-1", "2088000000000001", ""},
		{"300099887766554433", "any-2", "2088000000000001", ""},
		{issued, "any-3", "2088000000000002", ""},
		{"181234567890123456", "any-4", "", alipay.SubIllegalCode},
	} {
		res, err := c.TwostageCommonUse(context.Background(), alipay.TwostageRequest{DynamicID: tc.code, SenceNo: tc.sence, PayPID: "2088702093900999"})
		var ae *alipay.Error
		switch {
		case tc.sub != "":
			if !errors.As(err, &ae) || ae.SubCode != tc.sub {
				t.Fatalf("%s: got %v, want %s", tc.code, err, tc.sub)
			}
		case err != nil:
			t.Fatalf("%s: %v", tc.code, err)
		case res.UserID != tc.user:
			t.Fatalf("%s: user %s, want %s", tc.code, res.UserID, tc.user)
		}
	}
}
