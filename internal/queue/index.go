package queue

import (
	"cmp"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"
)

// slot is a job's entry in a time index: when, then which job.
type slot struct {
	t  int64 // Unix nanoseconds
	id uint64
}

func (a slot) cmp(b slot) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// timeline is a set of slots in time order. A sorted slice suffices: it
// holds at most MaxJobs slots, new ones mostly go at its end (a job
// enqueued now) and old ones leave at its front (the job that waited
// longest), which both cost no copying.
type timeline []slot

func (tl *timeline) add(s slot) {
	i, found := slices.BinarySearchFunc(*tl, s, slot.cmp)
	if !found {
		*tl = slices.Insert(*tl, i, s)
	}
}

func (tl *timeline) remove(s slot) {
	i, found := slices.BinarySearchFunc(*tl, s, slot.cmp)
	switch {
	case !found:
	case i == 0:
		*tl = (*tl)[1:]
	default:
		*tl = slices.Delete(*tl, i, i+1)
	}
}

// index is what the queue knows about its jobs beyond their records: when
// each may run and when it dies, which key names which job, and how many
// there are. It lives in memory only and is rebuilt at New by one scan of
// the jobs and dead buckets, which stay the single durable truth.
//
// Keeping it out of the file is what makes commits cheap: an enqueue
// writes its record and nothing else, so a commit dirties the pages of one
// bucket (where new ids append) instead of five, and a group of enqueues
// costs little more than one. The scan at open is cheap because MaxJobs
// and MaxBytes bound what it reads.
//
// Keys of done jobs are the exception: they outlive their records (for
// KeepDone), so they stay in the file, written at ack.
type index struct {
	ready    timeline          // pending jobs by NextAt
	deadline timeline          // pending jobs by Deadline
	live     map[string]uint64 // key → id of a pending or dead job
	jobs     int64             // pending (and running) jobs
	dead     int64             // dead jobs
	bytes    int64             // stored size of both
	// oldestDone is the doneAt of the oldest remembered done key, for the
	// sweep to know when to purge; valid if anyDone.
	oldestDone int64
	anyDone    bool
}

// loadIndex builds the index from the buckets.
func loadIndex(tx *bbolt.Tx) (*index, error) {
	s := open(tx)
	x := &index{live: make(map[string]uint64)}
	scan := func(b *bbolt.Bucket, pending bool) error {
		return b.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("bucket %s: job id %x is not 8 bytes", bucketName(pending), k)
			}
			id := be(k)
			r, err := decodeRecord(id, v)
			if err != nil {
				return err
			}
			if r.Key != "" {
				x.live[r.Key] = id
			}
			x.bytes += int64(len(v))
			if !pending {
				x.dead++
				return nil
			}
			x.jobs++
			x.ready = append(x.ready, slot{r.NextAt, id})
			x.deadline = append(x.deadline, slot{r.Deadline, id})
			return nil
		})
	}
	if err := scan(s.jobs, true); err != nil {
		return nil, err
	}
	if err := scan(s.dead, false); err != nil {
		return nil, err
	}
	slices.SortFunc(x.ready, slot.cmp)
	slices.SortFunc(x.deadline, slot.cmp)
	if k, _ := s.done.Cursor().First(); k != nil {
		if len(k) < 8 {
			return nil, fmt.Errorf("bucket %s: entry %x is shorter than its time", bucketDone, k)
		}
		x.oldestDone, x.anyDone = int64(be(k[:8])), true
	}
	return x, nil
}

func bucketName(pending bool) []byte {
	if pending {
		return bucketJobs
	}
	return bucketDead
}

// delta is what one transaction changes in the index, applied once it
// has committed.
type delta struct {
	live              map[string]uint64 // key → id; 0: no longer names a live job
	jobs, dead, bytes int64
	moves             []move
	// The earliest doneAt written, if any.
	doneAt  int64
	anyDone bool
	// After a purge: the oldest done key left, as the purge saw it.
	purged     bool
	oldestLeft int64
	anyLeft    bool
}

// move adds a slot to or removes it from a timeline.
type move struct {
	tl  *timeline // in the index
	s   slot
	add bool
}

// apply brings x up to date with a committed transaction's changes.
func (x *index) apply(d *delta) {
	for k, id := range d.live {
		if id == 0 {
			delete(x.live, k)
		} else {
			x.live[k] = id
		}
	}
	x.jobs += d.jobs
	x.dead += d.dead
	x.bytes += d.bytes
	for _, m := range d.moves {
		if m.add {
			m.tl.add(m.s)
		} else {
			m.tl.remove(m.s)
		}
	}
	if d.purged {
		x.oldestDone, x.anyDone = d.oldestLeft, d.anyLeft
	}
	if d.anyDone && (!x.anyDone || d.doneAt < x.oldestDone) {
		x.oldestDone, x.anyDone = d.doneAt, true
	}
}
