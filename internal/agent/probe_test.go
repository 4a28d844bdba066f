package agent

import (
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/event"
)

// TestProbeAtStart: with ProbeAtStart the gateway's state is known within
// a moment of starting, without a scan: up when it answers, down when it
// cannot be reached.
func TestProbeAtStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		down bool
		want string
	}{
		{"gateway answers", false, event.GatewayUp},
		{"gateway unreachable", true, event.GatewayDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			if tc.down {
				srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{Drop: true})
			}
			a := newAgentOpts(t, srv, t.TempDir(), make(feed), func(o *Options) { o.ProbeAtStart = true })
			w := start(t, a)
			w.until("gateway "+tc.want, isGateway(tc.want))
		})
	}
}
