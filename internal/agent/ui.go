package agent

import (
	"context"
	"fmt"
	"os"
)

// WithUI runs a until ctx is done with the terminal UI on screen, then
// closes a. configPath is the file the settings screen saves to ("" in the
// demo).
//
// The terminal UI is not in this build yet: it says so and prints events as
// JSON lines instead.
func WithUI(ctx context.Context, a *Agent, configPath string) error {
	fmt.Fprintln(os.Stderr, "posagent: the terminal UI is not in this build; printing events as JSON lines (as --headless)")
	return Headless(ctx, a, os.Stdout)
}
