package ui

import (
	"posagent/internal/alipay"
	"posagent/internal/payment"
	"posagent/internal/queue"
	"posagent/internal/scanner"
)

// The real collaborators satisfy the UI's interfaces.
var (
	_ QueueStore         = (*queue.Queue)(nil)
	_ AgreementConfirmer = (*alipay.Client)(nil)
	_ KeyFeeder          = (*scanner.Wedge)(nil)
	_ burstFeeder        = (*scanner.Wedge)(nil)
	_ ScannerLister      = scanner.List
	_ PaymentTaker       = (*payment.Service)(nil)
)
