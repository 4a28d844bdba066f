package agent

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/config"
)

// soakRounds is how many times the soak kills the agent.
const soakRounds = 60

// The agent process is killed (SIGKILL) at random instants, 60 times, while
// customers are scanned, a merchant endpoint adds a coupon, and the gateway
// goes through outages. Every customer the agent reported decoded gets each
// of their coupons exactly once in the end: none lost, none doubled.
func TestSoakKillRestartNoCouponLostOrDoubled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the agent 60 times")
	}
	srv := newServer(t)
	// A merchant endpoint slow to answer, as a real one may be.
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-r.Context().Done():
		}
		io.WriteString(w, `{"coupons":[{"tpl_id":"tplMerchant"}]}`)
	}))
	defer merchant.Close()
	dir := t.TempDir()
	appKey, alipayPub, err := srv.WriteKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := testConfig(t, srv, filepath.Join(dir, "data"))
	c.AppPrivateKey, c.AlipayPublicKey, c.MerchantCouponURL = appKey, alipayPub, merchant.URL
	configPath := filepath.Join(dir, "posagent.json")
	if err := config.Save(configPath, c); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(14, 60))
	want := map[string][]string{ // tpl_ids by user
		student.UserID: {"tplCampus", "tplAny", "tplMerchant"},
		plain.UserID:   {"tplAny", "tplMerchant"},
	}
	owed := map[string]string{} // sence_no → user_id, of every decoded event
	faults := []alipaytest.Fault{{}, {Drop: true}, {HTTPStatus: 502}, {Latency: 30 * time.Millisecond}}
	for range soakRounds {
		srv.ClearFaults()
		if f := faults[rng.IntN(len(faults))]; f != (alipaytest.Fault{}) {
			srv.SetFault(alipay.MethodPassInstanceAdd, f)
		}
		if rng.IntN(4) == 0 {
			srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{Drop: true, Count: 1})
		}
		ch := startChild(t, configPath)
		for range 1 + rng.IntN(2) {
			u := student
			if rng.IntN(2) == 0 {
				u = plain
			}
			ch.scan(srv.IssueCode(u.UserID))
		}
		// Kill after a random number of the child's events: anywhere from
		// before the first decode to the middle of issuing coupons.
		ch.take(rng.IntN(12), 5*time.Second)
		ch.cmd.Process.Signal(syscall.SIGKILL)
		ch.cmd.Wait()
		ch.take(-1, 5*time.Second) // what it printed before it died
		for _, e := range ch.seen {
			if e["type"] == "decoded" {
				owed[e["sence_no"].(string)] = e["user_id"].(string)
			}
		}
	}
	srv.ClearFaults()
	last := startChild(t, configPath)
	defer func() {
		last.cmd.Process.Signal(syscall.SIGTERM)
		last.take(-1, 10*time.Second)
		last.cmd.Wait()
	}()
	if len(owed) < soakRounds/4 {
		t.Fatalf("only %d customers decoded in %d rounds: the soak tests too little", len(owed), soakRounds)
	}
	missing := func() []string {
		got := map[string]int{}
		for _, p := range srv.Passes() {
			got[p.RecognitionInfo.OutTradeNo+" "+p.TplID]++
		}
		var out []string
		for sence, user := range owed {
			for _, tpl := range want[user] {
				switch got[sence+" "+tpl] {
				case 1:
				case 0:
					out = append(out, fmt.Sprintf("%s %s lost", sence, tpl))
				default:
					out = append(out, fmt.Sprintf("%s %s doubled", sence, tpl))
				}
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		last.take(1, time.Second)
	}
	if m := missing(); len(m) > 0 {
		t.Errorf("after %d kills, %d customers decoded: %v", soakRounds, len(owed), m)
	}
	t.Logf("%d kills, %d customers decoded, %d passes", soakRounds, len(owed), len(srv.Passes()))
}
