// Package verdict is the record of what checkoff concluded about a merged
// pull request, kept in the store by merge commit. The App writes it and the
// release gate reads it; both import this package, so neither imports the
// other.
//
// Entry points: Verdict, Put, Get.
package verdict

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
)

// Verdict is what the App concluded about a merged pull request: whether
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
	// At than the one it replaces (see app.App's recordVerdict).
	At time.Time `json:"at"`
	// Ledger identifies the ledger the verdict was judged on: a verdict
	// whose Ledger is not the ledger's current digest is stale.
	Ledger string `json:"ledger,omitempty"`
}

// A verdict is one record in a partition of its own, keyed by repository
// (GitHub's names are case-insensitive) and merge commit, so the gate finds
// it in one read and the File store never rewrites a repository's history
// of merges to record one more.
func PK(owner, repo, sha string) string {
	return store.VerdictPrefix + strings.ToLower(owner+"/"+repo) + "@" + sha
}

const sk = "verdict"

// Put records v against its merge commit. Verdicts are versioned by
// At, so a verdict judged on an older ledger cannot overwrite a newer one.
func Put(ctx context.Context, st store.Store, v Verdict) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode verdict for %s/%s#%d: %w", v.Owner, v.Repo, v.PR, err)
	}
	_, err = st.PutIfNewer(ctx, store.Record{
		PK: PK(v.Owner, v.Repo, v.MergeSHA), SK: sk,
		Version: v.At.UnixNano(), Data: data,
	})
	if err != nil {
		return fmt.Errorf("store verdict for %s/%s#%d: %w", v.Owner, v.Repo, v.PR, err)
	}
	return nil
}

// Get returns the verdict recorded for the merge commit sha, or
// store.ErrNotFound when none was recorded.
func Get(ctx context.Context, st store.Store, owner, repo, sha string) (Verdict, error) {
	rec, err := st.Get(ctx, PK(owner, repo, sha), sk)
	if err != nil {
		return Verdict{}, fmt.Errorf("load verdict %s/%s@%s: %w", owner, repo, sha, err)
	}
	var v Verdict
	if err := json.Unmarshal(rec.Data, &v); err != nil {
		return Verdict{}, fmt.Errorf("decode verdict %s/%s@%s: %w", owner, repo, sha, err)
	}
	return v, nil
}
