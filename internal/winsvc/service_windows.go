package winsvc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// IsService reports whether the Windows service manager started this
// process.
func IsService() bool {
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

// Run runs work as the service until the manager asks it to stop (then
// work's context is cancelled) or work returns. A work error is reported to
// the manager as a service-specific exit code, so that the recovery actions
// restart it.
func Run(work func(ctx context.Context) error) error {
	var werr error
	err := svc.Run(Name, handler(func(ctx context.Context) error {
		werr = work(ctx)
		return werr
	}))
	return errors.Join(err, werr)
}

type handler func(ctx context.Context) error

func (h handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			if err != nil {
				return true, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: uint32(StopWait / time.Millisecond)}
				cancel()
			}
		}
	}
}

// Install registers the service: exe started with args, automatically at
// boot, as Account, restarted 5 s after a failure.
func Install(exe string, args ...string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(Name); err == nil {
		s.Close()
		return fmt.Errorf("service %s is installed already: uninstall it first", Name)
	}
	s, err := m.CreateService(Name, exe, mgr.Config{
		DisplayName: DisplayName, Description: Description,
		StartType: mgr.StartAutomatic, DelayedAutoStart: true,
		ServiceStartName: Account,
	}, args...)
	if err != nil {
		return fmt.Errorf("create service %s: %w", Name, err)
	}
	defer s.Close()
	restart := mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: 5 * time.Second}
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{restart, restart, restart}, uint32((24 * time.Hour).Seconds())); err != nil {
		return fmt.Errorf("service %s: recovery actions: %w", Name, err)
	}
	return nil
}

// Uninstall stops the service if it runs and removes it.
func Uninstall() error {
	return withService(func(s *mgr.Service) error {
		if st, err := s.Query(); err == nil && st.State != svc.Stopped {
			if err := stop(s); err != nil {
				return err
			}
		}
		return s.Delete()
	})
}

// Start starts the installed service.
func Start() error {
	return withService(func(s *mgr.Service) error { return s.Start() })
}

// Stop asks the service to stop and waits until it has, up to StopWait.
func Stop() error { return withService(stop) }

func stop(s *mgr.Service) error {
	st, err := s.Control(svc.Stop)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(StopWait)
	for st.State != svc.Stopped {
		if time.Now().After(deadline) {
			return fmt.Errorf("did not stop within %s", StopWait)
		}
		time.Sleep(300 * time.Millisecond) // the service manager offers no wait to block on
		if st, err = s.Query(); err != nil {
			return err
		}
	}
	return nil
}

func withService(do func(s *mgr.Service) error) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		return fmt.Errorf("service %s: %w", Name, err)
	}
	defer s.Close()
	if err := do(s); err != nil {
		return fmt.Errorf("service %s: %w", Name, err)
	}
	return nil
}
