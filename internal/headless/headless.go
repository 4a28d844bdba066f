// Package headless prints events for programs instead of people: one JSON
// object per line (see event.MarshalJSONLine and docs/events.md).
package headless

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"posagent/internal/event"
)

// Print writes every event of sub to w, one line each, until sub is closed
// and drained (then it returns nil) or ctx is done. Lines are flushed as soon
// as no more events are waiting, so a reader sees each event at once.
func Print(ctx context.Context, sub *event.Subscription, w io.Writer) error {
	bw := bufio.NewWriter(w)
	for {
		e, ok := sub.TryNext()
		if !ok {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("headless: %w", err)
			}
			e2, err := sub.Next(ctx)
			if errors.Is(err, event.ErrClosed) {
				return nil
			}
			if err != nil {
				return err
			}
			e = e2
		}
		line, err := event.MarshalJSONLine(e)
		if err != nil {
			return fmt.Errorf("headless: %w", err)
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
}
