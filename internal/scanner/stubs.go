package scanner

import (
	"errors"

	"posagent/drivers"
)

type hidBackend interface{}

func newHID(vid, pid uint16, p *drivers.Profile, o Options) (Scanner, error) {
	return nil, errors.New("not yet")
}
func NewWedge(o Options) Scanner { return nil }
