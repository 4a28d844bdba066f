// Command posagent is the checkout-terminal agent: it reads Alipay payment
// codes from a barcode scanner, decodes them through the Alipay gateway,
// issues the merchant's coupons and shows it all on a terminal UI.
//
// It parses the command line and wires packages together; the work is done
// in internal/agent and the packages it assembles.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"posagent/internal/agent"
	"posagent/internal/buildinfo"
	"posagent/internal/config"
	"posagent/internal/demo"
	"posagent/internal/redact"
	"posagent/internal/scanner"
	"posagent/internal/winsvc"
)

const usage = `usage: posagent <command> [flags]

commands:
  demo [--headless] [--data DIR] [--speed N] [--api ADDR] [--log-format text|json]
       [--scanner wedge|serial:PORT|hid[:VID:PID]]
                                   the whole product on a fake gateway and a simulated scanner
                                   (--scanner: a real one; any payment code decodes to a demo
                                   customer); --data DIR also gets DIR/posagent.json for doctor
  run --config FILE [--headless] [--log-format text|json]
                                   the product on a real configuration
  scanners                         list the scanners this PC can see
  queue [--data DIR | --config FILE]  list pending and dead jobs of the retry queue
  queue retry|drop ID [--data DIR | --config FILE]
                                   retry a dead job or drop a job, through the running agent's API
  version                          the build: version, commit, date, Go, HID support
  init --dir DIR                   a configuration skeleton and a new app key pair in DIR
  doctor --config FILE             check the setup end to end, one line per check
  service install --config FILE | uninstall | start | stop
                                   (Windows) headless mode as a Windows service
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	// SIGHUP too: a closed terminal or a dropped SSH session stops posagent
	// cleanly instead of killing it mid-scan.
	// A closed stdout (the reader of headless events went away) is then
	// an EPIPE that agent.Headless reports before stopping cleanly, rather
	// than a SIGPIPE that kills posagent silently.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	var err error
	if args := os.Args[2:]; winsvc.IsService() {
		// Started by the Windows service manager with the command line
		// `service install` registered: run --headless --config FILE.
		err = winsvc.Run(func(ctx context.Context) error { return runConfig(ctx, args, true) })
	} else {
		err = command(ctx, os.Args[1], args)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "posagent %s: %s\n", os.Args[1], redact.Text(err.Error()))
		os.Exit(1)
	}
}

func command(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "demo":
		return runDemo(ctx, args)
	case "run":
		return runConfig(ctx, args, false)
	case "scanners":
		return listScanners(args)
	case "queue":
		return listQueue(ctx, args)
	case "version":
		return showVersion(args)
	case "init":
		return initDir(args)
	case "doctor":
		return runDoctor(ctx, args)
	case "service":
		return service(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	default:
		fmt.Fprintf(os.Stderr, "posagent: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	return nil
}

func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("posagent "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// runConfig runs `posagent run`. As a Windows service (asService) there is
// no console: logs go to the file in data_dir and events only to the local
// API.
func runConfig(ctx context.Context, args []string, asService bool) error {
	fs := flags("run")
	path := fs.String("config", "", "the configuration `file` (JSON)")
	headlessMode := fs.Bool("headless", false, "print events as JSON lines instead of drawing the UI")
	logFormat := fs.String("log-format", agent.LogText, "log lines as `text` or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		fs.Usage()
		return errors.New("--config is required")
	}
	c, err := config.Load(*path)
	if err != nil {
		return err
	}
	log, closeLog, err := agent.Logger(*headlessMode && !asService, c.DataDir, os.Stderr, *logFormat)
	if err != nil {
		return err
	}
	defer closeLog.Close()
	a, err := agent.New(agent.Options{Config: c, ConfigPath: *path, Log: log, ProbeAtStart: true})
	if err != nil {
		return err
	}
	if asService {
		return agent.Headless(ctx, a, io.Discard)
	}
	return agent.Serve(ctx, a, *headlessMode, *path, os.Stdin, os.Stdout)
}

// errDemoPlayed is the reason of the stopping event when the headless demo
// has shown everything.
var errDemoPlayed = errors.New("the demo script has played, the queue is empty and no payment is open")

func runDemo(ctx context.Context, args []string) error {
	fs := flags("demo")
	headlessMode := fs.Bool("headless", false, "print events as JSON lines instead of drawing the UI")
	dir := fs.String("data", "", "keep the demo's keys and data in `DIR` (default: a temporary directory, removed at exit)")
	speed := fs.Float64("speed", 1, "play the scanner script this many times faster")
	logFormat := fs.String("log-format", agent.LogText, "log lines as `text` or json")
	apiAddr := fs.String("api", "127.0.0.1:0", "serve the local API on `ADDR` (port 0 picks a free one; the started event says which), or \"off\"")
	live := fs.String("scanner", "", "read a real scanner instead of the script: `wedge`, serial:PORT, hid or hid:VID:PID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sc config.Scanner
	if *live != "" {
		var err error
		if sc, err = demo.ParseScanner(*live, scanner.List); err != nil {
			return err
		}
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "posagent-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	d, err := demo.Setup(*dir, *speed)
	if err != nil {
		return err
	}
	defer d.Close()
	d.Config.API.Listen = *apiAddr
	opts := agent.Options{Config: d.Config, Scanner: scanner.NewSim(d.Script, scanner.Options{}), ProbeAtStart: true}
	if *live != "" {
		d.UseScanner(sc)
		opts.Scanner = nil // the one d.Config names
	}
	log, closeLog, err := agent.Logger(*headlessMode, d.Config.DataDir, os.Stderr, *logFormat)
	if err != nil {
		return err
	}
	defer closeLog.Close()
	opts.Log = log
	a, err := agent.New(opts)
	if err != nil {
		return err
	}
	if *live == "" {
		d.Payments = a.Payments // the script's customers pay; a live scanner's are the POS's
	}
	// A real configuration of the demo's setup: `posagent doctor` can be
	// tried on it while the demo runs.
	if err := a.WriteConfig(*dir); err != nil {
		a.Close()
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	played := a.Bus.Subscribe()
	go func() {
		defer played.Close()
		// The outage needs Play in both modes; only headless ends with it.
		if d.Play(ctx, played, a.Idle) && *headlessMode && *live == "" {
			fmt.Fprintln(os.Stderr, "posagent demo: the script has played, the queue is empty and no payment is open")
			cancel(errDemoPlayed)
		}
	}()
	if *headlessMode {
		fmt.Fprintf(os.Stderr, "posagent demo: fake gateway at %s, data in %s; events follow on stdout (Ctrl-C stops)\n", d.Server.URL(), *dir)
	}
	return agent.Serve(ctx, a, *headlessMode, "", os.Stdin, os.Stdout)
}

func listScanners(args []string) error {
	if err := flags("scanners").Parse(args); err != nil {
		return err
	}
	devs, err := scanner.List()
	return scanner.WriteReport(os.Stdout, devs, err)
}

func showVersion(args []string) error {
	if err := flags("version").Parse(args); err != nil {
		return err
	}
	return buildinfo.Read().Write(os.Stdout, scanner.HIDSupported())
}

func listQueue(ctx context.Context, args []string) error {
	fs := flags("queue")
	dir := fs.String("data", "", "the data `DIR` holding "+agent.DBFile)
	path := fs.String("config", "", "read data_dir from this configuration `file`")
	var action string
	if len(args) > 0 && (args[0] == "retry" || args[0] == "drop") {
		action, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if action == "" && len(rest) > 0 && (rest[0] == "retry" || rest[0] == "drop") {
		action, rest = rest[0], rest[1:]
	}
	var id string
	switch {
	case action != "" && len(rest) == 0:
		return fmt.Errorf("queue %s: which job? give its ID (posagent queue lists them)", action)
	case action != "":
		// Flags may follow the ID too.
		id = rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("queue %s %s: unexpected %q", action, id, fs.Arg(0))
		}
	case len(rest) > 0:
		return fmt.Errorf("queue: unknown argument %q: want retry ID or drop ID", rest[0])
	}
	switch {
	case *dir != "" && *path != "":
		return errors.New("give --data or --config, not both")
	case *path != "":
		c, err := config.Load(*path)
		if err != nil {
			return err
		}
		*dir = c.DataDir
	case *dir == "":
		*dir = "."
	}
	*dir = agent.DataDir(*dir)
	if action != "" {
		return agent.QueueChange(ctx, os.Stdout, *dir, action, id)
	}
	return agent.ListQueue(ctx, os.Stdout, *dir)
}

func initDir(args []string) error {
	fs := flags("init")
	dir := fs.String("dir", "", "the `DIR` to write the configuration and keys into (created 0700)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		fs.Usage()
		return errors.New("--dir is required")
	}
	return agent.Init(os.Stdout, *dir)
}

func runDoctor(ctx context.Context, args []string) error {
	fs := flags("doctor")
	path := fs.String("config", "", "the configuration `file` to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		fs.Usage()
		return errors.New("--config is required")
	}
	failed, err := agent.Doctor(ctx, os.Stdout, *path)
	if err == nil && failed > 0 {
		err = fmt.Errorf("%d checks failed", failed)
	}
	return err
}

func service(args []string) error {
	if len(args) == 0 {
		return errors.New("want install, uninstall, start or stop")
	}
	switch args[0] {
	case "install":
		fs := flags("service install")
		path := fs.String("config", "", "the configuration `file` the service runs with")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *path == "" {
			fs.Usage()
			return errors.New("--config is required")
		}
		if _, err := config.Load(*path); err != nil {
			return err
		}
		abs, err := filepath.Abs(*path)
		if err != nil {
			return err
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		if err := winsvc.Install(exe, "run", "--headless", "--config", abs); err != nil {
			return err
		}
		fmt.Printf("service %s installed: %s run --headless --config %s\nstart it with: posagent service start\n", winsvc.Name, exe, abs)
		return nil
	case "uninstall":
		return winsvc.Uninstall()
	case "start":
		return winsvc.Start()
	case "stop":
		return winsvc.Stop()
	}
	return fmt.Errorf("%q: want install, uninstall, start or stop", args[0])
}
