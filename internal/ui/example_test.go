package ui_test

import (
	"context"
	"log"

	"posagent/internal/alipay"
	"posagent/internal/config"
	"posagent/internal/event"
	"posagent/internal/queue"
	"posagent/internal/scanner"
	"posagent/internal/ui"
)

// The wiring in cmd/posagent: the UI gets a subscription of the bus the
// flow publishes to, and the real collaborators.
func ExampleNew() {
	var (
		bus     = event.NewBus()
		cfg     *config.Config // from config.Load(path)
		path    string
		q       *queue.Queue   // from queue.New
		client  *alipay.Client // from alipay.NewClientFromFiles
		wedge   *scanner.Wedge // scanner.NewWedge, when cfg.Scanner.Kind is "wedge"
		restart = func(*config.Config) ([]string, error) { return nil, nil }
	)
	deps := ui.Deps{
		Events:     bus.Subscribe(),
		Config:     cfg,
		ConfigPath: path,
		OnSave:     restart, // apply what can be applied; say what waits for a restart
		Queue:      q,
		Agreements: client,
		Orders:     client,
		Scanners:   scanner.List,
	}
	if wedge != nil { // never a nil *Wedge in the interface
		deps.Keys = wedge
	}
	app := ui.New(deps)
	if err := app.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
