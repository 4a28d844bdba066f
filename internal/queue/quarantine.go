package queue

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// bucketQuarantine holds records that failed their checksum or could not
// be read, moved out of the jobs and dead buckets by New: id → the stored
// bytes, as found. They are never run, retried or shown as jobs; they stay
// for someone to look at (`posagent queue` counts them).
var bucketQuarantine = []byte("queue.quarantine")

// quarantine moves every unreadable record of the jobs and dead buckets to
// the quarantine bucket and returns why each was moved.
func quarantine(tx *bbolt.Tx) ([]error, error) {
	q, err := tx.CreateBucketIfNotExists(bucketQuarantine)
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", bucketQuarantine, err)
	}
	var found []error
	for _, name := range [][]byte{bucketJobs, bucketDead} {
		b := tx.Bucket(name)
		var bad [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var err error
			if len(k) != 8 {
				err = fmt.Errorf("bucket %s: job id %x is not 8 bytes", name, k)
			} else {
				_, err = decodeRecord(be(k), v)
			}
			if err != nil {
				found = append(found, fmt.Errorf("%w; quarantined, not run", err))
				bad = append(bad, k)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, k := range bad {
			// A copy: k and its value belong to b, which Delete changes.
			k = append([]byte(nil), k...)
			if err := q.Put(k, append([]byte(nil), b.Get(k)...)); err != nil {
				return nil, fmt.Errorf("quarantine job %x: %w", k, err)
			}
			if err := b.Delete(k); err != nil {
				return nil, fmt.Errorf("quarantine job %x: %w", k, err)
			}
		}
	}
	return found, nil
}

// countQuarantined returns how many records New has quarantined in db.
func countQuarantined(tx *bbolt.Tx) int {
	if b := tx.Bucket(bucketQuarantine); b != nil {
		return b.Stats().KeyN
	}
	return 0
}
