package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/event"
)

// The queue's buckets. All start with "queue." because the database file is
// shared with posagent's other state (the decode flow's "sence" ledger).
//
// Only what cannot be derived is stored: the records, and the keys of done
// jobs. The time indexes, the keys of live jobs and the counts are derived
// from the records and kept in memory (see index).
var (
	bucketJobs = []byte("queue.jobs") // id → record: pending and running jobs
	bucketDead = []byte("queue.dead") // id → record: dead jobs
	bucketKeys = []byte("queue.keys") // idempotency key → keyRef of a done job
	bucketDone = []byte("queue.done") // doneAt|key → nil: done keys by age, for purging
)

// record is a job as stored. Times are Unix nanoseconds, as in the index.
type record struct {
	Kind      string
	Key       string
	Payload   []byte
	Attempts  int
	NextAt    int64
	Deadline  int64
	Created   int64
	LastError string
	Subject   event.Subject
}

// recordV1 starts a record in the binary layout: this byte, attempts (a
// varint), next_at, deadline and created (8 bytes each, big-endian), then
// kind, key, payload and last error, each a uvarint length and its bytes.
// It is about half the size of the same record as JSON with a base64
// payload, and a group commit pays for record size in pages.
const recordV1 = 1

// recordV2 is recordV1 followed by the job's subject: sence_no, tpl_id and
// serial_number, each a uvarint length and its bytes.
const recordV2 = 2

// recordV3, the one written, is recordV2 followed by the CRC-32C
// (Castagnoli) of all before it, 4 bytes big-endian. bbolt checks only its
// meta pages; the checksum is what tells a record damaged on disk from a
// job to run. Records of the older formats are still read.
const recordV3 = 3

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (r *record) encode() []byte {
	s := r.Subject
	b := make([]byte, 0, 1+binary.MaxVarintLen64+24+7*binary.MaxVarintLen32+
		len(r.Kind)+len(r.Key)+len(r.Payload)+len(r.LastError)+len(s.SenceNo)+len(s.TplID)+len(s.SerialNumber)+4)
	b = append(b, recordV3)
	b = binary.AppendVarint(b, int64(r.Attempts))
	b = binary.BigEndian.AppendUint64(b, uint64(r.NextAt))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Deadline))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Created))
	b = appendField(b, r.Kind)
	b = appendField(b, r.Key)
	b = binary.AppendUvarint(b, uint64(len(r.Payload)))
	b = append(b, r.Payload...)
	b = appendField(b, r.LastError)
	b = appendField(appendField(appendField(b, s.SenceNo), s.TplID), s.SerialNumber)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeRecord decodes a stored record; it copies what it keeps, as v
// belongs to bbolt.
func decodeRecord(id uint64, v []byte) (record, error) {
	var r record
	var body []byte
	switch {
	case len(v) > 4 && v[0] == recordV3:
		n := len(v) - 4
		if got, want := crc32.Checksum(v[:n], castagnoli), binary.BigEndian.Uint32(v[n:]); got != want {
			return record{}, fmt.Errorf("job %d: stored record damaged: checksum %08x, stored %08x", id, got, want)
		}
		body = v[1:n]
	case len(v) > 0 && (v[0] == recordV1 || v[0] == recordV2):
		body = v[1:]
	default:
		return record{}, fmt.Errorf("job %d: stored record unreadable: it is %d bytes and does not start with format byte 1, 2 or 3", id, len(v))
	}
	d := fields{b: body}
	r.Attempts = int(d.varint())
	r.NextAt, r.Deadline, r.Created = int64(d.u64()), int64(d.u64()), int64(d.u64())
	r.Kind, r.Key = string(d.field()), string(d.field())
	if p := d.field(); len(p) > 0 {
		r.Payload = slices.Clone(p)
	}
	r.LastError = string(d.field())
	if v[0] != recordV1 {
		r.Subject.SenceNo, r.Subject.TplID, r.Subject.SerialNumber = string(d.field()), string(d.field()), string(d.field())
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes after the last field", len(d.b))
	}
	if d.err != nil {
		return record{}, fmt.Errorf("job %d: stored record unreadable: %w", id, d.err)
	}
	return r, nil
}

// fields reads a binary record; the first error sticks.
type fields struct {
	b   []byte
	err error
}

var errTruncated = errors.New("record ends early")

func (f *fields) varint() int64 {
	v, n := binary.Varint(f.b)
	if n <= 0 {
		f.fail()
		return 0
	}
	f.b = f.b[n:]
	return v
}

func (f *fields) u64() uint64 {
	if len(f.b) < 8 {
		f.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(f.b)
	f.b = f.b[8:]
	return v
}

func (f *fields) field() []byte {
	n, w := binary.Uvarint(f.b)
	if w <= 0 || n > uint64(len(f.b)-w) {
		f.fail()
		return nil
	}
	v := f.b[w : w+int(n)]
	f.b = f.b[w+int(n):]
	return v
}

func (f *fields) fail() {
	if f.err == nil {
		f.err = errTruncated
	}
	f.b = nil
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
		Subject:   r.Subject,
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

// keyRef is what the keys bucket holds for the key of a job that finished,
// for KeepDone. The done flag is always set: files written before the keys
// of live jobs were kept in memory may still hold unset ones, which are
// ignored (the records say which live job a key names).
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
	jobs, dead, keys, done *bbolt.Bucket
}

func createBuckets(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketJobs, bucketDead, bucketKeys, bucketDone} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

func open(tx *bbolt.Tx) store {
	s := store{
		jobs: tx.Bucket(bucketJobs),
		dead: tx.Bucket(bucketDead),
		keys: tx.Bucket(bucketKeys),
		done: tx.Bucket(bucketDone),
	}
	// New jobs get ever larger ids and done keys ever later times, so
	// these buckets grow at their end: full pages halve the pages a commit
	// writes (bbolt's default splits at half, for random inserts).
	s.jobs.FillPercent = 0.95
	s.done.FillPercent = 0.95
	return s
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

// txn is a group's write transaction: the buckets, and the index changes
// that take effect once, and only if, it commits. The ops of the group see
// each other's changes through it.
type txn struct {
	store
	idx *index // as of the last commit; not changed while the txn lives
	d   delta
}

func newTxn(tx *bbolt.Tx, idx *index) *txn {
	return &txn{store: open(tx), idx: idx}
}

// liveKey returns the id of the pending or dead job key names.
func (t *txn) liveKey(key string) (uint64, bool) {
	if id, ok := t.d.live[key]; ok {
		return id, id != 0
	}
	id, ok := t.idx.live[key]
	return id, ok
}

func (t *txn) setKey(key string, id uint64) {
	if t.d.live == nil {
		t.d.live = make(map[string]uint64)
	}
	t.d.live[key] = id
}

// dropKey forgets key if it names job id.
func (t *txn) dropKey(key string, id uint64) {
	if key == "" {
		return
	}
	if n, ok := t.liveKey(key); ok && n == id {
		t.setKey(key, 0)
	}
}

// counts returns the jobs, dead jobs and bytes as this transaction leaves
// them.
func (t *txn) counts() (jobs, dead, bytes int64) {
	return t.idx.jobs + t.d.jobs, t.idx.dead + t.d.dead, t.idx.bytes + t.d.bytes
}

// adjust moves the counts by the given deltas.
func (t *txn) adjust(jobs, dead, bytes int64) {
	t.d.jobs += jobs
	t.d.dead += dead
	t.d.bytes += bytes
}

func (t *txn) index(tl *timeline, s slot, add bool) {
	t.d.moves = append(t.d.moves, move{tl: tl, s: s, add: add})
}

// putPending stores a pending job and indexes it.
func (t *txn) putPending(id uint64, r *record, v []byte) error {
	if err := t.jobs.Put(u64(id), v); err != nil {
		return err
	}
	t.index(&t.idx.ready, slot{r.NextAt, id}, true)
	t.index(&t.idx.deadline, slot{r.Deadline, id}, true)
	return nil
}

// removePending deletes a pending job and its index entries.
func (t *txn) removePending(id uint64, r *record) error {
	if err := t.jobs.Delete(u64(id)); err != nil {
		return err
	}
	t.index(&t.idx.ready, slot{r.NextAt, id}, false)
	t.index(&t.idx.deadline, slot{r.Deadline, id}, false)
	return nil
}

// kill moves a pending job to the dead list with reason as its last error,
// or deletes it (as Drop would) if discard.
func (t *txn) kill(id uint64, r *record, oldSize int, reason string, discard bool) error {
	if err := t.removePending(id, r); err != nil {
		return err
	}
	if discard {
		t.dropKey(r.Key, id)
		t.adjust(-1, 0, -int64(oldSize))
		return nil
	}
	r.LastError = reason
	v := r.encode()
	if err := t.dead.Put(u64(id), v); err != nil {
		return err
	}
	t.adjust(-1, +1, int64(len(v)-oldSize))
	return nil
}

// remember records that the job with key finished at doneAt, for KeepDone.
func (t *txn) remember(key string, id uint64, kind string, doneAt int64) error {
	t.dropKey(key, id)
	if err := t.keys.Put([]byte(key), keyRef{id: id, done: true, doneAt: doneAt, kind: kind}.encode()); err != nil {
		return err
	}
	if err := t.done.Put(append(u64(uint64(doneAt)), key...), nil); err != nil {
		return err
	}
	if !t.d.anyDone || doneAt < t.d.doneAt {
		t.d.doneAt, t.d.anyDone = doneAt, true
	}
	return nil
}

// byKey returns the job an idempotency key names, if any.
func (t *txn) byKey(key string) (Job, bool, error) {
	if id, ok := t.liveKey(key); ok {
		if v := t.jobs.Get(u64(id)); v != nil {
			r, err := decodeRecord(id, v)
			return r.job(id, StatePending), err == nil, err
		}
		if v := t.dead.Get(u64(id)); v != nil {
			r, err := decodeRecord(id, v)
			return r.job(id, StateDead), err == nil, err
		}
	}
	if ref, ok := decodeKeyRef(t.keys.Get([]byte(key))); ok && ref.done {
		return Job{ID: formatID(ref.id), Kind: ref.kind, Key: key, State: StateDone}, true, nil
	}
	return Job{}, false, nil
}
