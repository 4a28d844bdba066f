package agent

import (
	"context"
	"errors"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/decode"
)

// Rescans of one code during an outage leave one decode job in the queue,
// not one per scan: the job is the sence_no's.
func TestRescanDuringOutageOneDecodeJob(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), make(feed))
	defer a.Close()
	srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{Drop: true})
	code := srv.IssueCode(plain.UserID)
	for range 3 {
		if _, err := a.Decode.Scan(context.Background(), decode.Scan{Code: code, Source: "test"}); !errors.Is(err, decode.ErrQueued) {
			t.Fatalf("scan during the outage: %v, want it queued", err)
		}
	}
	pending, err := a.Queue.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Errorf("%d decode jobs after three scans of one code, want 1", len(pending))
	}
}
