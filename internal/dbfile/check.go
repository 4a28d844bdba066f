package dbfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's file layout, as far as Check reads it: pages 0 and 1 are meta
// pages, each a 16-byte page header then the meta fields (little-endian on
// every platform posagent runs on).
const (
	pageHeaderSize = 16
	metaMagic      = 0xED0CDAED
	metaVersion    = 2
	// Offsets within a meta page.
	offMagic    = pageHeaderSize
	offVersion  = offMagic + 4
	offPageSize = offVersion + 4
	offRoot     = offPageSize + 8 // after flags
	offFreelist = offRoot + 16    // after the root bucket's page and sequence
	offPgid     = offFreelist + 8
	offTxid     = offPgid + 8
	offChecksum = offTxid + 8
	metaEnd     = offChecksum + 8
	// Page header fields.
	offOverflow   = 12
	minPageSize   = 512
	maxPageSize   = 1 << 20
	firstPageSize = 4096 // what bbolt reads of page 0 to learn the page size
)

// meta is what Check needs of a meta page.
type meta struct {
	pageSize                 int64
	root, freelist, pgid, tx uint64
}

// Check reports, with an error wrapping ErrCorrupt that names path, whether
// the file at path is too damaged for bbolt to map it safely: empty, shorter
// than its two meta pages, with neither meta page intact, or shorter than
// the pages its last commit uses. Such a file makes bbolt fail at best and
// at worst read a page past the end of the file, which kills the process
// (SIGBUS). Check reads only the two meta pages and one page header, and
// takes no lock.
func Check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	if err := checkFile(f, fi.Size()); err != nil {
		return Damaged(path, err)
	}
	return nil
}

func checkFile(r io.ReaderAt, size int64) error {
	if size == 0 {
		return errors.New("the file is empty (0 bytes): the database it held is gone")
	}
	first := make([]byte, firstPageSize)
	if _, err := r.ReadAt(first, 0); err != nil {
		return fmt.Errorf("the file is %d bytes, too short for a database", size)
	}
	m0, err0 := readMeta(first)
	pageSize := int64(firstPageSize)
	if err0 == nil {
		pageSize = m0.pageSize
	}
	if size < 2*pageSize {
		return fmt.Errorf("the file is %d bytes, shorter than its two %d-byte header pages", size, pageSize)
	}
	second := make([]byte, metaEnd)
	if _, err := r.ReadAt(second, pageSize); err != nil {
		return fmt.Errorf("read the second header page: %w", err)
	}
	m1, err1 := readMeta(second)
	// bbolt uses the intact meta page of the latest transaction.
	var m meta
	switch {
	case err0 != nil && err1 != nil:
		return fmt.Errorf("neither header page is intact (%v; %v)", err0, err1)
	case err0 != nil:
		m = m1
	case err1 != nil || m0.tx >= m1.tx:
		m = m0
	default:
		m = m1
	}
	if m.pageSize != pageSize {
		return fmt.Errorf("the header pages disagree on the page size (%d, %d)", pageSize, m.pageSize)
	}
	if need := int64(m.pgid) * m.pageSize; m.pgid > uint64(size/m.pageSize) {
		return fmt.Errorf("the file is %d bytes but its last commit uses %d pages (%d bytes): it was cut short", size, m.pgid, need)
	}
	for _, p := range []struct {
		name string
		id   uint64
	}{{"root", m.root}, {"free list", m.freelist}} {
		if p.id < 2 || p.id >= m.pgid {
			return fmt.Errorf("the %s page %d is outside the file's %d pages", p.name, p.id, m.pgid)
		}
	}
	hdr := make([]byte, pageHeaderSize)
	if _, err := r.ReadAt(hdr, int64(m.freelist)*m.pageSize); err != nil {
		return fmt.Errorf("read the free list page: %w", err)
	}
	if last := m.freelist + uint64(binary.LittleEndian.Uint32(hdr[offOverflow:])); last >= m.pgid {
		return fmt.Errorf("the free list runs to page %d, past the file's %d pages", last, m.pgid)
	}
	return nil
}

// readMeta reads and verifies the meta page at the start of b.
func readMeta(b []byte) (meta, error) {
	le := binary.LittleEndian
	switch {
	case le.Uint32(b[offMagic:]) != metaMagic:
		return meta{}, errors.New("not a bbolt header")
	case le.Uint32(b[offVersion:]) != metaVersion:
		return meta{}, fmt.Errorf("bbolt format version %d, want %d", le.Uint32(b[offVersion:]), metaVersion)
	}
	h := fnv.New64a()
	h.Write(b[offMagic:offChecksum])
	if h.Sum64() != le.Uint64(b[offChecksum:]) {
		return meta{}, errors.New("header checksum mismatch")
	}
	m := meta{
		pageSize: int64(le.Uint32(b[offPageSize:])),
		root:     le.Uint64(b[offRoot:]),
		freelist: le.Uint64(b[offFreelist:]),
		pgid:     le.Uint64(b[offPgid:]),
		tx:       le.Uint64(b[offTxid:]),
	}
	if m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}
