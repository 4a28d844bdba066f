package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler wraps h so that every log line leaves the process masked: the
// message and every attribute value (strings, errors, anything printed) go
// through Text. Errors quote what the gateway or the merchant answered,
// and a gateway's sub_msg may quote a payment code or a user id; masking
// here, where lines leave, covers every caller, including ones that forget.
func Handler(h slog.Handler) slog.Handler { return &handler{h} }

type handler struct{ h slog.Handler }

func (m *handler) Enabled(ctx context.Context, l slog.Level) bool { return m.h.Enabled(ctx, l) }

func (m *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Text(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(attr(a))
		return true
	})
	return m.h.Handle(ctx, out)
}

func (m *handler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = attr(a)
	}
	return &handler{m.h.WithAttrs(masked)}
}

func (m *handler) WithGroup(name string) slog.Handler { return &handler{m.h.WithGroup(name)} }

// attr masks a's value, group members one by one.
func attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Text(v.String()))
	case slog.KindGroup:
		g := v.Group()
		masked := make([]any, len(g))
		for i, m := range g {
			masked[i] = attr(m)
		}
		return slog.Group(a.Key, masked...)
	case slog.KindAny:
		return slog.String(a.Key, Text(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
