package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"posagent/internal/agent"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/config"
	"posagent/internal/dbfile"
	"posagent/internal/demo"
	"posagent/internal/queue"
)

// mainEnv makes the test binary run main with the arguments after "--".
const mainEnv = "POSAGENT_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) != "" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"posagent"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// posagent returns the command running posagent with args.
func posagent(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	return cmd
}

func lines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var evs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m["type"] == nil || m["time"] == nil {
			t.Fatalf("stdout line %q is not an event (%v)", sc.Text(), err)
		}
		evs = append(evs, m)
	}
	return evs
}

// The demo, headless and sped up, shows decodes, refusals, coupons and an
// outage with its recovery, then ends by itself.
func TestDemoHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := posagent(ctx, "demo", "--headless", "--speed", "8")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr.String())
	}
	evs := lines(t, stdout.Bytes())
	checkContract(t, evs)
	if r := evs[len(evs)-1]["reason"]; r != errDemoPlayed.Error() {
		t.Errorf("stopping reason %q, want %q", r, errDemoPlayed)
	}
	if u, _ := evs[0]["api_url"].(string); !strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasSuffix(u, ":0") {
		t.Errorf("started.api_url %q: want the loopback port the demo picked", u)
	}
	count := map[string]int{}
	for _, e := range evs {
		k := e["type"].(string)
		switch k {
		case "decode_failed":
			k += " " + e["sub_code"].(string)
		case "gateway":
			k += " " + e["state"].(string)
		}
		count[k]++
	}
	want := map[string]int{
		"decoded": 4, "coupon_issued": 5, "gateway down": 1, "gateway up": 2,
		"decode_failed ILLEGAL_CODE": 1, "decode_failed CODE_EXPIRED": 1, "decode_failed USER_UN_AUTH": 1,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s events, want %d (all: %v)", count[k], k, n, count)
		}
	}
	// The full user_id goes to stdout (an integration channel) in decoded
	// events only; stderr (the log) masks it.
	for _, u := range []string{demo.Student.UserID, demo.Student2.UserID, demo.Plain.UserID} {
		if strings.Contains(stderr.String(), u) {
			t.Errorf("stderr holds user id %s in clear", u)
		}
		for _, line := range strings.Split(stdout.String(), "\n") {
			if strings.Contains(line, u) && !strings.Contains(line, `"type":"decoded"`) {
				t.Errorf("a %.40s… line holds user id %s in clear", line, u)
			}
		}
	}
}

func TestRunNamesBadKey(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ body, key string }{
		{`{"app_id": "1", "colour": "red"}`, "colour"},
		{`{"app_id": "2021000000000001", "app_private_key": "k.pem", "alipay_public_key": "p.pem", "terminal_id": "t", "data_dir": "d", "scanner": {"kind": "sim"}}`, "pay_pid"},
	} {
		path := filepath.Join(dir, "c.json")
		os.WriteFile(path, []byte(tt.body), 0o600)
		var stderr bytes.Buffer
		cmd := posagent(context.Background(), "run", "--config", path, "--headless")
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), tt.key) {
			t.Errorf("run with %s: %v, stderr %q; want exit 1 naming %q", tt.body, err, stderr.String(), tt.key)
		}
	}
}

// `run --headless` on a configuration with the simulated scanner decodes
// against the fake gateway and stops cleanly on SIGTERM, on Ctrl-C, and on
// SIGHUP (a closed terminal or a dropped SSH session).
func TestRunHeadlessStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) { runUntilSignal(t, sig) })
	}
}

func runUntilSignal(t *testing.T, sig syscall.Signal) {
	srv := alipaytest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	appKey, alipayPub, err := srv.WriteKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &config.Config{GatewayURL: srv.URL(), AppID: srv.AppID(), AppPrivateKey: appKey, AlipayPublicKey: alipayPub,
		PayPID: "2088702093900999", TerminalID: "till9", DataDir: filepath.Join(dir, "data"), Scanner: config.Scanner{Kind: config.ScannerSim},
		API: config.API{Listen: "127.0.0.1:0"}} // a free port: other tests share the machine
	c.SetDefaults()
	path := filepath.Join(dir, "posagent.json")
	if err := config.Save(path, c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := posagent(ctx, "run", "--config", path, "--headless")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The built-in script's codes are unknown to the gateway.
	sc := bufio.NewScanner(stdout)
	var out bytes.Buffer
	for sc.Scan() {
		out.Write(sc.Bytes())
		out.WriteByte('\n')
		if strings.Contains(sc.Text(), `"sub_code":"INDEX_NOT_EXIST"`) {
			break
		}
	}
	cmd.Process.Signal(sig)
	for sc.Scan() {
		out.Write(sc.Bytes())
		out.WriteByte('\n')
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after %v: %v\n%s", sig, err, stderr.String())
	}
	if evs := lines(t, out.Bytes()); len(evs) < 3 {
		t.Errorf("events: %s", out.String())
	}
}

func TestQueueCommandListsJobs(t *testing.T) {
	dir := t.TempDir()
	db, err := dbfile.Open(filepath.Join(dir, agent.DBFile), dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(db, queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(context.Background(), queue.Job{Kind: "coupon", Key: "12345678901234567890", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err := posagent(context.Background(), "queue", "--data", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("queue: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "pending") || !strings.Contains(string(out), "coupon") || !strings.Contains(string(out), "1 pending, 0 dead") {
		t.Errorf("queue printed:\n%s", out)
	}
	out, err = posagent(context.Background(), "queue", "--data", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no queue") {
		t.Errorf("queue in an empty dir: %v\n%s", err, out)
	}
}

// `posagent queue` on a damaged database says which file and what to do,
// never crashes (a file cut short was mapped and read past its end:
// SIGBUS), and changes nothing: an empty file stays empty, no pid file
// appears.
func TestQueueCommandDamagedDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, agent.DBFile)
	db, err := dbfile.Open(path, dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(db, queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := q.Enqueue(context.Background(), queue.Job{Kind: "coupon", Key: fmt.Sprint(i), Payload: bytes.Repeat([]byte("x"), 400)}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{8192, 0} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			if err := os.WriteFile(path, good[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			os.Remove(dbfile.PIDPath(path))
			out, err := posagent(context.Background(), "queue", "--data", dir).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Errorf("queue on a database cut to %d bytes: %v, want exit 1", size, err)
			}
			if s := string(out); strings.Contains(s, "goroutine ") || !strings.Contains(s, path) || !strings.Contains(s, "move it aside") {
				t.Errorf("queue on a database cut to %d bytes printed:\n%s\nwant an error naming %s and what to do", size, out, path)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() != int64(size) || fi.Mode() != 0o600 {
				t.Errorf("the database was changed: %v, %v", fi, err)
			}
			if _, err := os.Stat(dbfile.PIDPath(path)); err == nil {
				t.Error("queue wrote a pid file")
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	err := posagent(context.Background(), "dance").Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("unknown command: %v, want exit 2", err)
	}
}

// The sample configuration docs/configuration.md names loads, with its coupon rules.
func TestSampleConfigLoads(t *testing.T) {
	c, err := config.Load(filepath.Join("..", "..", "testdata", "config", "posagent.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agent.CouponRules(c); err != nil {
		t.Fatal(err)
	}
}

func TestScannersCommand(t *testing.T) {
	out, err := posagent(context.Background(), "scanners").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "KIND") {
		t.Errorf("scanners: %v\n%s", err, out)
	}
}

// checkContract checks the event contract on a run's events: started first
// and stopping last, seq growing by one from 1, and every customer event
// joined to a sence_no that a scan introduced.
func checkContract(t *testing.T, evs []map[string]any) {
	t.Helper()
	if len(evs) < 2 || evs[0]["type"] != "started" || evs[len(evs)-1]["type"] != "stopping" {
		t.Fatalf("want started first and stopping last; got %d events", len(evs))
	}
	for _, k := range []string{"version", "run_id", "terminal_id", "gateway_url", "data_dir", "scanner", "api_url", "api_token_file"} {
		if _, ok := evs[0][k]; !ok {
			t.Errorf("started has no %s: %v", k, evs[0])
		}
	}
	if evs[0]["run_id"] == "" || evs[0]["scanner"] != "sim" {
		t.Errorf("started = %v", evs[0])
	}
	scanned := map[string]bool{}
	for i, e := range evs {
		if seq, _ := e["seq"].(float64); int(seq) != i+1 {
			t.Fatalf("event %d (%s) has seq %v, want %d", i, e["type"], e["seq"], i+1)
		}
		sn, _ := e["sence_no"].(string)
		switch e["type"] {
		case "scan":
			if sn == "" {
				t.Errorf("scan without sence_no: %v", e)
			}
			scanned[sn] = true
		case "decoding", "decoded", "decode_failed", "coupon_issued", "coupon_failed", "queued", "dead":
			if !scanned[sn] {
				t.Errorf("%s with sence_no %q joins no scan before it: %v", e["type"], sn, e)
			}
		}
		if e["type"] == "queued" && e["kind"] == "coupon" && (e["tpl_id"] == "" || e["serial_number"] == "") {
			t.Errorf("queued coupon job without tpl_id/serial_number: %v", e)
		}
	}
}

func TestQueueChangeArguments(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"queue", "retry", "--data", dir}, "which job?"},
		{[]string{"queue", "drop", "7", "--data", dir}, "no running posagent"},
		{[]string{"queue", "--data", dir, "drop", "7"}, "no running posagent"},
		{[]string{"queue", "--data", dir, "purge"}, `unknown argument "purge"`},
		{[]string{"queue", "retry", "7", "8", "--data", dir}, `unexpected "8"`},
	} {
		var stderr bytes.Buffer
		cmd := posagent(context.Background(), tc.args...)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("posagent %v: %v, stderr %q; want it to say %q", tc.args, err, stderr.String(), tc.says)
		}
	}
}
