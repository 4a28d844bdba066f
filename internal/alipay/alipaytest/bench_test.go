package alipaytest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"posagent/internal/alipay"
)

// BenchmarkServeTwostage is the server's own cost of one decode (parse,
// verify the request, sign the answer), without the network.
func BenchmarkServeTwostage(b *testing.B) {
	testKeys(b)
	s := NewUnstartedServer(WithAppKey(appKey), WithAlipayKey(alipayKey))
	defer s.Close()
	s.AddUser(User{UserID: "2088000000000001", Authorised: true, School: &alipay.HSchoolInfo{SchoolStdCode: "4136013432", CampusNo: "2019021208"}})
	code := s.IssueCode("2088000000000001")
	body := s.params(b, call{method: alipay.MethodTwostageCommonUse,
		biz: bizJSON(b, map[string]string{"dynamic_id": code, "sence_no": "B1", "pay_pid": payPID})}).Encode()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/gateway.do?charset=utf-8", strings.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if !strings.Contains(w.Body.String(), `"code":"10000"`) {
			b.Fatal(w.Body.String())
		}
	}
}

// BenchmarkClientRoundTrip is one decode through the real client over
// loopback HTTP: both sides' RSA work and the transport.
func BenchmarkClientRoundTrip(b *testing.B) {
	testKeys(b)
	s := NewServer(WithAppKey(appKey), WithAlipayKey(alipayKey))
	defer s.Close()
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	c := s.Client()
	code := s.IssueCode("2088000000000001")
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1000 == 999 {
			code = s.IssueCode("2088000000000001")
		}
		if _, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: code, SenceNo: fmt.Sprint("B", i/1000), PayPID: payPID}); err != nil {
			b.Fatal(err)
		}
	}
}
