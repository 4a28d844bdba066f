package agent

import (
	"bufio"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/config"
	"posagent/internal/coupon"
	"posagent/internal/dbfile"
	"posagent/internal/queue"
	"posagent/internal/scanner"
)

// childEnv names the configuration file a re-executed test binary runs the
// agent on, as `posagent run --config FILE --headless` does, with a scanner
// that reads codes from stdin.
const childEnv = "POSAGENT_TEST_AGENT_CONFIG"

func TestMain(m *testing.M) {
	if path := os.Getenv(payChildEnv); path != "" {
		if err := runPayChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if path := os.Getenv(childEnv); path != "" {
		if err := runChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(path string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := config.Load(path)
	if err != nil {
		return err
	}
	a, err := New(Options{Config: c, Scanner: &stdinScanner{r: os.Stdin}, Queue: fastQueue,
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	return Headless(ctx, a, os.Stdout)
}

// stdinScanner scans each line of r as a code, except the lines command
// takes (a child's orders from its test, e.g. "pay ...").
type stdinScanner struct {
	r       io.Reader
	command func(fields []string) bool // nil: every line is a code
}

func (s *stdinScanner) Run(ctx context.Context, out chan<- scanner.Event) error {
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(s.r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-lines:
			if s.command != nil && s.command(strings.Fields(l)) {
				continue
			}
			select {
			case out <- scanner.Event{Kind: scanner.EventScan, Device: "stdin", Scan: scanner.Scan{Code: l, Source: "stdin", Time: time.Now()}}:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// child is a running agent process.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan map[string]any
	seen   []map[string]any
}

func startChild(t *testing.T, configPath string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+configPath)
	return runChildCmd(t, cmd)
}

// runChildCmd starts cmd, a re-executed test binary, as a child agent.
func runChildCmd(t *testing.T, cmd *exec.Cmd) *child {
	t.Helper()
	cmd.Stderr = &prefixed{t: t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, stdin: stdin, events: make(chan map[string]any, 256)}
	go func() {
		defer close(c.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("child printed a line that is not JSON: %q", sc.Text())
				continue
			}
			c.events <- m
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return c
}

// prefixed passes the child's log to the test log.
type prefixed struct{ t *testing.T }

func (p *prefixed) Write(b []byte) (int, error) {
	p.t.Logf("child: %s", b)
	return len(b), nil
}

func (c *child) scan(code string) {
	if _, err := io.WriteString(c.stdin, code+"\n"); err != nil {
		c.t.Fatal(err)
	}
}

// until returns the first event from now on that ok accepts.
func (c *child) until(what string, ok func(map[string]any) bool) map[string]any {
	c.t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case e, open := <-c.events:
			if !open {
				c.t.Fatalf("waiting for %s: the child's output ended; seen: %v", what, c.seen)
			}
			c.seen = append(c.seen, e)
			if ok(e) {
				return e
			}
		case <-timeout:
			c.t.Fatalf("waiting for %s: timed out; seen: %v", what, c.seen)
		}
	}
}

// reach waits until n of the events seen, before or from now on, are
// accepted by ok.
func (c *child) reach(what string, n int, ok func(map[string]any) bool) {
	c.t.Helper()
	count := func() int {
		k := 0
		for _, e := range c.seen {
			if ok(e) {
				k++
			}
		}
		return k
	}
	for count() < n {
		c.until(what, ok)
	}
}

func typed(typ string) func(map[string]any) bool {
	return func(e map[string]any) bool { return e["type"] == typ }
}

// The agent is killed with SIGKILL while coupons and a decode wait in the
// queue. After a restart each goes out once, the decode with the sence_no it
// had, and a rescan of a decoded code keeps its sence_no and issues nothing
// again.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs subprocesses")
	}
	srv := newServer(t)
	dir := t.TempDir()
	appKey, alipayPub, err := srv.WriteKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := testConfig(t, srv, filepath.Join(dir, "data"))
	c.AppPrivateKey, c.AlipayPublicKey = appKey, alipayPub
	configPath := filepath.Join(dir, "posagent.json")
	if err := config.Save(configPath, c); err != nil {
		t.Fatal(err)
	}

	// Coupons cannot go out: the gateway drops them.
	srv.SetFault(alipay.MethodPassInstanceAdd, alipaytest.Fault{Drop: true})
	first := startChild(t, configPath)
	studentCode, plainCode := srv.IssueCode(student.UserID), srv.IssueCode(plain.UserID)
	first.scan(studentCode)
	studentSence := first.until("the student decoded", typed("decoded"))["sence_no"]
	jobs := map[any]bool{}
	first.until("both coupons queued", func(e map[string]any) bool {
		if e["type"] == "queued" && e["kind"] == coupon.JobKind {
			jobs[e["job_id"]] = true
		}
		return len(jobs) == 2
	})
	// Decodes cannot go through either now.
	srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{Code20000: true})
	first.scan(plainCode)
	plainSence := first.until("the plain decode sent", typed("decoding"))["sence_no"]
	first.until("the plain decode queued", func(e map[string]any) bool {
		return e["type"] == "queued" && e["kind"] == "decode"
	})
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()

	srv.ClearFaults()
	second := startChild(t, configPath)
	plainDecoded := second.until("the queued decode decoded", typed("decoded"))
	if plainDecoded["sence_no"] != plainSence || plainDecoded["user_id"] != "2088000000000002" || plainDecoded["user_id_masked"] != "2088********0002" {
		t.Errorf("after restart decoded %v, want sence_no %v", plainDecoded, plainSence)
	}
	second.reach("3 coupons issued", 3, typed("coupon_issued"))
	second.scan(studentCode)
	if again := second.until("the rescan decoded", typed("decoded")); again["sence_no"] != studentSence {
		t.Errorf("rescan got sence_no %v, want %v", again["sence_no"], studentSence)
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range second.events { // the rest, up to the end of output
	}
	if err := second.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want a clean exit", err)
	}

	passes := srv.Passes()
	if len(passes) != 3 {
		t.Fatalf("%d passes, want 3: %+v", len(passes), passes)
	}
	serials := map[string]bool{}
	for _, p := range passes {
		// A request the killed agent had sent may reach the gateway after
		// its death, faults cleared: the next agent's retry of it gets the
		// same pass (the gateway is idempotent on serialNumber). More
		// than that would be a coupon sent again without cause.
		if serials[p.SerialNumber] || p.Requests > 2 {
			t.Errorf("pass %s/%s issued again (%d requests)", p.TplID, p.SerialNumber, p.Requests)
		}
		serials[p.SerialNumber] = true
	}
	for _, r := range srv.Requests() {
		biz := bizOf(r)
		switch {
		case r.Method != alipay.MethodTwostageCommonUse:
		case biz["dynamic_id"] == studentCode && biz["sence_no"] != studentSence,
			biz["dynamic_id"] == plainCode && biz["sence_no"] != plainSence:
			t.Errorf("decode of %v sent sence_no %v", biz["dynamic_id"], biz["sence_no"])
		}
	}
	// Nothing is left behind.
	db, err := dbfile.Open(filepath.Join(c.DataDir, DBFile), dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := queue.New(db, queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pending, dead, err := q.Stats(); pending != 0 || dead != 0 || err != nil {
		t.Errorf("queue after the run: %d pending, %d dead, %v", pending, dead, err)
	}
}

// take reads up to n more of the child's events (all, if n < 0), for at
// most wait; it returns early when the child's output ends.
func (c *child) take(n int, wait time.Duration) {
	timeout := time.After(wait)
	for i := 0; n < 0 || i < n; i++ {
		select {
		case e, ok := <-c.events:
			if !ok {
				return
			}
			c.seen = append(c.seen, e)
		case <-timeout:
			return
		}
	}
}
