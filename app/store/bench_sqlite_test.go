//go:build !nosqlite

package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// benchLedgerPK is a ledger partition, so SQLite's writes pay for their
// history too, as the App's do.
const benchLedgerPK = "ticks#id:1#1"

// benchSQLite returns a SQLite store holding a PR ledger of realistic size,
// as the ledger of a real PR is.
func benchSQLite(b *testing.B) *SQLite {
	b.Helper()
	s, err := OpenSQLite(filepath.Join(b.TempDir(), SQLiteFileName), SQLiteOptions{SweepEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for i := range 20 {
		rec := Record{PK: benchLedgerPK, SK: fmt.Sprintf("tick#%02d", i), Version: 1,
			Data: fmt.Appendf(nil, `{"item":"item %d","checked":true,"by":"octocat","at":"2026-01-02T03:04:05Z"}`, i)}
		if _, err := s.PutIfNewer(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkSQLitePutIfNewer measures a write that lands: one IMMEDIATE
// transaction, the upsert, its history row, and the WAL fsync (FULL).
func BenchmarkSQLitePutIfNewer(b *testing.B) {
	s := benchSQLite(b)
	ctx := context.Background()
	rec := Record{PK: benchLedgerPK, SK: "tick#07", Data: []byte(`{"item":"item 7","checked":false,"by":"hubot","at":"2026-01-02T03:04:06Z"}`)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.Version = int64(i + 2)
		if ok, err := s.PutIfNewer(ctx, rec); err != nil || !ok {
			b.Fatalf("PutIfNewer = %v, %v", ok, err)
		}
	}
}

// BenchmarkSQLitePutIfNewerStale measures a redelivered write: the
// transaction commits having changed nothing.
func BenchmarkSQLitePutIfNewerStale(b *testing.B) {
	s := benchSQLite(b)
	ctx := context.Background()
	rec := Record{PK: benchLedgerPK, SK: "tick#07", Version: 1}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := s.PutIfNewer(ctx, rec); err != nil || ok {
			b.Fatalf("PutIfNewer = %v, %v", ok, err)
		}
	}
}

func BenchmarkSQLiteGet(b *testing.B) {
	s := benchSQLite(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, benchLedgerPK, "tick#07"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSQLiteQuery(b *testing.B) {
	s := benchSQLite(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if recs, err := s.Query(ctx, benchLedgerPK); err != nil || len(recs) != 20 {
			b.Fatalf("Query = %d records, %v", len(recs), err)
		}
	}
}

// BenchmarkSQLitePutManyIfNewer is BenchmarkFilePutManyIfNewer: an opening
// body's seven records in one transaction and one fsync.
func BenchmarkSQLitePutManyIfNewer(b *testing.B) {
	s := benchSQLite(b)
	ctx := context.Background()
	batch := make([]Record, 7)
	for i := range batch {
		batch[i] = Record{PK: benchLedgerPK, SK: fmt.Sprintf("tick#%02d", i),
			Data: fmt.Appendf(nil, `{"item":"item %d","checked":false,"by":"hubot","at":"2026-01-02T03:04:06Z"}`, i)}
	}
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		for i := range batch {
			batch[i].Version = int64(n + 2)
		}
		if _, err := s.PutManyIfNewer(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSQLiteDeliveryPattern is BenchmarkFileDeliveryPatternMarks on
// SQLite: a durable ledger write, then the delivery's mark (NORMAL: not
// fsynced).
func BenchmarkSQLiteDeliveryPattern(b *testing.B) {
	s := benchSQLite(b)
	m := s.Deliveries(time.Hour)
	ctx := context.Background()
	rec := Record{PK: benchLedgerPK, SK: "tick#07", Data: []byte(`{"item":"item 7","checked":false,"by":"hubot","at":"2026-01-02T03:04:06Z"}`)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.Version = int64(i + 2)
		if _, err := s.PutIfNewer(ctx, rec); err != nil {
			b.Fatal(err)
		}
		if err := m.Done(ctx, fmt.Sprintf("delivery-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
}
