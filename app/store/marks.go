package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Marks remembers handled webhook delivery IDs for `checkoff serve`, in one
// append-only file, where the File store would spend a new partition file
// on each: creating a file per delivery made the next delivery's fdatasync
// wait for a journal commit (BenchmarkFileDeliveryPattern against
// BenchmarkFileDeliveryPatternMarks). A mark only spares a redelivery from
// being handled again, which converges anyway (see Record.Expires), so the
// log is never flushed; on open, a torn last line (a crash mid-append) is
// skipped.
//
// The file holds one line per mark, "<expiry in Unix nanoseconds> <id>".
// Expired marks are dropped when the file is compacted: on open, and every
// few thousand marks when most of its lines are stale. One process has the
// log at a time: it holds an flock(2) on "<path>.lock", and a second
// OpenMarks of the same path fails.
type Marks struct {
	path string
	ttl  time.Duration
	now  func() time.Time

	lock    *os.File // flock(2) held while open
	mu      sync.Mutex
	f       *os.File         // append-only; nil once closed
	live    map[string]int64 // id -> expiry; expired ones until the next prune
	lines   int              // in the file, stale ones included
	appends int
}

// marksPruneEvery is how many appends pass between prunes of expired marks
// (from memory, and from the file when most of its lines are stale).
const marksPruneEvery = 4096

// OpenMarks opens (creating it if needed) the mark log at path; a mark is
// remembered for ttl. Close releases it.
func OpenMarks(path string, ttl time.Duration) (*Marks, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("open marks %s: ttl %v is not positive", path, ttl)
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open marks %s: %w", path, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open marks %s: in use by another process (%w)", path, err)
	}
	m := &Marks{path: path, ttl: ttl, now: time.Now, live: map[string]int64{}, lock: lock}
	// Temp files of a compaction cut short by a crash.
	if old, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")); err == nil {
		for _, name := range old {
			os.Remove(name)
		}
	}
	if err := m.load(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open marks %s: %w", path, err)
	}
	if err := m.compact(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open marks %s: %w", path, err)
	}
	return m, nil
}

// load reads the live marks. Malformed lines, and a last line without its
// newline (an append cut short by a crash), are skipped.
func (m *Marks) load() error {
	b, err := os.ReadFile(m.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	now := m.now().UnixNano()
	for len(b) > 0 {
		line, rest, whole := bytes.Cut(b, []byte("\n"))
		b = rest
		if !whole {
			break
		}
		exp, id, ok := strings.Cut(string(line), " ")
		if !ok || !validMarkID(id) {
			continue
		}
		e, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || e <= now {
			continue
		}
		if e > m.live[id] {
			m.live[id] = e
		}
	}
	return nil
}

// compact rewrites the file with the live marks only (temp file and
// rename) and reopens it for appending. It needs mu held, or no other user.
func (m *Marks) compact() error {
	var buf bytes.Buffer
	for id, e := range m.live {
		fmt.Fprintf(&buf, "%d %s\n", e, id)
	}
	tmp, err := os.CreateTemp(filepath.Dir(m.path), "."+filepath.Base(m.path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	// Opened for appending before it takes the log's place, so appends
	// never go to a file that is no longer the log.
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o600)
	}
	if err == nil {
		if err = os.Rename(name, m.path); err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	if m.f != nil {
		m.f.Close()
	}
	m.f, m.lines = f, len(m.live)
	return nil
}

// validMarkID accepts what webhook accepts as a delivery ID: printable
// ASCII without spaces, so a line is always "<expiry> <id>".
func validMarkID(id string) bool {
	if id == "" || len(id) > maxSKBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Seen reports whether delivery id was marked done within the ttl.
func (m *Marks) Seen(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return false, errClosed
	}
	e, ok := m.live[id]
	return ok && e > m.now().UnixNano(), nil
}

// Done marks delivery id handled. It runs to the end even when ctx is done:
// the delivery was handled, and the mark is a local append.
func (m *Marks) Done(_ context.Context, id string) error {
	if !validMarkID(id) {
		return fmt.Errorf("mark delivery %q: not a delivery ID", id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return errClosed
	}
	now := m.now()
	exp := now.Add(m.ttl).UnixNano()
	if _, err := fmt.Fprintf(m.f, "%d %s\n", exp, id); err != nil {
		return fmt.Errorf("mark delivery %s in %s: %w", id, m.path, err)
	}
	m.live[id] = exp
	m.lines++
	m.appends++
	if m.appends%marksPruneEvery != 0 {
		return nil
	}
	for k, e := range m.live {
		if e <= now.UnixNano() {
			delete(m.live, k)
		}
	}
	if m.lines >= 2*len(m.live) {
		if err := m.compact(); err != nil {
			return fmt.Errorf("compact marks %s: %w", m.path, err)
		}
	}
	return nil
}

// Close releases the file. Calls after Close fail.
func (m *Marks) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	if lerr := m.lock.Close(); err == nil { // releases the flock
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("close marks %s: %w", m.path, err)
	}
	return nil
}
