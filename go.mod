module posagent

go 1.26.0

require (
	github.com/gdamore/tcell/v2 v2.13.10
	github.com/karalabe/hid v1.0.1-0.20240306101548-573246063e52
	github.com/rivo/tview v0.42.0
	go.bug.st/serial v1.8.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.45.0
	golang.org/x/text v0.43.0
	rsc.io/qr v0.2.0
)

require (
	github.com/gdamore/encoding v1.0.1 // indirect
	github.com/lucasb-eyer/go-colorful v1.3.0 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	golang.org/x/term v0.37.0 // indirect
)
