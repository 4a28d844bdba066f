package agent

import (
	"context"
	"errors"

	"posagent/internal/config"
	"posagent/internal/scanner"
	"posagent/internal/ui"
)

// errRestart is what the settings screen shows after a save: the agent runs
// on the configuration it started with.
var errRestart = errors.New("the changes take effect when posagent is started again")

// WithUI runs a with the terminal UI on screen until staff quit it or ctx is
// done, then stops a and closes it. configPath is the file the settings
// screen saves to ("" in the demo: nothing to save to).
func WithUI(ctx context.Context, a *Agent, configPath string) error {
	return withUI(ctx, a, ui.Deps{ConfigPath: configPath})
}

// withUI fills deps with the agent's parts; tests pass a simulated screen.
func withUI(ctx context.Context, a *Agent, deps ui.Deps) error {
	deps.Events = a.Bus.Subscribe()
	deps.Config = a.Config
	deps.OnSave = func(*config.Config) error { return errRestart }
	deps.Queue = a.Queue
	deps.Agreements = a.Client
	deps.Orders = a.Client
	deps.Scanners = scanner.List
	if w, ok := a.Scanner.(*scanner.Wedge); ok && w != nil {
		deps.Keys = w
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	uerr := ui.New(deps).Run(ctx)
	cancel() // staff quit: stop the agent too
	err := <-ran
	return errors.Join(uerr, err, a.Close())
}
