package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
)

// TestMemory checks the conditional-write rules the App relies on.
func TestMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory()
	m.Now = func() time.Time { return now }
	rec := func(sk string, v int64) store.Record {
		return store.Record{PK: "p", SK: sk, Version: v, Data: []byte{byte(v)}}
	}
	if ok, _ := m.PutIfNewer(ctx, rec("a", 2)); !ok {
		t.Fatal("first put refused")
	}
	if ok, _ := m.PutIfNewer(ctx, rec("a", 2)); ok {
		t.Error("same version accepted")
	}
	if ok, _ := m.PutIfNewer(ctx, rec("a", 1)); ok {
		t.Error("older version accepted")
	}
	oks, _ := m.PutManyIfNewer(ctx, []store.Record{rec("a", 3), rec("b", 1)})
	if !oks[0] || !oks[1] {
		t.Errorf("PutManyIfNewer = %v", oks)
	}
	exp := rec("c", 1)
	exp.Expires = now.Add(time.Second)
	if ok, _ := m.PutIfAbsent(ctx, exp); !ok {
		t.Error("PutIfAbsent refused a new key")
	}
	if ok, _ := m.PutIfAbsent(ctx, exp); ok {
		t.Error("PutIfAbsent accepted a live key")
	}
	now = now.Add(time.Second)
	if _, err := m.Get(ctx, "p", "c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired record: %v", err)
	}
	recs, _ := m.Query(ctx, "p")
	if len(recs) != 2 || recs[0].SK != "a" || recs[0].Version != 3 || recs[1].SK != "b" {
		t.Errorf("Query = %+v", recs)
	}
	recs[0].Data[0] = 99 // callers cannot change the store through a result
	if r, _ := m.Get(ctx, "p", "a"); r.Data[0] != 3 {
		t.Error("Query returned the store's own bytes")
	}
	if err := m.Delete(ctx, "p", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "p", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted record: %v", err)
	}
}
