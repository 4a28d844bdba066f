package headless

import (
	"reflect"
	"strings"

	"posagent/internal/event"
	"posagent/internal/redact"
)

// freeText names the JSON fields of events that carry text posagent did
// not compose itself (a reason quoting the gateway's sub_msg, an error):
// their digit runs are masked as they leave (redact.DigitRuns). Structured
// fields (decoded.user_id for integrations, serial numbers, pass ids) are
// left as they are. A new event's free text goes in a field of one of
// these names.
var freeText = map[string]bool{
	"reason": true, "message": true, "action": true, "error": true,
	"last_error": true, "detail": true, "msg": true, "sub_msg": true,
}

// mask returns e with the digit runs of its free-text fields masked.
func mask(e event.Event) event.Event {
	v := reflect.ValueOf(e)
	if v.Kind() != reflect.Struct {
		return e
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	changed := false
	for i := range c.NumField() {
		f, sf := c.Field(i), c.Type().Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || f.Kind() != reflect.String || !freeText[name] {
			continue
		}
		if m := redact.DigitRuns(f.String()); m != f.String() {
			f.SetString(m)
			changed = true
		}
	}
	if !changed {
		return e
	}
	return c.Interface().(event.Event)
}
