package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

type historyStore interface {
	Store
	Historian
}

// testHistory is what every Historian must keep: accepted writes only, in
// order, with their time and delivery.
func testHistory(t *testing.T, newStore func(t *testing.T, now func() time.Time) historyStore) {
	ctx := context.Background()
	clock := newTestClock()
	start := clock.Now()
	s := newStore(t, clock.Now)
	const pk = "ticks#id:42#7"
	d1 := WithDelivery(ctx, "delivery-1")
	if _, err := s.PutManyIfNewer(d1, []Record{
		{PK: pk, SK: "item:a", Version: 10, Data: []byte("tick a")},
		{PK: pk, SK: "pr", Version: 5, Data: []byte("pr v5")},
		{PK: "delivery#x", SK: "done", Version: 1, Expires: start.Add(time.Hour)}, // keeps no history
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	// Stale and duplicate writes are not history: they were not accepted.
	if _, err := s.PutManyIfNewer(WithDelivery(ctx, "delivery-2"), []Record{
		{PK: pk, SK: "item:a", Version: 9, Data: []byte("late untick")},
		{PK: pk, SK: "pr", Version: 5, Data: []byte("pr v5 again")},
		{PK: pk, SK: "item:a", Version: 11, Data: []byte("untick a")},
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if ok, err := s.PutIfAbsent(ctx, Record{PK: pk, SK: "dismissed:3", Version: 1, Data: []byte("{}")}); err != nil || !ok {
		t.Fatalf("PutIfAbsent = %v, %v", ok, err)
	}
	clock.Advance(time.Second) // Dynamo orders history by time alone
	if err := s.Delete(ctx, pk, "dismissed:3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, pk, "dismissed:3"); err != nil { // deleting nothing is no history either
		t.Fatal(err)
	}
	got, err := s.History(ctx, pk)
	if err != nil {
		t.Fatal(err)
	}
	want := []HistoryEntry{
		{Record: Record{PK: pk, SK: "item:a", Version: 10, Data: []byte("tick a")}, Written: start, Delivery: "delivery-1"},
		{Record: Record{PK: pk, SK: "pr", Version: 5, Data: []byte("pr v5")}, Written: start, Delivery: "delivery-1"},
		{Record: Record{PK: pk, SK: "item:a", Version: 11, Data: []byte("untick a")}, Written: start.Add(time.Second), Delivery: "delivery-2"},
		{Record: Record{PK: pk, SK: "dismissed:3", Version: 1, Data: []byte("{}")}, Written: start.Add(2 * time.Second)},
		{Record: Record{PK: pk, SK: "dismissed:3"}, Written: start.Add(3 * time.Second), Deleted: true},
	}
	checkHistory(t, got, want)
	if h, err := s.History(ctx, "delivery#x"); err != nil || len(h) != 0 {
		t.Errorf("History of a partition that keeps none = %v, %v; want none", h, err)
	}
	if _, err := s.History(ctx, ""); err == nil {
		t.Error("History of an empty partition key: no error")
	}
}

func checkHistory(t *testing.T, got, want []HistoryEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("history has %d entries, want %d:\n%s", len(got), len(want), fmtHistory(got))
	}
	for i := range got {
		g, w := got[i], want[i]
		checkRecords(t, fmt.Sprintf("history entry %d", i), []Record{g.Record}, []Record{w.Record})
		if !g.Written.Equal(w.Written) || g.Delivery != w.Delivery || g.Deleted != w.Deleted {
			t.Errorf("history entry %d written %v by %q deleted %v; want %v by %q deleted %v",
				i, g.Written, g.Delivery, g.Deleted, w.Written, w.Delivery, w.Deleted)
		}
	}
}

func fmtHistory(h []HistoryEntry) string {
	var b strings.Builder
	for _, e := range h {
		fmt.Fprintf(&b, "  %s at %v by %q deleted=%v\n", fmtRecords([]Record{e.Record}), e.Written, e.Delivery, e.Deleted)
	}
	return b.String()
}
