// Package storetest holds an in-memory store.Store for tests that need a
// store but not a disk: App-layer tests run with it, without HTTP or files.
//
// Entry point: NewMemory.
package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
)

// Memory is a store.Store in a map, with the conditional-write rules of the
// real stores (newer version wins; PutIfAbsent only when absent or
// expired), safe for concurrent use. Now decides expiry (time.Now when nil).
type Memory struct {
	Now func() time.Time

	mu   sync.Mutex
	recs map[string]map[string]store.Record // pk -> sk -> record
}

var _ store.Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{recs: map[string]map[string]store.Record{}} }

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Memory) live(r store.Record) bool {
	return r.Expires.IsZero() || m.now().Before(r.Expires)
}

// Get returns the record, or store.ErrNotFound.
func (m *Memory) Get(_ context.Context, pk, sk string) (store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[pk][sk]
	if !ok || !m.live(r) {
		return store.Record{}, store.ErrNotFound
	}
	return clone(r), nil
}

// Query returns a partition's live records ordered by sort key.
func (m *Memory) Query(_ context.Context, pk string) ([]store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Record
	for _, r := range m.recs[pk] {
		if m.live(r) {
			out = append(out, clone(r))
		}
	}
	slices.SortFunc(out, func(a, b store.Record) int { return strings.Compare(a.SK, b.SK) })
	return out, nil
}

// PutIfNewer writes rec when no live record has a version at least as new.
func (m *Memory) PutIfNewer(_ context.Context, rec store.Record) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.putIfNewer(rec), nil
}

// PutManyIfNewer is PutIfNewer for each record, under one lock.
func (m *Memory) PutManyIfNewer(_ context.Context, recs []store.Record) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]bool, len(recs))
	for i, r := range recs {
		out[i] = m.putIfNewer(r)
	}
	return out, nil
}

func (m *Memory) putIfNewer(rec store.Record) bool {
	if old, ok := m.recs[rec.PK][rec.SK]; ok && m.live(old) && old.Version >= rec.Version {
		return false
	}
	m.put(rec)
	return true
}

// PutIfAbsent writes rec when no live record has its key.
func (m *Memory) PutIfAbsent(_ context.Context, rec store.Record) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.recs[rec.PK][rec.SK]; ok && m.live(old) {
		return false, nil
	}
	m.put(rec)
	return true, nil
}

// Delete removes a record; a missing one is no error.
func (m *Memory) Delete(_ context.Context, pk, sk string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs[pk], sk)
	return nil
}

func (m *Memory) put(rec store.Record) {
	if m.recs[rec.PK] == nil {
		m.recs[rec.PK] = map[string]store.Record{}
	}
	m.recs[rec.PK][rec.SK] = clone(rec)
}

func clone(r store.Record) store.Record {
	r.Data = slices.Clone(r.Data)
	return r
}
