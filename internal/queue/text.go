package queue

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes pending and dead jobs as two aligned tables, for
// `posagent queue`; times are shown relative to now. Payloads are left out:
// they may hold personal data.
func WriteText(w io.Writer, pending, dead []Job, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PENDING (%d)\n", len(pending))
	if len(pending) > 0 {
		fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPTS\tNEXT\tDEADLINE\tKEY\tLAST ERROR")
		for _, j := range pending {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", j.ID, j.Kind, j.State, j.Attempts,
				relative(j.NextAt, now), relative(j.Deadline, now), orDash(j.Key), orDash(oneLine(j.LastError)))
		}
	}
	fmt.Fprintf(tw, "\nDEAD (%d)\n", len(dead))
	if len(dead) > 0 {
		fmt.Fprintln(tw, "ID\tKIND\tATTEMPTS\tCREATED\tKEY\tREASON")
		for _, j := range dead {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, j.Kind, j.Attempts,
				relative(j.Created, now), orDash(j.Key), orDash(oneLine(j.LastError)))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write queue listing: %w", err)
	}
	return nil
}

// WriteText lists the queue's pending and dead jobs as WriteText does.
func (q *Queue) WriteText(w io.Writer) error {
	pending, err := q.Pending()
	if err != nil {
		return err
	}
	dead, err := q.Dead()
	if err != nil {
		return err
	}
	return WriteText(w, pending, dead, q.now())
}

// relative says "now", "in 1m30s" or "2h0m0s ago", to the second.
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d == 0:
		return "now"
	case d > 0:
		return "in " + d.String()
	default:
		return (-d).String() + " ago"
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps an error message from breaking the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
