package config

import "time"

// DefaultBuyerWait is how long a payment waits for a buyer who must confirm
// it in the Alipay app before posagent cancels it.
const DefaultBuyerWait = 30 * time.Second

// MaxBuyerWaitSeconds bounds payment.buyer_wait_seconds: a customer at the
// till does not wait longer, and the payment code itself lives about a
// minute.
const MaxBuyerWaitSeconds = 600

// Payment is the key "payment": stage two, taking the payment with the
// scanned code.
type Payment struct {
	// BuyerWaitSeconds: how long to wait for a buyer who must confirm in
	// the app (alipay.trade.pay answered 10003); 0 means DefaultBuyerWait.
	BuyerWaitSeconds int `json:"buyer_wait_seconds,omitempty"`
	// KeepDays: how many days the record of a finished payment is kept
	// in the database; 0 means DefaultPaymentKeepDays.
	KeepDays int `json:"keep_days,omitempty"`
}

// DefaultPaymentKeepDays is payment.keep_days when unset.
const DefaultPaymentKeepDays = 90

// MaxPaymentKeepDays bounds payment.keep_days (ten years).
const MaxPaymentKeepDays = 3650

// PaymentKeep is payment.keep_days as a duration, or its default.
func (c *Config) PaymentKeep() time.Duration {
	d := DefaultPaymentKeepDays
	if c.Payment != nil && c.Payment.KeepDays != 0 {
		d = c.Payment.KeepDays
	}
	return time.Duration(d) * 24 * time.Hour
}

// BuyerWait is payment.buyer_wait_seconds as a duration, or its default.
func (c *Config) BuyerWait() time.Duration {
	if c.Payment == nil || c.Payment.BuyerWaitSeconds == 0 {
		return DefaultBuyerWait
	}
	return time.Duration(c.Payment.BuyerWaitSeconds) * time.Second
}

func (c *Config) validatePayment(bad func(key, format string, args ...any)) {
	if c.Payment == nil {
		return
	}
	if s := c.Payment.BuyerWaitSeconds; s < 0 || s > MaxBuyerWaitSeconds {
		bad("payment.buyer_wait_seconds", "%d: want 1 to %d (0 or unset: %d)", s, MaxBuyerWaitSeconds, int(DefaultBuyerWait/time.Second))
	}
	if d := c.Payment.KeepDays; d < 0 || d > MaxPaymentKeepDays {
		bad("payment.keep_days", "%d: want 1 to %d (0 or unset: %d)", d, MaxPaymentKeepDays, DefaultPaymentKeepDays)
	}
}
