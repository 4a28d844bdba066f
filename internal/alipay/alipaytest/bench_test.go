package alipaytest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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
// loopback HTTP, against the fake gateway in a process of its own
// (TestGatewayProcess): allocs/op are the client's alone, its transport
// included, and the gateway's are out of the figure. ns/op holds both
// sides' RSA work and the transport.
//
//	go test -run '^$' -bench ClientRoundTrip -benchtime 2000x ./internal/alipay/alipaytest
func BenchmarkClientRoundTrip(b *testing.B) {
	testKeys(b)
	url, code := gatewayProcess(b)
	c, err := alipay.NewClient(alipay.Config{GatewayURL: url, AppID: DefaultAppID, PrivateKey: appKey, AlipayPublicKey: &alipayKey.PublicKey})
	if err != nil {
		b.Fatal(err)
	}
	req := alipay.TwostageRequest{DynamicID: code, SenceNo: "B1", PayPID: payPID}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.TwostageCommonUse(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// gatewayProcessEnv runs TestGatewayProcess as the fake gateway.
const gatewayProcessEnv = "ALIPAYTEST_GATEWAY_PROCESS"

// gatewayProcess starts the test binary as the fake gateway and returns its
// URL and a code valid for an hour; the process ends with the benchmark.
func gatewayProcess(b *testing.B) (url, code string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestGatewayProcess$")
	cmd.Env = append(os.Environ(), gatewayProcessEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the gateway's signal to end
		cmd.Wait()
	})
	if _, err := fmt.Fscan(bufio.NewReader(stdout), &url, &code); err != nil {
		b.Fatalf("fake gateway process: %v", err)
	}
	return url, code
}

// TestGatewayProcess is the fake gateway of BenchmarkClientRoundTrip, run in
// a process of its own: it prints its URL and a code, and serves until its
// stdin closes.
func TestGatewayProcess(t *testing.T) {
	if os.Getenv(gatewayProcessEnv) == "" {
		t.Skip("the fake gateway of BenchmarkClientRoundTrip")
	}
	testKeys(t)
	s := NewServer(WithAppKey(appKey), WithAlipayKey(alipayKey), WithCodeTTL(time.Hour))
	defer s.Close()
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	fmt.Println(s.URL(), s.IssueCode("2088000000000001"))
	io.Copy(io.Discard, os.Stdin)
}
