package app

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/checklist"
)

func TestTickVersionOrdering(t *testing.T) {
	t0 := time.Date(2024, 5, 6, 9, 15, 2, 0, time.UTC)
	for name, tc := range map[string]struct {
		older, newer [2]any // time, checked
	}{
		"a later tick wins":                   {[2]any{t0, false}, [2]any{t0.Add(time.Second), true}},
		"a later untick wins":                 {[2]any{t0, true}, [2]any{t0.Add(time.Second), false}},
		"a tie goes to the untick":            {[2]any{t0, true}, [2]any{t0, false}},
		"a nanosecond is later":               {[2]any{t0, false}, [2]any{t0.Add(time.Nanosecond), true}},
		"an untick loses to a tick after it":  {[2]any{t0, false}, [2]any{t0.Add(time.Nanosecond), true}},
		"far apart, across the year boundary": {[2]any{time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC), false}, [2]any{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), true}},
	} {
		t.Run(name, func(t *testing.T) {
			o := tickVersion(tc.older[0].(time.Time), tc.older[1].(bool))
			n := tickVersion(tc.newer[0].(time.Time), tc.newer[1].(bool))
			if o >= n {
				t.Errorf("older %d >= newer %d", o, n)
			}
		})
	}
	// facts recovers the time from the version.
	for _, checked := range []bool{true, false} {
		if got := time.Unix(0, tickVersion(t0, checked)/2).UTC(); !got.Equal(t0) {
			t.Errorf("checked=%v: time from version = %v, want %v", checked, got, t0)
		}
	}
}

// newTestApp is an App over a file store, printing its check runs to out.
func newTestApp(t *testing.T, out *syncWriter) (*App, store.Store) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := New(Options{Store: st, DryRun: &DryRun{Out: out, Writers: []string{"bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	return a, st
}

// TestLedgerConverges applies the same three changes of one box in every
// order, and twice: the stored record is always the latest.
func TestLedgerConverges(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2024, 5, 6, 9, 15, 2, 0, time.UTC)
	k := key(t, "Reviewer Checklist", "Are the commit messages appropriate?")
	type step struct {
		checked bool
		by      string
		at      time.Time
	}
	steps := []step{{true, "bob", t0}, {false, "alice", t0.Add(time.Second)}, {true, "carol", t0.Add(2 * time.Second)}}
	pr := PRState{Owner: "Acme", Repo: "API", Number: 7}
	var want []store.Record
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {2, 0, 1}, {0, 1, 2, 2, 1, 0}} {
		a, st := newTestApp(t, &syncWriter{})
		for _, i := range order {
			s := steps[i]
			recs, err := tickRecords(pr, []checklist.Change{{Key: k, Text: "x", Checked: s.checked}}, Actor{Login: s.by}, s.at, reviewRef{})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := a.recordAndLoad(ctx, pr, recs); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.Query(ctx, ledgerPK(pr))
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = got
		}
		if !slices.EqualFunc(got, want, func(x, y store.Record) bool {
			return x.SK == y.SK && x.Version == y.Version && string(x.Data) == string(y.Data)
		}) {
			t.Errorf("order %v: ledger %v, want %v", order, got, want)
		}
		l, err := a.loadLedger(ctx, pr)
		if err != nil {
			t.Fatal(err)
		}
		if tr := l.ticks[k]; !tr.Checked || tr.By != "carol" {
			t.Errorf("order %v: latest record %+v, want carol's tick", order, tr)
		}
	}
}

// TestCurrentKeepsTheNewestState: a late delivery is judged on the newest
// body, head and merge seen, and does not overwrite them.
func TestCurrentKeepsTheNewestState(t *testing.T) {
	ctx := context.Background()
	a, _ := newTestApp(t, &syncWriter{})
	t0 := time.Date(2024, 5, 6, 9, 15, 2, 0, time.UTC)
	newer := PRState{Owner: "acme", Repo: "api", Number: 7, Body: "new", HeadSHA: "h2", UpdatedAt: t0.Add(time.Minute), Merged: true, MergeSHA: "m"}
	older := PRState{Owner: "acme", Repo: "api", Number: 7, Body: "old", HeadSHA: "h1", UpdatedAt: t0}
	for _, tc := range []struct {
		in         PRState
		body, head string
	}{
		{newer, "new", "h2"},
		{older, "new", "h2"}, // late: takes the newest
		{newer, "new", "h2"}, // same again
	} {
		got, _, err := a.recordAndLoad(ctx, tc.in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Body != tc.body || got.HeadSHA != tc.head || !got.Merged || got.MergeSHA != "m" {
			t.Errorf("current(%s@%v) = %q@%s merged=%v %q, want %q@%s merged as m", tc.in.Body, tc.in.UpdatedAt,
				got.Body, got.HeadSHA, got.Merged, got.MergeSHA, tc.body, tc.head)
		}
	}
	// A state without updated_at is of unknown age: nothing is recorded,
	// and the newest state recorded is judged instead.
	got, _, err := a.recordAndLoad(ctx, PRState{Owner: "acme", Repo: "api", Number: 7, Body: "fetched"}, nil)
	if err != nil || got.Body != "new" {
		t.Errorf("recordAndLoad without updated_at = %q, %v; want the newest state", got.Body, err)
	}
}

func TestLedgerMovedSince(t *testing.T) {
	base := func() ledger {
		return ledger{versions: map[string]int64{"item:a": 2, "item:b": 4, prSK: 10, pushSK: 5}}
	}
	for name, tc := range map[string]struct {
		change func(l *ledger)
		moved  bool
	}{
		"nothing":           {func(*ledger) {}, false},
		"a record replaced": {func(l *ledger) { l.versions["item:a"] = 3 }, true},
		"a record added":    {func(l *ledger) { l.versions["item:c"] = 1 }, true},
		"a record gone":     {func(l *ledger) { delete(l.versions, "item:b") }, true},
		"a record swapped":  {func(l *ledger) { delete(l.versions, "item:b"); l.versions["item:c"] = 4 }, true},
		"newer state":       {func(l *ledger) { l.versions[prSK] = 11 }, true},
		"a push":            {func(l *ledger) { l.versions[pushSK] = 6 }, true},
		"a waiver":          {func(l *ledger) { l.versions["waive:a"] = 6 }, true},
		"a dismissal":       {func(l *ledger) { l.versions["dismissed:9"] = 1 }, true},
		"head facts only":   {func(l *ledger) { l.versions[headSK] = 1 }, false},
	} {
		t.Run(name, func(t *testing.T) {
			old, now := base(), base()
			tc.change(&now)
			if got := now.movedSince(old); got != tc.moved {
				t.Errorf("movedSince = %v, want %v", got, tc.moved)
			}
			// postFresh compares undecoded records with the same digest.
			var recs []store.Record
			for sk, v := range now.versions {
				recs = append(recs, store.Record{SK: sk, Version: v})
			}
			if got := recordsDigest(recs) != old.digest(); got != tc.moved {
				t.Errorf("records digest differs = %v, want %v", got, tc.moved)
			}
		})
	}
}
