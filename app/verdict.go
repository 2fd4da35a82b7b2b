package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
)

// ReleaseGate receives every verdict the app records: at a merge, and again
// when a merged PR is edited. The gate decides whether the base branch feeds
// a pipeline. A nil gate means no release gating.
type ReleaseGate interface {
	Verdict(ctx context.Context, v verdict.Verdict) error
	// Rerun is Verdict for a person's re-run of the gate's check run. GitHub
	// sets the run's check suite back to queued and leaves the run to its
	// App, so the run is posted again even when its outcome is unchanged.
	Rerun(ctx context.Context, v verdict.Verdict) error
}

// recordVerdict records the verdict j on merged pr, judged on ledger l,
// and returns the verdict that stands. Deliveries judge concurrently, and
// a clock read by one of them says nothing of how new the ledger it read
// is: a slow reader could store an older view under a newer time. So every
// verdict carries the digest of the ledger it judged, and once stored it is
// checked against the ledger as it is now; when the two differ (a delivery
// recorded meanwhile), the newest ledger is judged and stored again, after
// the stored one. The verdict left standing is always of the newest ledger:
// the delivery that recorded last checks after everyone else's writes.
func (a *App) recordVerdict(ctx context.Context, gh GitHub, pr PRState, rcs []repoConfig, l ledger, j judgement) (verdict.Verdict, error) {
	for round := 0; ; round++ {
		v := verdict.Verdict{
			Installation: pr.Installation, Owner: pr.Owner, Repo: pr.Repo, PR: pr.Number,
			Base: pr.Base, MergeSHA: pr.MergeSHA, HeadSHA: pr.HeadSHA, Author: pr.Author,
			Complete: j.complete, Reviewers: j.reviewer, Holding: j.holding, Ledger: l.digest(),
		}
		if v.MergeSHA == "" {
			return v, errors.New("merged pull request without merge_commit_sha")
		}
		v.At = a.now().UTC()
		prev, err := verdict.Get(ctx, a.store, pr.Owner, pr.Repo, pr.MergeSHA)
		switch {
		case err == nil:
			if !v.At.After(prev.At) {
				v.At = prev.At.Add(time.Microsecond)
			}
		case !errors.Is(err, store.ErrNotFound):
			return v, err
		}
		if err := verdict.Put(ctx, a.store, v); err != nil {
			return v, err
		}
		now, err := a.loadLedger(ctx, pr)
		if err != nil {
			return v, err
		}
		stored, err := verdict.Get(ctx, a.store, pr.Owner, pr.Repo, pr.MergeSHA)
		if err != nil {
			return v, err
		}
		if stored.Ledger == now.digest() {
			return stored, nil
		}
		if round == maxRejudge {
			return v, fmt.Errorf("record verdict for %s: the ledger kept moving; a redelivery judges it again", pr)
		}
		pr, l = now.newest(pr), now
		if j, err = a.judgeAll(ctx, gh, pr, rcs, l); err != nil {
			return v, err
		}
	}
}
