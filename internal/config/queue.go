package config

// DefaultQueueMaxInFlight is queue.max_in_flight when unset: the queue's own
// default (queue.DefaultMaxInFlight), which the skeleton shows.
const DefaultQueueMaxInFlight = 16

// Queue tunes the retry queue's drain after an outage (key "queue").
type Queue struct {
	// MaxInFlight bounds the requests the queue keeps in flight while the
	// gateway answers well; 0: the queue's default (16).
	MaxInFlight int `json:"max_in_flight,omitempty"`
	// MaxPerSecond caps the requests the queue starts per second: the
	// app's QPS quota at Alipay, less what the till's own scans need; 0:
	// no cap.
	MaxPerSecond float64 `json:"max_per_second,omitempty"`
}

func (c *Config) validateQueue(bad func(key, format string, args ...any)) {
	if n := c.Queue.MaxInFlight; n < 0 || n > 256 {
		bad("queue.max_in_flight", "%d: want 1 to 256 (0 or unset: 16)", n)
	}
	if r := c.Queue.MaxPerSecond; r < 0 {
		bad("queue.max_per_second", "%v: want a positive rate (0 or unset: no cap)", r)
	}
}
