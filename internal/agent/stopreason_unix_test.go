//go:build unix

package agent

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// The stopping event names the signal that stopped the agent, in the words
// docs/events.md gives.
func TestStopReasonNamesTheSignal(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGINT, "interrupt signal received"},
		{syscall.SIGTERM, "terminated signal received"},
		{syscall.SIGHUP, "hangup signal received"},
	} {
		ctx, stop := signal.NotifyContext(context.Background(), tc.sig)
		if err := syscall.Kill(os.Getpid(), tc.sig); err != nil {
			t.Fatal(err)
		}
		<-ctx.Done()
		stop()
		if got := stopReason(ctx, nil); got != tc.want {
			t.Errorf("%v: reason %q, want %q", tc.sig, got, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := stopReason(ctx, nil); got != "stopped" {
		t.Errorf("plain cancel: %q", got)
	}
	if got := stopReason(ctx, errors.New("scanner: gone")); got != "scanner: gone" {
		t.Errorf("an error: %q", got)
	}
}
