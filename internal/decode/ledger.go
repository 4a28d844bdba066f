package decode

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// Bucket is the bbolt bucket of the sence_no ledger. The queue shares the
// database file and keeps to buckets prefixed "queue.".
const Bucket = "sence"

// DefaultKeep is how long the ledger remembers a code. A payment code lives
// about a minute; a day covers any rescan of it and any SENCENO_UN_MATCH
// dispute the cashier might raise the same day, and keeps the bucket small.
const DefaultKeep = 24 * time.Hour

var (
	// keySalt held the HMAC key in the database itself, before the key
	// moved to its own file (keyfile): entries hashed with it are
	// forgotten at the first open with the file's key.
	keySalt  = []byte("salt")
	keyCodes = []byte("codes") // sub-bucket: HMAC(code) -> entry; its sequence numbers sence_no
	// keyNonce is random, made with the database: with the key it makes
	// the tag of every sence_no, so a database made anew (one moved aside
	// as damaged, say) never hands out the numbers of the one before it,
	// though the key file and the date are the same and the sequence
	// starts again at 1.
	keyNonce = []byte("nonce")
	// keyQuarantine is the sub-bucket of damaged entries, moved out of
	// codes by NewLedger: HMAC(code) -> the bytes as found.
	keyQuarantine = []byte("quarantine")
)

// beijing is UTC+8 without a tz database: Windows PCs have none, and Alipay
// dates are Beijing dates whatever the PC's zone.
var beijing = time.FixedZone("CST", 8*60*60)

// Entry is what the ledger knows about one payment code.
type Entry struct {
	SenceNo   string
	FirstSeen time.Time
}

// Ledger gives every payment code its sence_no. The page of
// alipay.user.twostage.common.use requires the same sence_no for every decode
// of one code and a different one for every other code; the ledger keeps that
// promise across retries, rescans and restarts because it writes the number
// durably before the first request leaves.
//
// Codes are stored only as an HMAC keyed by the local key (keyfile), kept
// outside the database: the file never holds a payment code in clear, and
// the database alone does not allow testing guesses of one.
type Ledger struct {
	db       *bbolt.DB
	terminal string
	tag      string // 4 hex digits from the key: a new key never repeats an old one's numbers
	hashKey  []byte // HMAC key of code hashes
	seal     cipher.AEAD
	damaged  []error
	forgot   int
}

// Forgot is how many entries hashed with the key an older version kept in
// the database NewLedger dropped: a rescan of one of those codes gets a new
// sence_no.
func (l *Ledger) Forgot() int { return l.forgot }

// Damaged says why each entry NewLedger quarantined was moved aside, for
// the log.
func (l *Ledger) Damaged() []error { return l.damaged }

// MaxSenceNo is the page's limit on sence_no.
const MaxSenceNo = 128

// NewLedger opens the ledger in db for the terminal whose id starts every
// sence_no. The terminal id must be unique among the merchant's terminals (the
// configuration says so); the date, a per-key tag and a persisted sequence
// make the rest unique; the tag comes from the key and a nonce made with the
// database, so neither a new key nor a new database repeats a number. key is
// the local key (keyfile.Load), at least 32
// bytes.
func NewLedger(db *bbolt.DB, terminalID string, key []byte) (*Ledger, error) {
	if terminalID == "" {
		return nil, errors.New("sence ledger: empty terminal id")
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("sence ledger: key of %d bytes, want 32 or more", len(key))
	}
	// terminal + "-" + date(8) + "-" + tag(4) + seq(<=20)
	if n := len(terminalID) + 1 + 8 + 1 + 4 + 20; n > MaxSenceNo {
		return nil, fmt.Errorf("sence ledger: terminal id %q too long: sence_no could reach %d characters, at most %d", terminalID, n, MaxSenceNo)
	}
	l := &Ledger{db: db, terminal: terminalID, hashKey: derive(key, "posagent sence ledger v2")}
	block, err := aes.NewCipher(derive(key, "posagent queued code v1"))
	if err != nil {
		return nil, fmt.Errorf("sence ledger: %w", err)
	}
	if l.seal, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("sence ledger: %w", err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(Bucket))
		if err != nil {
			return err
		}
		if _, err := b.CreateBucketIfNotExists(keyCodes); err != nil {
			return err
		}
		if l.damaged, err = quarantine(b); err != nil {
			return err
		}
		if b.Get(keySalt) != nil {
			if l.forgot, err = forget(b); err != nil {
				return err
			}
		}
		nonce := b.Get(keyNonce)
		if nonce == nil {
			nonce = make([]byte, 16)
			rand.Read(nonce) // never fails (crypto/rand)
			if err := b.Put(keyNonce, nonce); err != nil {
				return err
			}
		}
		l.tag = hex.EncodeToString(derive(l.hashKey, "tag "+string(nonce))[:2])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sence ledger %s: %w", db.Path(), err)
	}
	return l, nil
}

// forget drops the entries hashed with the key older versions kept in the
// database, and that key: they cannot be rehashed without their codes. The
// sequence stays, and the new key's tag keeps new numbers apart from old.
func forget(b *bbolt.Bucket) (int, error) {
	codes := b.Bucket(keyCodes)
	var old [][]byte
	codes.ForEach(func(k, _ []byte) error {
		old = append(old, append([]byte(nil), k...))
		return nil
	})
	for _, k := range old {
		if err := codes.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(old), b.Delete(keySalt)
}

// derive returns the HMAC-SHA256 of label under key: one key of its own per
// use of the local key.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func (l *Ledger) key(code string) []byte {
	m := hmac.New(sha256.New, l.hashKey)
	m.Write([]byte(code))
	return m.Sum(nil)
}

// Seal encrypts code for a queued decode of senceNo (AES-256-GCM under a
// key derived from the local key), so that the queue's records hold no
// payment code in clear.
func (l *Ledger) Seal(code, senceNo string) []byte {
	nonce := make([]byte, l.seal.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand)
	return l.seal.Seal(nonce, nonce, []byte(code), []byte(senceNo))
}

// Unseal is Seal's inverse; it fails for a code sealed under another key
// (the key file was replaced) or for another sence_no.
func (l *Ledger) Unseal(sealed []byte, senceNo string) (string, error) {
	n := l.seal.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed code too short")
	}
	code, err := l.seal.Open(nil, sealed[:n], sealed[n:], []byte(senceNo))
	if err != nil {
		return "", fmt.Errorf("sealed code does not open with this key file: %w", err)
	}
	return string(code), nil
}

// Assign returns the sence_no of code, creating it if the code was never seen
// (then first is true). A new entry is committed, and so on disk, before
// Assign returns.
func (l *Ledger) Assign(code string, now time.Time) (e Entry, first bool, err error) {
	e, first, durable, err := l.Reserve(code, now)
	if err != nil {
		return Entry{}, false, err
	}
	if err := durable(); err != nil {
		return Entry{}, false, err
	}
	return e, first, nil
}

// Reserve is Assign without the wait for the disk: it returns the sence_no as
// soon as it is chosen, while a new entry's commit (its fsync, the bulk of the
// time) runs on its own goroutine, and durable reports that commit's outcome
// once it is over (nil at once for a code seen before). The sence_no must not
// leave the process before durable returns nil: the decode flow builds and
// signs its request meanwhile and sends it after. durable may be called any
// number of times.
func (l *Ledger) Reserve(code string, now time.Time) (e Entry, first bool, durable func() error, err error) {
	k := l.key(code)
	// One write transaction, also for a code seen before: a rescan is rare,
	// and a read first would cost every new code a second transaction.
	tx, err := l.db.Begin(true)
	if err != nil {
		return Entry{}, false, nil, fmt.Errorf("sence ledger: assign: %w", err)
	}
	e, first, err = l.reserve(tx, k, now)
	if err != nil || !first {
		tx.Rollback() // nothing written; its error would add nothing
		if err != nil {
			return Entry{}, false, nil, fmt.Errorf("sence ledger: assign: %w", err)
		}
		return e, false, func() error { return nil }, nil
	}
	done := make(chan error, 1)
	go func() { done <- tx.Commit() }()
	return e, true, sync.OnceValue(func() error {
		if err := <-done; err != nil {
			return fmt.Errorf("sence ledger: assign: %w", err)
		}
		return nil
	}), nil
}

// reserve finds or adds the entry of key k in tx.
func (l *Ledger) reserve(tx *bbolt.Tx, k []byte, now time.Time) (Entry, bool, error) {
	b := tx.Bucket([]byte(Bucket)).Bucket(keyCodes)
	if v := b.Get(k); v != nil {
		e, err := decodeEntry(v)
		return e, false, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return Entry{}, false, err
	}
	e := Entry{
		SenceNo:   l.terminal + "-" + now.In(beijing).Format("20060102") + "-" + l.tag + fmt.Sprintf("%06d", seq),
		FirstSeen: time.UnixMilli(now.UnixMilli()), // as it reads back
	}
	return e, true, b.Put(k, encodeEntry(e))
}

// Lookup returns the entry of code, if the ledger has one.
func (l *Ledger) Lookup(code string) (Entry, bool, error) {
	return l.lookup(l.key(code))
}

func (l *Ledger) lookup(k []byte) (e Entry, ok bool, err error) {
	err = l.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket([]byte(Bucket)).Bucket(keyCodes).Get(k)
		if v == nil {
			return nil
		}
		ok = true
		e, err = decodeEntry(v)
		return err
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("sence ledger: lookup: %w", err)
	}
	return e, ok, nil
}

// Purge forgets codes first seen before cutoff and reports how many. Their
// sequence numbers are never reused.
func (l *Ledger) Purge(cutoff time.Time) (n int, err error) {
	err = l.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(Bucket)).Bucket(keyCodes)
		var old [][]byte
		err := b.ForEach(func(k, v []byte) error {
			// Unreadable entries go too: they can only be corrupt.
			if e, err := decodeEntry(v); err != nil || e.FirstSeen.Before(cutoff) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sence ledger: purge: %w", err)
	}
	return n, nil
}

// entryV2 starts an entry: this byte, 8 bytes of first-seen Unix
// milliseconds, the sence_no, and the CRC-32C (Castagnoli) of all before it,
// 4 bytes; big-endian. Entries written before it are the same without the
// version byte and the checksum: they start with a 0, the top byte of any
// time of this era in milliseconds, and are still read.
const entryV2 = 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encodeEntry(e Entry) []byte {
	v := make([]byte, 0, 1+8+len(e.SenceNo)+4)
	v = append(v, entryV2)
	v = binary.BigEndian.AppendUint64(v, uint64(e.FirstSeen.UnixMilli()))
	v = append(v, e.SenceNo...)
	return binary.BigEndian.AppendUint32(v, crc32.Checksum(v, castagnoli))
}

func decodeEntry(v []byte) (Entry, error) {
	switch {
	case len(v) > 1+8+4 && v[0] == entryV2:
		n := len(v) - 4
		if got, want := crc32.Checksum(v[:n], castagnoli), binary.BigEndian.Uint32(v[n:]); got != want {
			return Entry{}, fmt.Errorf("sence ledger: entry damaged: checksum %08x, stored %08x", got, want)
		}
		v = v[1:n]
	case len(v) > 8 && v[0] == 0:
	default:
		return Entry{}, errors.New("sence ledger: unreadable entry of " + strconv.Itoa(len(v)) + " bytes")
	}
	return Entry{
		FirstSeen: time.UnixMilli(int64(binary.BigEndian.Uint64(v[:8]))),
		SenceNo:   string(v[8:]),
	}, nil
}

// quarantine moves the entries of codes that fail their checksum or cannot
// be read to the quarantine bucket and returns why each was moved. A
// damaged entry is never used: the sence_no in it cannot be trusted.
func quarantine(b *bbolt.Bucket) ([]error, error) {
	codes := b.Bucket(keyCodes)
	var bad [][]byte
	var found []error
	err := codes.ForEach(func(k, v []byte) error {
		if _, err := decodeEntry(v); err != nil {
			bad = append(bad, append([]byte(nil), k...))
			found = append(found, fmt.Errorf("%w; quarantined, not used", err))
		}
		return nil
	})
	if err != nil || len(bad) == 0 {
		return nil, err
	}
	q, err := b.CreateBucketIfNotExists(keyQuarantine)
	if err != nil {
		return nil, err
	}
	for _, k := range bad {
		if err := q.Put(k, append([]byte(nil), codes.Get(k)...)); err != nil {
			return nil, err
		}
		if err := codes.Delete(k); err != nil {
			return nil, err
		}
	}
	return found, nil
}
