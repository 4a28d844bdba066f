package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"posagent/internal/config"
	"posagent/internal/coupon"
	"posagent/internal/scanner"
	"posagent/internal/ui"
)

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
	deps.OnSave = func(c *config.Config) error {
		err := a.Apply(c)
		a.logSaved(deps.ConfigPath, c, err)
		return err
	}
	deps.Queue = staffQueue{a.Queue, a.log}
	deps.Agreements = staffAgreements{gateway{c: a.Client, q: a.Queue}, a.log}
	deps.Orders = staffOrders{a.Client, a.Config.AppPay.NotifyURL, a.log}
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

// Apply puts into effect what a saved configuration may change while
// posagent runs: the coupon rules and the merchant endpoint. The other keys
// name the gateway, the keys, the terminal, the database and the scanner the
// running parts were built on; if any of them changed, Apply says which take
// effect only when posagent is started again.
func (a *Agent) Apply(c *config.Config) error {
	rules, err := coupon.NewRules(c.Coupons)
	if err != nil {
		return err
	}
	a.Coupons.SetRules(rules, merchant(c.MerchantCouponURL))
	changed, err := restartKeys(a.Config, c)
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		return fmt.Errorf("coupons applied; %s take effect when posagent is started again", strings.Join(changed, ", "))
	}
	return nil
}

// restartKeys lists the keys other than the coupon settings whose values
// differ between old and new.
func restartKeys(old, new *config.Config) ([]string, error) {
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
		if k != "coupons" && k != "merchant_coupon_url" && !bytes.Equal(o[k], n[k]) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}
