package main

import (
	"os"
	"strings"
	"testing"
)

// docs/events.md lists the stopping reasons "in these exact words": the
// demo's is the one runDemo stops with, in the table and in the example.
func TestDemoStopReasonDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	doc, reason := string(b), errDemoPlayed.Error()
	for _, want := range []string{"| `" + reason + "` |", `"reason":"` + reason + `"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/events.md does not say %s", want)
		}
	}
}
