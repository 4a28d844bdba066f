package eventtest

import (
	"testing"

	"posagent/internal/event"
)

func TestRecorderWaitsInOrder(t *testing.T) {
	var r Recorder
	if r.Last() != nil {
		t.Fatal("Last before any event")
	}
	go func() {
		r.Publish(event.Gateway{State: event.GatewayDown})
		r.Publish(event.Gateway{State: event.GatewayUp})
		r.Publish(event.Gateway{State: event.GatewayDown})
	}()
	isDown := func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayDown }
	r.Wait(t, "first down", isDown)
	r.Wait(t, "second down", isDown)
	if got := r.Types(); len(got) != 3 || got[0] != event.TypeGateway {
		t.Errorf("Types = %v", got)
	}
	if g := r.Last().(event.Gateway); g.State != event.GatewayDown || len(r.All()) != 3 {
		t.Errorf("Last = %+v, All = %v", g, r.All())
	}
}
