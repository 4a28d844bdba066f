package scanner

import (
	"errors"

	"posagent/drivers"
)

// Drivers still being written on this branch.
type hidBackend interface{}
type serialBackend interface{}

var errNotYet = errors.New("scanner: this driver is not built yet")

func newSerial(port string, vid, pid uint16, baud int, o Options) (Scanner, error) {
	return nil, errNotYet
}
func newHID(vid, pid uint16, p *drivers.Profile, o Options) (Scanner, error) { return nil, errNotYet }
func NewWedge(o Options) Scanner                                             { return nil }
