package queue

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"go.etcd.io/bbolt"
)

// The queue's buckets. All start with "queue." because the database file is
// shared with posagent's other state (the decode flow's "sence" ledger).
var (
	bucketJobs     = []byte("queue.jobs")     // id → record: pending and running jobs
	bucketDead     = []byte("queue.dead")     // id → record: dead jobs
	bucketReady    = []byte("queue.ready")    // nextAt|id → nil: jobs by when they may run
	bucketDeadline = []byte("queue.deadline") // deadline|id → nil: pending jobs by deadline
	bucketKeys     = []byte("queue.keys")     // idempotency key → keyRef
	bucketDone     = []byte("queue.done")     // doneAt|key → nil: keys of done jobs, for purging
	bucketMeta     = []byte("queue.meta")     // counters
)

var (
	metaJobs  = []byte("jobs")  // pending and running jobs
	metaDead  = []byte("dead")  // dead jobs
	metaBytes = []byte("bytes") // encoded size of all of them
)

// record is a job as stored. Times are Unix nanoseconds, as in the indexes.
type record struct {
	Kind      string `json:"kind"`
	Key       string `json:"key,omitempty"`
	Payload   []byte `json:"payload,omitempty"`
	Attempts  int    `json:"attempts"`
	NextAt    int64  `json:"next_at"`
	Deadline  int64  `json:"deadline"`
	Created   int64  `json:"created"`
	LastError string `json:"last_error,omitempty"`
}

func (r *record) encode() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("queue: encode record: %v", err)) // strings, bytes and ints always encode
	}
	return b
}

func decodeRecord(id uint64, v []byte) (record, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("job %d: stored record unreadable: %w", id, err)
	}
	return r, nil
}

func (r *record) job(id uint64, s State) Job {
	return Job{
		ID:        formatID(id),
		Kind:      r.Kind,
		Key:       r.Key,
		Payload:   r.Payload,
		Attempts:  r.Attempts,
		NextAt:    time.Unix(0, r.NextAt),
		Deadline:  time.Unix(0, r.Deadline),
		Created:   time.Unix(0, r.Created),
		LastError: r.LastError,
		State:     s,
	}
}

func formatID(id uint64) string { return strconv.FormatUint(id, 10) }

func parseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("job id %q: %w", s, ErrNotFound)
	}
	return id, nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// at is the index key of a job: the time, then the id, so that a cursor
// walks jobs in time order.
func at(t int64, id uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(t)), id)
}

// keyRef is what an idempotency key points at: a live job (pending, running
// or dead) or, for KeepDone after it finished, a done one.
type keyRef struct {
	id     uint64
	done   bool
	doneAt int64
	kind   string
}

func (k keyRef) encode() []byte {
	b := make([]byte, 0, 17+len(k.kind))
	if k.done {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, k.id)
	b = binary.BigEndian.AppendUint64(b, uint64(k.doneAt))
	return append(b, k.kind...)
}

func decodeKeyRef(v []byte) (keyRef, bool) {
	if len(v) < 17 {
		return keyRef{}, false
	}
	return keyRef{
		done:   v[0] == 1,
		id:     binary.BigEndian.Uint64(v[1:9]),
		doneAt: int64(binary.BigEndian.Uint64(v[9:17])),
		kind:   string(v[17:]),
	}, true
}

// store is the queue's buckets within one transaction.
type store struct {
	jobs, dead, ready, deadline, keys, done, meta *bbolt.Bucket
}

func createBuckets(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketJobs, bucketDead, bucketReady, bucketDeadline, bucketKeys, bucketDone, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

func open(tx *bbolt.Tx) store {
	s := store{
		jobs:     tx.Bucket(bucketJobs),
		dead:     tx.Bucket(bucketDead),
		ready:    tx.Bucket(bucketReady),
		deadline: tx.Bucket(bucketDeadline),
		keys:     tx.Bucket(bucketKeys),
		done:     tx.Bucket(bucketDone),
		meta:     tx.Bucket(bucketMeta),
	}
	// New jobs get ever larger ids and mostly later times, so these
	// buckets grow at their end: full pages halve the pages a commit
	// writes (bbolt's default splits at half, for random inserts).
	s.jobs.FillPercent = 0.95
	s.ready.FillPercent = 0.95
	s.deadline.FillPercent = 0.95
	s.done.FillPercent = 0.95
	return s
}

func (s store) counter(name []byte) int64 {
	v := s.meta.Get(name)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func (s store) add(name []byte, delta int64) error {
	if delta == 0 {
		return nil
	}
	return s.meta.Put(name, u64(uint64(s.counter(name)+delta)))
}

// adjust moves the counters by the given deltas.
func (s store) adjust(jobs, dead, bytes int64) error {
	if err := s.add(metaJobs, jobs); err != nil {
		return err
	}
	if err := s.add(metaDead, dead); err != nil {
		return err
	}
	return s.add(metaBytes, bytes)
}

// putPending stores a pending job with its index entries.
func (s store) putPending(id uint64, r *record, v []byte) error {
	if err := s.jobs.Put(u64(id), v); err != nil {
		return err
	}
	if err := s.ready.Put(at(r.NextAt, id), nil); err != nil {
		return err
	}
	return s.deadline.Put(at(r.Deadline, id), nil)
}

// removePending deletes a pending job and its index entries.
func (s store) removePending(id uint64, r *record) error {
	if err := s.jobs.Delete(u64(id)); err != nil {
		return err
	}
	if err := s.ready.Delete(at(r.NextAt, id)); err != nil {
		return err
	}
	return s.deadline.Delete(at(r.Deadline, id))
}

// pending returns a pending job's record and stored size; ok is false when
// there is none with that id.
func (s store) pending(id uint64) (r record, size int, ok bool, err error) {
	v := s.jobs.Get(u64(id))
	if v == nil {
		return r, 0, false, nil
	}
	r, err = decodeRecord(id, v)
	return r, len(v), err == nil, err
}

// kill moves a pending job to the dead list with reason as its last error.
func (s store) kill(id uint64, r *record, oldSize int, reason string) error {
	if err := s.removePending(id, r); err != nil {
		return err
	}
	r.LastError = reason
	v := r.encode()
	if err := s.dead.Put(u64(id), v); err != nil {
		return err
	}
	return s.adjust(-1, +1, int64(len(v)-oldSize))
}

// byKey returns the job an idempotency key names, if any.
func (s store) byKey(key string) (Job, bool, error) {
	ref, ok := decodeKeyRef(s.keys.Get([]byte(key)))
	if !ok {
		return Job{}, false, nil
	}
	if ref.done {
		return Job{ID: formatID(ref.id), Kind: ref.kind, Key: key, State: StateDone}, true, nil
	}
	if v := s.jobs.Get(u64(ref.id)); v != nil {
		r, err := decodeRecord(ref.id, v)
		return r.job(ref.id, StatePending), err == nil, err
	}
	if v := s.dead.Get(u64(ref.id)); v != nil {
		r, err := decodeRecord(ref.id, v)
		return r.job(ref.id, StateDead), err == nil, err
	}
	return Job{}, false, nil // a dangling reference: the key is free again
}
