package scanner

import (
	"context"
	"time"
)

func NewWedge(o Options) *Wedge { return &Wedge{} }

type Wedge struct{}

func (w *Wedge) Run(ctx context.Context, out chan<- Event) error { return nil }
func (w *Wedge) Key(r rune, at time.Time)                        {}
