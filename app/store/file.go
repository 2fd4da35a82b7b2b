package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Layout of a File directory:
//
//	lock                  flock(2) target; never written
//	swept                 its mtime records the last sweep
//	p/<sha256(pk)>.json   one partition: all records under one pk, sorted by
//	                      SK (slotted, or plain JSON for expiring ones only)
//	p/.tmp-*              a write in progress (or left by a crash)
const (
	lockName     = "lock"
	sweptName    = "swept"
	partsDir     = "p"
	tmpPrefix    = ".tmp-"
	partSuffix   = ".json"
	fileFormat   = 1
	sweepEvery   = time.Hour // how stale the last sweep may get
	sweepCheckOp = 256       // writes between checks of the sweep marker
)

var errClosed = errors.New("store is closed")

// File is the embedded Store for `checkoff serve` and the CLI. It keeps one
// file per partition key under a directory.
//
// Writes take an exclusive flock(2) on the directory's lock file, so that
// several processes (serve and the gate CLI) can share one directory. A
// partition holding a durable record lives in a slotted file (slots.go):
// created atomically (temp file, fsync, rename, fsync directory), then
// updated in place, one slot at a time, with one fdatasync, so a crash
// leaves either the old or the new version. A partition holding only
// expiring records (caches, claims) is a plain JSON file replaced by rename
// and never flushed, unless the change removed a durable record: a power
// cut may lose such a write, or leave its file empty (ext4 and XFS commit a
// rename before the unsynced data), and an empty file reads as no
// partition, since no write ever makes one. Reads take no lock: a rename is
// atomic and a slot is checksummed, and a read that meets a slot half
// written reads again under the writers' lock, so a reader sees one whole
// version, never older than one acknowledged before it began. Expired
// records are hidden on read, dropped whenever their partition is
// rewritten, and partitions holding only expired records are deleted by a
// sweep at most once per hour.
//
// Every write encodes its whole partition, so keep partitions small: one
// per pull request or merge commit, not one per repository. Delivery IDs,
// one per webhook, belong in Marks, not here.
type File struct {
	dir      string // holds partition files
	root     string
	now      func() time.Time
	fsync    func(*os.File) error // (*os.File).Sync; tests count the calls
	datasync func(*os.File) error // fdatasync(2); tests count the calls
	dirDirty bool                 // a durable rename's directory sync failed; under mu
	torn     atomic.Int64         // reads that met a torn slot (tests)
	closed   atomic.Bool

	mu     sync.Mutex // serialises writers in this process: flock is per open file, not per goroutine
	lock   *os.File
	writes int
}

var _ Store = (*File)(nil)

// OpenFile opens the File store in dir, creating dir (mode 0700) if needed.
// Close releases it.
func OpenFile(dir string) (*File, error) {
	if dir == "" {
		return nil, errors.New("open file store: empty directory name")
	}
	parts := filepath.Join(dir, partsDir)
	if err := os.MkdirAll(parts, 0o700); err != nil {
		return nil, fmt.Errorf("open file store %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open file store %s: %w", dir, err)
	}
	f := &File{dir: parts, root: dir, now: time.Now, fsync: (*os.File).Sync, datasync: fdatasync, lock: lock}
	if err := f.maybeSweep(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open file store %s: %w", dir, err)
	}
	return f, nil
}

// Close releases the store. Operations after Close fail.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed.Swap(true) {
		return nil
	}
	if err := f.lock.Close(); err != nil {
		return fmt.Errorf("close file store %s: %w", f.root, err)
	}
	return nil
}

// Get returns the live record at (pk, sk), or ErrNotFound.
func (f *File) Get(ctx context.Context, pk, sk string) (Record, error) {
	if err := f.ready(ctx, pk, sk); err != nil {
		return Record{}, err
	}
	p, err := f.readStable(pk)
	if err != nil {
		return Record{}, err
	}
	i, ok := p.find(sk)
	if !ok || !live(p.Records[i].Expires, f.now()) {
		return Record{}, ErrNotFound
	}
	return p.Records[i].record(pk), nil
}

// Query returns every live record under pk, ordered by SK.
func (f *File) Query(ctx context.Context, pk string) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.closed.Load() {
		return nil, errClosed
	}
	if err := checkPart("partition", pk, maxPKBytes); err != nil {
		return nil, err
	}
	p, err := f.readStable(pk)
	if err != nil {
		return nil, err
	}
	now := f.now()
	var out []Record
	for _, r := range p.Records {
		if live(r.Expires, now) {
			out = append(out, r.record(pk))
		}
	}
	return out, nil
}

// PutIfNewer writes rec unless a live record at its key has a Version >=
// rec.Version, and reports whether it wrote.
func (f *File) PutIfNewer(ctx context.Context, rec Record) (bool, error) {
	return f.put(ctx, rec, newer(rec))
}

// newer is the replace rule of PutIfNewer.
func newer(rec Record) func(old fileRecord) bool {
	return func(old fileRecord) bool { return old.Version < rec.Version }
}

// PutManyIfNewer applies PutIfNewer to each of recs, rewriting (and
// fsyncing) each partition once, and reports per record whether it wrote.
func (f *File) PutManyIfNewer(ctx context.Context, recs []Record) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.closed.Load() {
		return nil, errClosed
	}
	// One pass per partition, in order of first appearance.
	var pks []string
	byPK := map[string][]int{}
	for i, rec := range recs {
		if err := checkKey(rec.PK, rec.SK); err != nil {
			return nil, err
		}
		if _, ok := byPK[rec.PK]; !ok {
			pks = append(pks, rec.PK)
		}
		byPK[rec.PK] = append(byPK[rec.PK], i)
	}
	wrote := make([]bool, len(recs))
	for _, pk := range pks {
		if err := ctx.Err(); err != nil {
			return wrote, err
		}
		err := f.update(pk, func(p *partition, now time.Time) bool {
			changed := false
			for _, i := range byPK[pk] {
				if p.put(recs[i], now, newer(recs[i])) {
					wrote[i], changed = true, true
				}
			}
			return changed
		})
		if err != nil {
			// The write failed: none of this partition counts as written
			// (if the rename did land, doing it again converges).
			for _, i := range byPK[pk] {
				wrote[i] = false
			}
			return wrote, err
		}
	}
	return wrote, nil
}

// PutIfAbsent writes rec unless a live record exists at its key, and reports
// whether it wrote.
func (f *File) PutIfAbsent(ctx context.Context, rec Record) (bool, error) {
	return f.put(ctx, rec, func(fileRecord) bool { return false })
}

// put writes rec when no live record is at its key or replace(old) is true.
func (f *File) put(ctx context.Context, rec Record, replace func(old fileRecord) bool) (bool, error) {
	if err := f.ready(ctx, rec.PK, rec.SK); err != nil {
		return false, err
	}
	wrote := false
	err := f.update(rec.PK, func(p *partition, now time.Time) bool {
		wrote = p.put(rec, now, replace)
		return wrote
	})
	if err != nil {
		return false, err
	}
	return wrote, nil
}

// Delete removes the record at (pk, sk); deleting nothing is not an error.
func (f *File) Delete(ctx context.Context, pk, sk string) error {
	if err := f.ready(ctx, pk, sk); err != nil {
		return err
	}
	return f.update(pk, func(p *partition, _ time.Time) bool {
		i, ok := p.find(sk)
		if !ok {
			return false
		}
		p.Records = slices.Delete(p.Records, i, i+1)
		return true
	})
}

func (f *File) ready(ctx context.Context, pk, sk string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.closed.Load() {
		return errClosed
	}
	return checkKey(pk, sk)
}

// update runs change on the partition of pk under the exclusive lock and
// persists the partition when change reports a modification.
func (f *File) update(pk string, change func(p *partition, now time.Time) bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed.Load() {
		return errClosed
	}
	if err := f.flock(syscall.LOCK_EX); err != nil {
		return err
	}
	defer f.flock(syscall.LOCK_UN) // closing the file would release it anyway

	p, l, err := f.read(pk)
	if err != nil {
		return err
	}
	hadDurable := hasDurable(p)
	now := f.now()
	if !change(p, now) {
		return nil
	}
	// Expired records are dropped whenever the partition is rewritten anyway.
	p.Records = slices.DeleteFunc(p.Records, func(r fileRecord) bool { return !live(r.Expires, now) })
	if err := f.write(pk, p, l, hadDurable || hasDurable(p)); err != nil {
		return err
	}
	f.writes++
	if f.writes%sweepCheckOp == 0 {
		// Housekeeping: the write above stands whatever the sweep meets,
		// and a failed sweep is tried again at the next check.
		_ = f.sweepIfDue()
	}
	return nil
}

func (f *File) flock(how int) error {
	for {
		err := syscall.Flock(int(f.lock.Fd()), how)
		if err != syscall.EINTR { // the Go runtime's preemption signals interrupt blocking calls
			if err != nil {
				return fmt.Errorf("lock file store %s: %w", f.root, err)
			}
			return nil
		}
	}
}

func (f *File) path(pk string) string {
	sum := sha256.Sum256([]byte(pk))
	return filepath.Join(f.dir, hex.EncodeToString(sum[:])+partSuffix)
}

// readStable is read for readers, who take no lock: a slot caught while a
// writer writes it reads as torn, and if two versions were written while
// this read was under way, the other slot is older than one already
// acknowledged; a slot a crash left torn beside one being written makes
// the whole file unreadable for that moment. Then the partition is read
// again under the writers' lock.
func (f *File) readStable(pk string) (*partition, error) {
	p, l, err := f.read(pk)
	if err == nil && !l.torn {
		return p, nil
	}
	f.torn.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed.Load() {
		return nil, errClosed
	}
	if err := f.flock(syscall.LOCK_EX); err != nil {
		return nil, err
	}
	defer f.flock(syscall.LOCK_UN)
	p, _, err = f.read(pk)
	return p, err
}

// read loads the partition of pk; a missing file is an empty partition.
func (f *File) read(pk string) (*partition, slotLayout, error) {
	path := f.path(pk)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &partition{Format: fileFormat, PK: pk}, slotLayout{}, nil
	}
	if err != nil {
		return nil, slotLayout{}, fmt.Errorf("read partition %s: %w", path, err)
	}
	if len(b) == 0 {
		// Never written so (an empty partition is removed): what a power
		// cut leaves of an unsynced write of expiring records. Their loss
		// is allowed (see Record.Expires), so the partition reads as absent.
		return &partition{Format: fileFormat, PK: pk}, slotLayout{}, nil
	}
	p, l, err := decodeFile(b)
	if err != nil {
		return nil, slotLayout{}, fmt.Errorf("read partition %s: %w", path, err)
	}
	if p.PK != pk {
		return nil, slotLayout{}, fmt.Errorf("read partition %s: holds key %q, want %q", path, p.PK, pk)
	}
	return p, l, nil
}

// hasDurable reports whether p holds a record kept until deleted.
func hasDurable(p *partition) bool {
	return slices.ContainsFunc(p.Records, func(r fileRecord) bool { return r.Expires.IsZero() })
}

// write stores p as the partition of pk, whose file is laid out as l, or
// removes the file when p is empty. flush makes the change survive a power
// cut: it is set when the old or the new content holds a durable record,
// so that removing one is as durable as adding it. See slots.go for the
// two formats.
func (f *File) write(pk string, p *partition, l slotLayout, flush bool) error {
	path := f.path(pk)
	if len(p.Records) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove partition %s: %w", path, err)
		}
		return f.syncDir()
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode partition %s: %w", path, err)
	}
	switch {
	case l.size > 0 && int64(slotHeaderLen+len(b)) <= l.size:
		err = f.writeSlot(path, l, b, flush)
	case hasDurable(p):
		err = f.replaceFile(path, newSlotFile(l.seq+1, b), true)
	default:
		err = f.replaceFile(path, b, flush)
	}
	if err != nil {
		return fmt.Errorf("write partition %s: %w", path, err)
	}
	return nil
}

// writeSlot writes payload as the next version into the slot of path not
// holding the newest one, and with flush makes it durable.
func (f *File) writeSlot(path string, l slotLayout, payload []byte, flush bool) error {
	if flush {
		if err := f.syncDirIfDirty(); err != nil {
			return err
		}
	}
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fh.WriteAt(encodeSlot(l.seq+1, payload), l.offset(1-l.active))
	if err == nil && flush {
		err = f.datasync(fh)
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceFile makes path hold b, or leaves it as it was; durable makes the
// replacement survive a power cut.
func (f *File) replaceFile(path string, b []byte, durable bool) error {
	tmp, err := os.CreateTemp(f.dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil && durable {
		err = f.fsync(tmp)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if durable {
			// Until the directory is synced this rename may be undone by
			// a power cut, and with it any update made to the file since:
			// a failed sync below is retried before the next flush.
			f.dirDirty = true
		}
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	if !durable {
		return nil
	}
	return f.syncDir()
}

// syncDirIfDirty syncs the directory when a rename of a durable write has
// not been made durable yet (its sync failed).
func (f *File) syncDirIfDirty() error {
	if !f.dirDirty {
		return nil
	}
	return f.syncDir()
}

// syncDir makes a rename or removal in the partition directory durable.
func (f *File) syncDir() error {
	d, err := os.Open(f.dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = f.fsync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", f.dir, err)
	}
	f.dirDirty = false
	return nil
}

// maybeSweep sweeps under the exclusive lock when the last sweep is stale.
func (f *File) maybeSweep() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.flock(syscall.LOCK_EX); err != nil {
		return err
	}
	defer f.flock(syscall.LOCK_UN)
	return f.sweepIfDue()
}

// sweepIfDue needs the exclusive lock held.
func (f *File) sweepIfDue() error {
	marker := filepath.Join(f.root, sweptName)
	now := f.now()
	if st, err := os.Stat(marker); err == nil && now.Sub(st.ModTime()) < sweepEvery && !st.ModTime().After(now) {
		return nil
	}
	if err := f.sweep(now); err != nil {
		return err
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return fmt.Errorf("sweep %s: %w", f.root, err)
	}
	if err := os.Chtimes(marker, now, now); err != nil {
		return fmt.Errorf("sweep %s: %w", f.root, err)
	}
	return nil
}

// sweep deletes partitions whose records have all expired (delivery IDs are
// written once and never rewritten, so lazy pruning alone would keep them
// forever) and temp files left by a crash. It needs the exclusive lock held:
// then no write is in progress, so every temp file is garbage.
func (f *File) sweep(now time.Time) error {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", f.dir, err)
	}
	removed := false
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(f.dir, name)
		switch {
		case strings.HasPrefix(name, tmpPrefix):
		case strings.HasSuffix(name, partSuffix):
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("sweep %s: %w", path, err)
			}
			if len(b) == 0 { // no partition (see read): removed
				break
			}
			p, _, err := decodeFile(b)
			if err != nil {
				// Left for a person to look at: reads of its key report
				// the error with the path, and the rest of the store,
				// and opening it, must not depend on one bad file.
				continue
			}
			if slices.ContainsFunc(p.Records, func(r fileRecord) bool { return live(r.Expires, now) }) {
				continue
			}
		default:
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sweep %s: %w", path, err)
		}
		removed = true
	}
	if removed {
		return f.syncDir()
	}
	return nil
}

// partition is the JSON content of one partition file.
type partition struct {
	Format  int          `json:"format"`
	PK      string       `json:"pk"`
	Records []fileRecord `json:"records"` // sorted by SK, unique
}

type fileRecord struct {
	SK      string    `json:"sk"`
	Version int64     `json:"v"`
	Data    []byte    `json:"data,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

func decodePartition(b []byte) (*partition, error) {
	var p partition
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	if p.Format != fileFormat {
		return nil, fmt.Errorf("format %d, want %d", p.Format, fileFormat)
	}
	if !slices.IsSortedFunc(p.Records, func(a, b fileRecord) int { return strings.Compare(a.SK, b.SK) }) {
		return nil, errors.New("records not sorted by sort key")
	}
	return &p, nil
}

// put sets rec in p when no live record is at its key or replace(old) is
// true, and reports whether it did.
func (p *partition) put(rec Record, now time.Time, replace func(old fileRecord) bool) bool {
	nr := fileRecord{SK: rec.SK, Version: rec.Version, Data: rec.Data, Expires: rec.Expires}
	i, ok := p.find(rec.SK)
	switch {
	case !ok:
		p.Records = slices.Insert(p.Records, i, nr)
	case !live(p.Records[i].Expires, now) || replace(p.Records[i]):
		p.Records[i] = nr
	default:
		return false
	}
	return true
}

// find returns the index of sk, or where to insert it.
func (p *partition) find(sk string) (int, bool) {
	return slices.BinarySearchFunc(p.Records, sk, func(r fileRecord, sk string) int { return strings.Compare(r.SK, sk) })
}

func (r fileRecord) record(pk string) Record {
	return Record{PK: pk, SK: r.SK, Version: r.Version, Data: r.Data, Expires: r.Expires}
}

// fdatasync flushes fh's data and what is needed to read it back, but not
// its times.
func fdatasync(fh *os.File) error {
	for {
		err := syscall.Fdatasync(int(fh.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
