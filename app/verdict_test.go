package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
)

// TestVerdictRecords: a verdict is found by repository in any case and by
// merge commit, a verdict judged on an older ledger does not replace a newer
// one, and each merge is its own partition (so the File store never
// rewrites a repository's merges to add one).
func TestVerdictRecords(t *testing.T) {
	ctx := context.Background()
	_, st := newTestApp(t, &syncWriter{})
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	const sha1, sha2 = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	v := verdict.Verdict{Owner: "Acme", Repo: "Invoice-API", PR: 12, MergeSHA: sha1, Complete: true, At: t0}
	if err := verdict.Put(ctx, st, v); err != nil {
		t.Fatal(err)
	}
	older := v
	older.Complete, older.At = false, t0.Add(-time.Minute)
	if err := verdict.Put(ctx, st, older); err != nil {
		t.Fatal(err)
	}
	got, err := verdict.Get(ctx, st, "acme", "invoice-api", sha1)
	if err != nil || !got.Complete || got.PR != 12 {
		t.Fatalf("GetVerdict in lower case = %+v, %v; want the complete verdict of #12", got, err)
	}
	if _, err := verdict.Get(ctx, st, "acme", "invoice-api", sha2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetVerdict of another commit: %v, want ErrNotFound", err)
	}
	other := verdict.Verdict{Owner: "acme", Repo: "invoice-api", PR: 13, MergeSHA: sha2, At: t0}
	if err := verdict.Put(ctx, st, other); err != nil {
		t.Fatal(err)
	}
	if recs, err := st.Query(ctx, verdict.PK("acme", "invoice-api", sha1)); err != nil || len(recs) != 1 {
		t.Errorf("partition of %s holds %d records (%v), want its verdict alone", sha1[:7], len(recs), err)
	}
}

// TestAttackStaleVerdictView: two deliveries judge one merged PR; the one
// that read the older ledger stores its verdict last, from a machine whose
// clock runs ahead. Before the fix a verdict's version was a clock read
// before the ledger query, so the older view won and the merge stayed held
// (or, the other way round, a stale complete verdict shipped). The verdict
// that stands must be of the newest ledger, whatever the clocks say.
func TestAttackStaleVerdictView(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	clock := func(at time.Time) func() time.Time { return func() time.Time { return at } }
	dry := &DryRun{Out: &syncWriter{}, Writers: []string{"bob"},
		ConfigData: []byte("checklists:\n  - name: Reviewer Checklist\n    ticked_by: reviewer\n")}
	ahead, err := New(Options{Store: st, DryRun: dry, Now: clock(t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	behind, err := New(Options{Store: st, DryRun: dry, Now: clock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	const base, merge = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	body := func(ticks string) string {
		b := "## Reviewer Checklist\n"
		for i, it := range []string{"Reviewed", "Tested"} {
			box := " "
			if ticks[i] == 'x' {
				box = "x"
			}
			b += "- [" + box + "] " + it + "\n"
		}
		return b
	}
	pr := PRState{Owner: "acme", Repo: "api", RepoID: 7, Number: 3, HeadSHA: "abc", Base: "main", BaseSHA: base, Author: "alice",
		Body: body(".."), UpdatedAt: t0, Merged: true, MergeSHA: merge}
	if err := ahead.Opened(ctx, pr, Actor{Login: "alice"}); err != nil {
		t.Fatal(err)
	}
	// The machine ahead judges the ledger as it is now (nothing ticked)...
	gh := ahead.github(0)
	rcs, err := ahead.configsFor(ctx, gh, pr)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := ahead.loadLedger(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	staleJ, err := ahead.judgeAll(ctx, gh, pr, rcs, stale)
	if err != nil {
		t.Fatal(err)
	}
	// ...while bob ticks both boxes on the machine behind, which records
	// its verdict first.
	done := pr
	done.Body, done.UpdatedAt = body("xx"), t0.Add(time.Minute)
	if err := behind.Edited(ctx, done, pr.Body, Actor{Login: "bob"}); err != nil {
		t.Fatal(err)
	}
	if v, err := verdict.Get(ctx, st, "acme", "api", merge); err != nil || !v.Complete {
		t.Fatalf("verdict after bob's ticks = %+v, %v; want complete", v, err)
	}
	// The slow machine stores its older view last, with the later clock.
	v, err := ahead.recordVerdict(ctx, gh, pr, rcs, stale, staleJ)
	if err != nil {
		t.Fatal(err)
	}
	got, err := verdict.Get(ctx, st, "acme", "api", merge)
	if err != nil || !got.Complete || !v.Complete {
		t.Fatalf("verdict standing = %+v (returned %+v), %v; want the complete verdict of the newest ledger", got, v, err)
	}
}
