package doctor

import (
	"errors"
	"fmt"
	"strings"
)

// keyErrors is what config.Errors offers: one problem per key.
type keyErrors interface {
	error
	Keys() []string
}

func (r *report) config(o Options) {
	if o.ConfigErr == nil {
		r.ok("config", "%s is valid", o.ConfigPath)
		return
	}
	var ke keyErrors
	fix := "edit " + o.ConfigPath + " (docs/install-linux.md explains every key)"
	if errors.As(o.ConfigErr, &ke) {
		fix = fmt.Sprintf("set %s in %s (docs/install-linux.md explains every key)", strings.Join(ke.Keys(), ", "), o.ConfigPath)
	}
	r.fail("config", o.ConfigErr.Error(), fix)
}
