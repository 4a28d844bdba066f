package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"posagent/internal/dbfile"
	"posagent/internal/headless"
	"posagent/internal/queue"
	"posagent/internal/redact"
	"posagent/internal/scanner"
)

// StdoutGrace is how long a stopping headless agent waits for the events
// it has yet to print: the reader of stdout may be slow but alive. A reader
// that has stopped reading (a full pipe) would otherwise hold the agent's
// exit forever, since a write to stdout cannot be cancelled.
const StdoutGrace = 2 * time.Second

// Serve runs a until ctx is done in the mode posagent was started in: the
// TUI (configPath is the file its settings screen saves to, "" for none),
// or headless with the events on stdout and, for a keyboard-wedge scanner,
// its keystrokes read from stdin (the scanner types into posagent's
// terminal).
func Serve(ctx context.Context, a *Agent, headless bool, configPath string, stdin io.Reader, stdout io.Writer) error {
	if !headless {
		return WithUI(ctx, a, configPath)
	}
	if w, ok := a.Scanner.(*scanner.Wedge); ok {
		go FeedKeys(ctx, w, stdin)
	}
	return Headless(ctx, a, stdout)
}

// Headless runs a until ctx is done, printing its events as JSON lines on w,
// then closes a. Every event published before the bus closes is printed, if
// w takes it within StdoutGrace of the stop.
//
// When w fails (stdout closed: EPIPE, with SIGPIPE ignored, as main does)
// the agent says so on its log and stops as it would on ctx: printing
// events is a headless agent's whole job.
func Headless(ctx context.Context, a *Agent, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub := a.Bus.Subscribe()
	printed := make(chan error, 1)
	go func() {
		err := headless.Print(context.Background(), sub, w)
		if err != nil {
			sub.Close() // nobody reads it any more
			a.log.Error(stdoutFailed(err), "err", err)
			cancel()
		}
		printed <- err
	}()
	err := a.Run(ctx)
	cerr := a.Close()
	select {
	case <-printed: // a failure is logged above: the stop it caused is clean
	case <-time.After(StdoutGrace):
		a.log.Error("stdout not read: stopping without printing the last events", "waited", StdoutGrace)
	}
	return errors.Join(err, cerr)
}

// stdoutFailed is the log message for an error writing the events.
func stdoutFailed(err error) string {
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) {
		return "stdout closed: stopping"
	}
	return "stdout failed: stopping"
}

// Idle reports whether the queue holds no pending job and no payment is
// open: a headless demo must not stop while a POS's payment resolves.
func (a *Agent) Idle() bool {
	pending, _, err := a.Queue.Stats()
	if err != nil || pending != 0 {
		return false
	}
	open, err := a.Payments.Unfinished()
	return err == nil && open == 0
}

// ShowQueue prints the jobs of the queue in dataDir. It opens the database
// read-only, so it creates and changes nothing, and fails while posagent
// runs (the error names the process).
func ShowQueue(w io.Writer, dataDir string) error {
	db, err := dbfile.Open(filepath.Join(dataDir, DBFile), dbfile.Options{ReadOnly: true})
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no queue here: %w", err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	pending, dead, quarantined, err := queue.Read(db)
	if err != nil {
		return err
	}
	if err := WriteJobs(w, pending, dead); err != nil {
		return err
	}
	if quarantined > 0 {
		_, err = fmt.Fprintf(w, "%d damaged records quarantined: never run; see the agent's log for which\n", quarantined)
	}
	return err
}

// WriteJobs prints the queue's jobs as a table, pending first.
func WriteJobs(w io.Writer, pending, dead []queue.Job) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "STATE\tID\tKIND\tKEY\tATTEMPTS\tNEXT\tDEADLINE\tLAST ERROR\n")
	for _, group := range []struct {
		state string
		jobs  []queue.Job
	}{{"pending", pending}, {"dead", dead}} {
		for _, j := range group.jobs {
			next := "-"
			if group.state == "pending" {
				next = j.NextAt.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", group.state, j.ID, j.Kind, j.Key, j.Attempts,
				next, j.Deadline.Format(time.DateTime), oneLine(j.LastError))
		}
	}
	fmt.Fprintf(tw, "\n%d pending, %d dead\n", len(pending), len(dead))
	return tw.Flush()
}

// oneLine shows a job's last error in one table row of at most 120
// characters, masked (redact.Line).
func oneLine(s string) string {
	out := []rune(redact.Line(s))
	if len(out) > 120 {
		out = append(out[:117], '.', '.', '.')
	}
	return string(out)
}

// FeedKeys passes what arrives on r to a keyboard-wedge scanner, as the TUI
// passes keystrokes: a wedge scanner in headless mode types into posagent's
// terminal, so its codes arrive on stdin. A newline is Enter, '\r', as the
// TUI sends it. It returns at the end of r or when ctx is done.
func FeedKeys(ctx context.Context, w *scanner.Wedge, r io.Reader) error {
	br := bufio.NewReader(r)
	for ctx.Err() == nil {
		c, _, err := br.ReadRune()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		if c == '\n' {
			c = '\r'
		}
		w.Key(c, time.Now())
	}
	return ctx.Err()
}
