module posagent

go 1.26.0

require (
	github.com/karalabe/hid v1.0.1-0.20240306101548-573246063e52
	go.bug.st/serial v1.8.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.45.0
	golang.org/x/text v0.43.0
)
