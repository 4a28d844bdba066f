package headless

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"posagent/internal/event"
)

func TestPrintsLinesUntilClosed(t *testing.T) {
	bus := event.NewBus()
	sub := bus.Subscribe()
	at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	bus.Publish(event.Scan{Stamp: event.Stamp{Time: at}, CodeMasked: "28************2123", Source: "sim"})
	bus.Publish(event.Gateway{Stamp: event.Stamp{Time: at}, State: event.GatewayDown})
	bus.Close()
	var out bytes.Buffer
	if err := Print(context.Background(), sub, &out); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	for i, want := range []string{"scan", "gateway"} {
		var m map[string]any
		if err := json.Unmarshal(lines[i], &m); err != nil || m["type"] != want || m["time"] == nil {
			t.Errorf("line %d = %s (%v), want type %s", i, lines[i], err, want)
		}
	}
}

func TestPrintStopsOnContext(t *testing.T) {
	bus := event.NewBus()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Print(ctx, bus.Subscribe(), &bytes.Buffer{}); err != context.Canceled {
		t.Fatalf("Print = %v, want context.Canceled", err)
	}
}
