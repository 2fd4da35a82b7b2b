package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
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
	v := Verdict{Owner: "Acme", Repo: "Invoice-API", PR: 12, MergeSHA: sha1, Complete: true, At: t0}
	if err := PutVerdict(ctx, st, v); err != nil {
		t.Fatal(err)
	}
	older := v
	older.Complete, older.At = false, t0.Add(-time.Minute)
	if err := PutVerdict(ctx, st, older); err != nil {
		t.Fatal(err)
	}
	got, err := GetVerdict(ctx, st, "acme", "invoice-api", sha1)
	if err != nil || !got.Complete || got.PR != 12 {
		t.Fatalf("GetVerdict in lower case = %+v, %v; want the complete verdict of #12", got, err)
	}
	if _, err := GetVerdict(ctx, st, "acme", "invoice-api", sha2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetVerdict of another commit: %v, want ErrNotFound", err)
	}
	other := Verdict{Owner: "acme", Repo: "invoice-api", PR: 13, MergeSHA: sha2, At: t0}
	if err := PutVerdict(ctx, st, other); err != nil {
		t.Fatal(err)
	}
	if recs, err := st.Query(ctx, verdictPK("acme", "invoice-api", sha1)); err != nil || len(recs) != 1 {
		t.Errorf("partition of %s holds %d records (%v), want its verdict alone", sha1[:7], len(recs), err)
	}
}
