package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"

	"posagent/internal/config"
	"posagent/internal/scanner"
	"posagent/internal/ui"
)

// errQuit is the reason of the stopping event when staff quit the UI.
var errQuit = errors.New("quit from the terminal UI")

// WithUI runs a with the terminal UI on screen until staff quit it, ctx is
// done or a stops on its own (with its error), then stops a and closes it. configPath is the file the settings
// screen saves to ("" in the demo: nothing to save to).
func WithUI(ctx context.Context, a *Agent, configPath string) error {
	return withUI(ctx, a, ui.Deps{ConfigPath: configPath})
}

// withUI fills deps with the agent's parts; tests pass a simulated screen.
func withUI(ctx context.Context, a *Agent, deps ui.Deps) error {
	deps.Events = a.Bus.Subscribe()
	deps.Config = a.Config
	deps.StaffPIN = a.Config.StaffPIN
	deps.OnSave = func(c *config.Config) ([]string, error) {
		applied, err := a.Apply(c)
		a.logSaved(deps.ConfigPath, c, applied.Restart, err)
		return applied.Restart, err
	}
	deps.Queue = staffQueue{a.Queue, a.log}
	deps.Agreements = staffAgreements{gateway{c: a.Client, h: a.Health}, a.log}
	deps.Orders = appPayOrders{a.Client, a.Config.AppPay.NotifyURL, a.log, "staff"}
	deps.Payments = a.Payments
	deps.Scanners = scanner.List
	if w, ok := a.Scanner.(*scanner.Wedge); ok && w != nil {
		deps.Keys = w
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// An agent that stops on its own (its scanner, queue or payments
	// failed) stops the UI too: a screen left up would look live while no
	// code is read. The error is returned once the screen is restored.
	uctx, stopUI := context.WithCancel(ctx)
	defer stopUI()
	ran := make(chan error, 1)
	go func() {
		err := a.Run(ctx)
		stopUI()
		ran <- err
	}()
	uerr := ui.New(deps).Run(uctx)
	cancel(errQuit) // staff quit: stop the agent too
	err := <-ran
	return errors.Join(uerr, err, a.Close())
}

// liveKeys are the keys Apply puts into effect while posagent runs.
// staff_pin is in effect at once too: the screen that saved it checks
// the saved hash from then on.
var liveKeys = []string{"coupons", "merchant_coupon_url", "staff_pin"}

// Applied is what Apply did with a saved configuration.
type Applied struct {
	// Live are the keys now in effect: the coupon rules and the merchant
	// endpoint, always, as they are read at each decode, and the staff PIN.
	Live []string
	// Restart are the changed keys that take effect only when posagent is
	// started again, sorted: the gateway, the keys, the terminal, the
	// database and the scanner the running parts were built on.
	Restart []string
}

// Apply puts into effect what a saved configuration may change while
// posagent runs and says which changed keys wait for a restart. An error
// means nothing was applied.
func (a *Agent) Apply(c *config.Config) (Applied, error) {
	rules, err := CouponRules(c)
	if err != nil {
		return Applied{}, err
	}
	restart, err := changedKeys(a.Config, c)
	if err != nil {
		return Applied{}, err
	}
	a.Coupons.SetRules(rules, merchant(c.MerchantCouponURL))
	return Applied{Live: slices.Clone(liveKeys), Restart: restart}, nil
}

// changedKeys lists the keys other than liveKeys whose values differ
// between old and new.
func changedKeys(old, new *config.Config) ([]string, error) {
	flat := func(c *config.Config) (map[string]json.RawMessage, error) {
		data, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		return m, json.Unmarshal(data, &m)
	}
	o, err := flat(old)
	if err != nil {
		return nil, err
	}
	n, err := flat(new)
	if err != nil {
		return nil, err
	}
	all := map[string]bool{}
	for k := range o {
		all[k] = true
	}
	for k := range n {
		all[k] = true
	}
	var keys []string
	for k := range all {
		if !slices.Contains(liveKeys, k) && !bytes.Equal(o[k], n[k]) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}
