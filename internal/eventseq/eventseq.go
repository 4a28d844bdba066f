// Package eventseq keeps the events' seq growing across runs of one
// data_dir, so that a stream client resuming with the Last-Event-ID of an
// earlier run is never taken for one of this run.
//
// Each run reserves a block of seqs durably (a ceiling in the database)
// before it publishes anything, and extends the reservation well before it
// is used up; the next run starts above the ceiling. Crash-safe: after a
// SIGKILL the next run still starts above anything the killed one emitted.
// A clean stop also records its last seq, which tells a resuming client
// that saw it that it missed nothing.
package eventseq

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"posagent/internal/event"
)

// Block is how many seqs a run reserves at a time. A run far beyond it (a
// million events) extends the reservation once half of it is used.
const Block = 1_000_000

var (
	bucket     = []byte("event.seq")
	keyCeiling = []byte("ceiling") // no run numbered an event above it
	keyLast    = []byte("last")    // last seq of the run that stopped cleanly
)

// Keeper holds one run's reservation.
type Keeper struct {
	db       *bbolt.DB
	first    uint64
	prevLast uint64
	ceiling  uint64 // only Follow changes it
}

// Open reserves the first block of this run: it starts at the stored
// ceiling + 1, or 1 in a new database. The earlier run's clean last seq is
// read and forgotten in the same commit, so that a crash of this run leaves
// none.
func Open(db *bbolt.DB) (*Keeper, error) {
	k := &Keeper{db: db}
	err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		// A run whose extension failed may have stopped above its
		// reservation.
		ceiling, last := get(b, keyCeiling), get(b, keyLast)
		ceiling = max(ceiling, last)
		k.first, k.prevLast, k.ceiling = ceiling+1, last, ceiling+Block
		if err := b.Delete(keyLast); err != nil {
			return err
		}
		return put(b, keyCeiling, k.ceiling)
	})
	if err != nil {
		return nil, fmt.Errorf("event seq: %w", err)
	}
	return k, nil
}

// First is the seq of this run's first event (give it to event.Bus.SetFirst).
func (k *Keeper) First() uint64 { return k.first }

// PrevLast is the last seq of the earlier run if it stopped cleanly, else 0
// (a new database, or a crash: what the earlier run emitted last is not
// known).
func (k *Keeper) PrevLast() uint64 { return k.prevLast }

// Follow extends the reservation as sub's events use it up, until ctx is
// done or the bus closes. Run it from before the first Publish to the end
// of the run. An extension that fails is tried again at the next event.
func (k *Keeper) Follow(ctx context.Context, sub *event.Subscription, failed func(error)) {
	defer sub.Close()
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if e.Sequence()+Block/2 <= k.ceiling {
			continue
		}
		ceiling := e.Sequence() + Block
		if err := k.set(keyCeiling, ceiling); err != nil {
			if failed != nil {
				failed(err)
			}
			continue
		}
		k.ceiling = ceiling
	}
}

// Stopped records last as the seq of this run's last event: the run
// stopped cleanly. Call it once nothing more is published.
func (k *Keeper) Stopped(last uint64) error {
	return k.set(keyLast, last)
}

func (k *Keeper) set(key []byte, v uint64) error {
	err := k.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return errors.New("bucket missing")
		}
		return put(b, key, v)
	})
	if err != nil {
		return fmt.Errorf("event seq: %w", err)
	}
	return nil
}

func get(b *bbolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func put(b *bbolt.Bucket, key []byte, v uint64) error {
	return b.Put(key, binary.BigEndian.AppendUint64(nil, v))
}
