package payment

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/httpjson"
)

// The payment buckets of the database file the queue and the sence ledger
// share.
var (
	bucketPayments = []byte("payment")         // out_trade_no → record
	bucketBySence  = []byte("payment.sence")   // sence_no → out_trade_no
	bucketCreated  = []byte("payment.created") // createdKey → nothing: records by age
)

// createdKey orders records by when they were asked for, then by
// out_trade_no: the wall clock's Unix nanoseconds, 8 bytes big-endian,
// then the out_trade_no. A cursor walks the list newest first from the
// end and the purge oldest first from the start, never the whole bucket.
func createdKey(created time.Time, outTradeNo string) []byte {
	k := make([]byte, 8, 8+len(outTradeNo))
	binary.BigEndian.PutUint64(k, uint64(created.UnixNano()))
	return append(k, outTradeNo...)
}

// Record is a payment as stored. It never holds the payment code.
type Record struct {
	OutTradeNo string `json:"out_trade_no"`
	SenceNo    string `json:"sence_no"`
	AmountFen  int64  `json:"amount_fen"`
	Subject    string `json:"subject"`
	StoreID    string `json:"store_id,omitempty"`
	OperatorID string `json:"operator_id,omitempty"`
	TerminalID string `json:"terminal_id,omitempty"`
	State      string `json:"state"` // event.Payment* states
	TradeNo    string `json:"trade_no,omitempty"`
	Message    string `json:"message,omitempty"`
	Action     string `json:"action,omitempty"`
	Recovered  bool   `json:"recovered,omitempty"` // resolved after a restart
	// Unresolved: its cancel job died; the next start sends it again.
	Unresolved bool      `json:"unresolved,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	// WaitUntil is when the wait for a buyer who must confirm ends.
	WaitUntil time.Time `json:"wait_until,omitzero"`
}

// Final reports whether the payment's state will not change again.
func (r *Record) Final() bool {
	switch r.State {
	case event.PaymentPaid, event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded:
		return true
	}
	return false
}

// Payment is a payment as the POS sees it: the fields of event.Payment,
// and when it was asked for.
type Payment struct {
	SenceNo     string `json:"sence_no"`
	OutTradeNo  string `json:"out_trade_no"`
	State       string `json:"state"`
	TotalAmount string `json:"total_amount"`
	Subject     string `json:"subject"`
	TradeNo     string `json:"trade_no"`
	Message     string `json:"message"`
	Action      string `json:"action"`
	Recovered   bool   `json:"recovered"`
	// Unresolved: the cancel died (deadline or refusal) and is sent again
	// at the next start; meanwhile nobody knows the outcome.
	Unresolved bool          `json:"unresolved"`
	Created    httpjson.Time `json:"created"`
	Updated    httpjson.Time `json:"updated"`
}

func (r *Record) payment() Payment {
	return Payment{
		SenceNo: r.SenceNo, OutTradeNo: r.OutTradeNo, State: r.State,
		TotalAmount: alipay.FormatFen(r.AmountFen), Subject: r.Subject, TradeNo: r.TradeNo,
		Message: r.Message, Action: r.Action, Recovered: r.Recovered, Unresolved: r.Unresolved,
		Created: httpjson.Time{Time: r.Created}, Updated: httpjson.Time{Time: r.Updated},
	}
}

func (r *Record) event() event.Payment {
	return event.Payment{
		Stamp: event.Stamp{Time: r.Updated}, SenceNo: r.SenceNo, OutTradeNo: r.OutTradeNo, State: r.State,
		TotalAmount: alipay.FormatFen(r.AmountFen), TradeNo: r.TradeNo, Message: r.Message, Action: r.Action,
		Recovered: r.Recovered,
	}
}

// recordV1 starts a stored record: this byte, the CRC-32C (Castagnoli) of
// the JSON that follows (4 bytes, big-endian), the JSON. A record that
// does not check is reported, never guessed at: it is money.
const recordV1 = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by the error for a stored payment that cannot be
// read.
var ErrCorrupt = errors.New("stored payment unreadable")

func encodeRecord(r *Record) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("payment %s: %w", r.OutTradeNo, err)
	}
	v := make([]byte, 5, 5+len(body))
	v[0] = recordV1
	binary.BigEndian.PutUint32(v[1:], crc32.Checksum(body, castagnoli))
	return append(v, body...), nil
}

func decodeRecord(key, v []byte) (Record, error) {
	var r Record
	if len(v) < 5 || v[0] != recordV1 {
		return r, fmt.Errorf("%w: payment %q: %d bytes without format byte %d", ErrCorrupt, key, len(v), recordV1)
	}
	body := v[5:]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(v[1:5]) {
		return r, fmt.Errorf("%w: payment %q: checksum does not match", ErrCorrupt, key)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("%w: payment %q: %v", ErrCorrupt, key, err)
	}
	return r, nil
}

// store keeps records in the database.
type store struct{ db *bbolt.DB }

// init makes the buckets, and gives every record its entry in the age
// index if it has none: a database from before the index, or payments an
// older version wrote (a rollback). An unreadable record is indexed at
// the start of time, so that List still reports it. Entries that name no
// record, or a record by another time, are skipped by List and dropped by
// the purge.
func (s store) init() error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketPayments, bucketBySence, bucketCreated} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		byAge := tx.Bucket(bucketCreated)
		return tx.Bucket(bucketPayments).ForEach(func(k, v []byte) error {
			key := createdKey(time.Unix(0, 0), string(k))
			if r, err := decodeRecord(k, v); err == nil {
				key = createdKey(r.Created, r.OutTradeNo)
			}
			if byAge.Get(key) != nil {
				return nil
			}
			return byAge.Put(key, nil)
		})
	})
}

// get reads one record; ok is false when there is none.
func (s store) get(outTradeNo string) (r Record, ok bool, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketPayments).Get([]byte(outTradeNo))
		if v == nil {
			return nil
		}
		ok = true
		r, err = decodeRecord([]byte(outTradeNo), v)
		return err
	})
	return r, ok, err
}

// bySence returns the out_trade_no paid with senceNo, if any.
func (s store) bySence(tx *bbolt.Tx, senceNo string) string {
	return string(tx.Bucket(bucketBySence).Get([]byte(senceNo)))
}

// put writes r (and its sence_no index) and commits: on return it is on
// disk.
func (s store) put(r *Record) error {
	v, err := encodeRecord(r)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bbolt.Tx) error { return putTx(tx, r, v) })
	if err != nil {
		return fmt.Errorf("payment %s: record: %w", r.OutTradeNo, err)
	}
	return nil
}

// update writes r as put does, in one transaction with a read of the
// stored record: when that is final it is returned with an error wrapping
// errFinal and nothing is written. An unreadable stored record is not
// written over either: it may be final.
func (s store) update(r *Record) (Record, error) {
	v, err := encodeRecord(r)
	if err != nil {
		return Record{}, err
	}
	var cur Record
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if old := tx.Bucket(bucketPayments).Get([]byte(r.OutTradeNo)); old != nil {
			var err error
			if cur, err = decodeRecord([]byte(r.OutTradeNo), old); err != nil {
				return err
			}
			if cur.Final() {
				return fmt.Errorf("%w (%s)", errFinal, cur.State)
			}
		}
		return putTx(tx, r, v)
	})
	if err != nil {
		return cur, fmt.Errorf("payment %s: record: %w", r.OutTradeNo, err)
	}
	return cur, nil
}

// putTx stores v, the encoding of r, with its two index entries. A stored
// record asked for at another time (a record is never re-created, but the
// index must not depend on that) loses its old age entry.
func putTx(tx *bbolt.Tx, r *Record, v []byte) error {
	payments, byAge := tx.Bucket(bucketPayments), tx.Bucket(bucketCreated)
	key := []byte(r.OutTradeNo)
	if old := payments.Get(key); old != nil {
		if o, err := decodeRecord(key, old); err == nil && !o.Created.Equal(r.Created) {
			if err := byAge.Delete(createdKey(o.Created, o.OutTradeNo)); err != nil {
				return err
			}
		}
	}
	if err := payments.Put(key, v); err != nil {
		return err
	}
	if err := byAge.Put(createdKey(r.Created, r.OutTradeNo), nil); err != nil {
		return err
	}
	return tx.Bucket(bucketBySence).Put([]byte(r.SenceNo), key)
}

// newest calls f with the records newest first until f returns false,
// and appends why each unreadable one was skipped to bad.
func (s store) newest(f func(Record) (more bool), bad *[]error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		payments := tx.Bucket(bucketPayments)
		c := tx.Bucket(bucketCreated).Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if len(k) < 8 {
				continue
			}
			otn := k[8:]
			v := payments.Get(otn)
			if v == nil {
				continue
			}
			r, err := decodeRecord(otn, v)
			if err != nil {
				*bad = append(*bad, err)
				continue
			}
			if !bytes.Equal(createdKey(r.Created, r.OutTradeNo), k) {
				continue // a stale entry: the record is listed under its own
			}
			if !f(r) {
				return nil
			}
		}
		return nil
	})
}

// purgeBatch bounds the records one purge commit deletes: a commit holds
// the database's write lock, which a payment being recorded waits for.
const purgeBatch = 500

// purge deletes final records asked for before before, oldest first, and
// returns how many. Records not final stay, however old: they are
// someone's work. So do unreadable ones: they may be final or not.
func (s store) purge(before time.Time) (int, error) {
	limit := createdKey(before, "")
	total := 0
	for {
		n, more := 0, false
		err := s.db.Update(func(tx *bbolt.Tx) error {
			payments, bySence, byAge := tx.Bucket(bucketPayments), tx.Bucket(bucketBySence), tx.Bucket(bucketCreated)
			var drop []Record
			var gone [][]byte // index entries to delete: drop's, and stale ones (no record, or not as it is)
			c := byAge.Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; k, _ = c.Next() {
				if len(gone) == purgeBatch {
					more = true
					break
				}
				otn := k[8:]
				v := payments.Get(otn)
				if v == nil {
					gone = append(gone, bytes.Clone(k))
					continue
				}
				r, err := decodeRecord(otn, v)
				switch {
				case err != nil:
					// Unreadable: kept, final or not.
				case !bytes.Equal(createdKey(r.Created, r.OutTradeNo), k):
					gone = append(gone, bytes.Clone(k))
				case r.Final():
					gone, drop = append(gone, bytes.Clone(k)), append(drop, r)
				}
			}
			for _, k := range gone {
				if err := byAge.Delete(k); err != nil {
					return err
				}
			}
			for _, r := range drop {
				if err := payments.Delete([]byte(r.OutTradeNo)); err != nil {
					return err
				}
				if string(bySence.Get([]byte(r.SenceNo))) == r.OutTradeNo {
					if err := bySence.Delete([]byte(r.SenceNo)); err != nil {
						return err
					}
				}
			}
			n = len(drop)
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("payment: purge: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

// open returns every readable record not in a final state, and why each
// unreadable one was skipped. An unreadable record stays where it is (Get
// reports it, and its out_trade_no and sence_no stay taken, so they are
// never paid again); it must not keep the others from being resumed.
func (s store) open() (out []Record, bad []error, err error) {
	err = s.each(func(r Record) {
		if !r.Final() {
			out = append(out, r)
		}
	}, &bad)
	return out, bad, err
}

// each calls f with every readable record, and appends why each
// unreadable one was skipped to bad.
func (s store) each(f func(Record), bad *[]error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPayments).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(k, v)
			if err != nil {
				*bad = append(*bad, err)
				return nil
			}
			f(r)
			return nil
		})
	})
}

// markRecovered marks every open record recovered, in one commit: they are
// left by an earlier run, and GET says so before Run resumes them.
func (s store) markRecovered() error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketPayments)
		var keys, vals [][]byte
		err := b.ForEach(func(k, v []byte) error {
			r, err := decodeRecord(k, v)
			if err != nil || r.Final() || r.Recovered {
				return nil // an unreadable one is Run's to report
			}
			r.Recovered = true
			nv, err := encodeRecord(&r)
			if err != nil {
				return err
			}
			keys, vals = append(keys, k), append(vals, nv)
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range keys {
			if err := b.Put(k, vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
