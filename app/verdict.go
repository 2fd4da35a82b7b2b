package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
)

// Verdict is what the app concluded about a merged pull request: whether
// every checklist was complete, with the ledger, at the merge (or at a later
// delivery that completed it: an edit after the merge, or a review whose
// delivery was late). The release gate reads verdicts by
// merge commit.
type Verdict struct {
	Installation int64    `json:"installation"`
	Owner        string   `json:"owner"`
	Repo         string   `json:"repo"`
	PR           int      `json:"pr"`
	Base         string   `json:"base"`      // base branch the PR was merged into
	MergeSHA     string   `json:"merge_sha"` // merge_commit_sha
	HeadSHA      string   `json:"head_sha"`
	Author       string   `json:"author"`
	Complete     bool     `json:"complete"`
	Reviewers    []string `json:"reviewers,omitempty"` // who ticked counted reviewer items
	Holding      []string `json:"holding,omitempty"`   // "Reviewer Checklist: Are the commit messages appropriate?"
	// At versions verdicts of one merge: a verdict is stored with a later
	// At than the one it replaces (see App.recordVerdict).
	At time.Time `json:"at"`
	// Ledger identifies the ledger the verdict was judged on: a verdict
	// whose Ledger is not the ledger's current digest is stale.
	Ledger string `json:"ledger,omitempty"`
}

// ReleaseGate receives every verdict the app records: at a merge, and again
// when a merged PR is edited. The gate decides whether the base branch feeds
// a pipeline. A nil gate means no release gating.
type ReleaseGate interface {
	Verdict(ctx context.Context, v Verdict) error
	// Rerun is Verdict for a person's re-run of the gate's check run. GitHub
	// sets the run's check suite back to queued and leaves the run to its
	// App, so the run is posted again even when its outcome is unchanged.
	Rerun(ctx context.Context, v Verdict) error
}

// A verdict is one record in a partition of its own, keyed by repository
// (GitHub's names are case-insensitive) and merge commit, so the gate finds
// it in one read and the File store never rewrites a repository's history
// of merges to record one more.
func verdictPK(owner, repo, sha string) string {
	return "verdict#" + strings.ToLower(owner+"/"+repo) + "@" + sha
}

const verdictSK = "verdict"

// PutVerdict records v against its merge commit. Verdicts are versioned by
// At, so a verdict judged on an older ledger cannot overwrite a newer one.
func PutVerdict(ctx context.Context, st store.Store, v Verdict) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode verdict for %s/%s#%d: %w", v.Owner, v.Repo, v.PR, err)
	}
	_, err = st.PutIfNewer(ctx, store.Record{
		PK: verdictPK(v.Owner, v.Repo, v.MergeSHA), SK: verdictSK,
		Version: v.At.UnixNano(), Data: data,
	})
	if err != nil {
		return fmt.Errorf("store verdict for %s/%s#%d: %w", v.Owner, v.Repo, v.PR, err)
	}
	return nil
}

// GetVerdict returns the verdict recorded for the merge commit sha, or
// store.ErrNotFound when none was recorded.
func GetVerdict(ctx context.Context, st store.Store, owner, repo, sha string) (Verdict, error) {
	rec, err := st.Get(ctx, verdictPK(owner, repo, sha), verdictSK)
	if err != nil {
		return Verdict{}, fmt.Errorf("load verdict %s/%s@%s: %w", owner, repo, sha, err)
	}
	var v Verdict
	if err := json.Unmarshal(rec.Data, &v); err != nil {
		return Verdict{}, fmt.Errorf("decode verdict %s/%s@%s: %w", owner, repo, sha, err)
	}
	return v, nil
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
func (a *App) recordVerdict(ctx context.Context, gh gitHub, pr PR, rcs []repoConfig, l ledger, j judgement) (Verdict, error) {
	for round := 0; ; round++ {
		v := Verdict{
			Installation: pr.Installation, Owner: pr.Owner, Repo: pr.Repo, PR: pr.Number,
			Base: pr.Base, MergeSHA: pr.MergeSHA, HeadSHA: pr.HeadSHA, Author: pr.Author,
			Complete: j.complete, Reviewers: j.reviewer, Holding: j.holding, Ledger: l.digest(),
		}
		if v.MergeSHA == "" {
			return v, errors.New("merged pull request without merge_commit_sha")
		}
		v.At = a.now().UTC()
		prev, err := GetVerdict(ctx, a.store, pr.Owner, pr.Repo, pr.MergeSHA)
		switch {
		case err == nil:
			if !v.At.After(prev.At) {
				v.At = prev.At.Add(time.Microsecond)
			}
		case !errors.Is(err, store.ErrNotFound):
			return v, err
		}
		if err := PutVerdict(ctx, a.store, v); err != nil {
			return v, err
		}
		now, err := a.loadLedger(ctx, pr)
		if err != nil {
			return v, err
		}
		stored, err := GetVerdict(ctx, a.store, pr.Owner, pr.Repo, pr.MergeSHA)
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
