package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// benchFile returns a File holding a PR ledger of realistic size: 20 items, ~80 bytes each.
func benchFile(b *testing.B) *File {
	b.Helper()
	f, err := OpenFile(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	ctx := context.Background()
	for i := range 20 {
		rec := Record{PK: "pr#octo/repo#1", SK: fmt.Sprintf("tick#%02d", i), Version: 1,
			Data: fmt.Appendf(nil, `{"item":"item %d","checked":true,"by":"octocat","at":"2026-01-02T03:04:05Z"}`, i)}
		if _, err := f.PutIfNewer(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// BenchmarkFilePutIfNewer measures a write that lands: lock, read, rewrite
// and fsync the partition, fsync the directory.
func BenchmarkFilePutIfNewer(b *testing.B) {
	f := benchFile(b)
	ctx := context.Background()
	rec := Record{PK: "pr#octo/repo#1", SK: "tick#07", Data: []byte(`{"item":"item 7","checked":false,"by":"hubot","at":"2026-01-02T03:04:06Z"}`)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.Version = int64(i + 2)
		if ok, err := f.PutIfNewer(ctx, rec); err != nil || !ok {
			b.Fatalf("PutIfNewer = %v, %v", ok, err)
		}
	}
}

// BenchmarkFilePutIfNewerStale measures a redelivered write: lock and read,
// nothing written.
func BenchmarkFilePutIfNewerStale(b *testing.B) {
	f := benchFile(b)
	ctx := context.Background()
	rec := Record{PK: "pr#octo/repo#1", SK: "tick#07", Version: 1}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := f.PutIfNewer(ctx, rec); err != nil || ok {
			b.Fatalf("PutIfNewer = %v, %v", ok, err)
		}
	}
}

func BenchmarkFileGet(b *testing.B) {
	f := benchFile(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Get(ctx, "pr#octo/repo#1", "tick#07"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileQuery(b *testing.B) {
	f := benchFile(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if recs, err := f.Query(ctx, "pr#octo/repo#1"); err != nil || len(recs) != 20 {
			b.Fatalf("Query = %d records, %v", len(recs), err)
		}
	}
}

// BenchmarkFilePutManyIfNewer measures what an opening body costs the
// ledger: six box records and the PR state in one rewrite and fsync.
func BenchmarkFilePutManyIfNewer(b *testing.B) {
	f := benchFile(b)
	ctx := context.Background()
	batch := make([]Record, 7)
	for i := range batch {
		batch[i] = Record{PK: "pr#octo/repo#1", SK: fmt.Sprintf("tick#%02d", i),
			Data: fmt.Appendf(nil, `{"item":"item %d","checked":false,"by":"hubot","at":"2026-01-02T03:04:06Z"}`, i)}
	}
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		for i := range batch {
			batch[i].Version = int64(n + 2)
		}
		if _, err := f.PutManyIfNewer(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileDeliveryPattern is what one delivery asks of the store: a
// durable ledger write, then a delivery mark (expiring, so not fsynced, but
// a new file whose creation the next fsync's journal commit carries).
func BenchmarkFileDeliveryPattern(b *testing.B) {
	f := benchFile(b)
	ctx := context.Background()
	rec := Record{PK: "pr#octo/repo#1", SK: "tick#07", Data: []byte(`{"item":"item 7","checked":false,"by":"hubot","at":"2026-01-02T03:04:06Z"}`)}
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.Version = int64(i + 2)
		if _, err := f.PutIfNewer(ctx, rec); err != nil {
			b.Fatal(err)
		}
		if _, err := f.PutIfAbsent(ctx, Record{PK: fmt.Sprintf("delivery#%d", i), SK: "done", Version: 1, Data: []byte("{}"), Expires: exp}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileDeliveryPatternMarks is BenchmarkFileDeliveryPattern with
// the delivery mark appended to a Marks log, as `checkoff serve` does.
func BenchmarkFileDeliveryPatternMarks(b *testing.B) {
	f := benchFile(b)
	m, err := OpenMarks(filepath.Join(b.TempDir(), "deliveries.log"), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	ctx := context.Background()
	rec := Record{PK: "pr#octo/repo#1", SK: "tick#07", Data: []byte(`{"item":"item 7","checked":false,"by":"hubot","at":"2026-01-02T03:04:06Z"}`)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.Version = int64(i + 2)
		if _, err := f.PutIfNewer(ctx, rec); err != nil {
			b.Fatal(err)
		}
		if err := m.Done(ctx, fmt.Sprintf("delivery-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
}
