package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/checklist"
)

// The ledger keeps, per pull request, the latest recorded change of every
// box (sort key "item:"+key), the time of the latest push (sort key "push")
// and the newest pull request state seen (sort key "pr"), in one partition
// so one Query loads all of it.
func ledgerPK(owner, repo string, number int) string {
	return fmt.Sprintf("ticks#%s/%s#%d", strings.ToLower(owner), strings.ToLower(repo), number)
}

const (
	pushSK = "push"
	prSK   = "pr"
)

// prRecord is the newest pull request state a delivery carried, versioned
// by its updated_at: a delivery that arrives after a newer one is judged on
// the newer body and head, so the check runs it posts are not stale.
type prRecord struct {
	Body     string `json:"body"`
	HeadSHA  string `json:"head_sha"`
	Merged   bool   `json:"merged,omitempty"`
	MergeSHA string `json:"merge_sha,omitempty"`
}

// itemKeySep separates the checklist name from the item in a checklist item
// key (see checklist.ItemResult.Key).
const itemKeySep = "\x1f"

// tickRecord is a ledger entry as stored.
type tickRecord struct {
	Checked bool   `json:"checked"`
	By      string `json:"by"`
	Bot     bool   `json:"bot,omitempty"`
	Review  bool   `json:"review,omitempty"`
	// ReviewID is the review whose body made the change, so that an edit
	// of that review can withdraw it (0 when unknown).
	ReviewID int64 `json:"review_id,omitempty"`
}

// tickVersion orders records of one box: later wins. GitHub's timestamps
// have one-second resolution, so two changes can tie; then the unticking one
// wins, which fails closed (a tick that loses a tie must be made again).
func tickVersion(at time.Time, checked bool) int64 {
	v := at.UnixNano() * 2
	if !checked {
		v++
	}
	return v
}

// actor is who caused an event.
type actor struct {
	Login string
	Bot   bool
}

// tickRecords are the ledger records of changed boxes; review is the ID of
// the review whose body made the changes (anyReview for a dismissal), 0 for
// the pull request body. They are written by current, conditionally, so
// deliveries applied in any order, or twice, converge.
func tickRecords(pr PR, changes []checklist.Change, by actor, at time.Time, review int64) ([]store.Record, error) {
	pk := ledgerPK(pr.Owner, pr.Repo, pr.Number)
	recs := make([]store.Record, 0, len(changes))
	for _, c := range changes {
		t := tickRecord{Checked: c.Checked, By: by.Login, Bot: by.Bot, Review: review != 0}
		if review > 0 {
			t.ReviewID = review
		}
		data, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("encode tick of %q on %s: %w", c.Text, pr, err)
		}
		recs = append(recs, store.Record{PK: pk, SK: "item:" + c.Key, Version: tickVersion(at, c.Checked), Data: data})
	}
	return recs, nil
}

// pushRecord notes the time of the latest push (for reset_reviewer_on_push).
func pushRecord(pr PR, at time.Time) store.Record {
	return store.Record{PK: ledgerPK(pr.Owner, pr.Repo, pr.Number), SK: pushSK, Version: at.UnixNano(), Data: []byte("{}")}
}

// ledger is what the store holds for one PR.
type ledger struct {
	ticks     map[string]tickRecord
	versions  map[string]int64
	lastPush  time.Time
	pr        prRecord // newest state seen; valid when prVersion > 0
	prVersion int64
	readAt    time.Time // when it was read
}

func (a *App) loadLedger(ctx context.Context, pr PR) (ledger, error) {
	readAt := a.now().UTC()
	recs, err := a.store.Query(ctx, ledgerPK(pr.Owner, pr.Repo, pr.Number))
	if err != nil {
		return ledger{}, fmt.Errorf("load ledger of %s: %w", pr, err)
	}
	l := ledger{ticks: make(map[string]tickRecord, len(recs)), versions: make(map[string]int64, len(recs)), readAt: readAt}
	for _, r := range recs {
		switch r.SK {
		case pushSK:
			l.lastPush = time.Unix(0, r.Version).UTC()
			continue
		case prSK:
			if err := json.Unmarshal(r.Data, &l.pr); err != nil {
				return ledger{}, fmt.Errorf("decode ledger record %q of %s: %w", r.SK, pr, err)
			}
			l.prVersion = r.Version
			continue
		}
		key, ok := strings.CutPrefix(r.SK, "item:")
		if !ok {
			continue
		}
		var t tickRecord
		if err := json.Unmarshal(r.Data, &t); err != nil {
			return ledger{}, fmt.Errorf("decode ledger record %q of %s: %w", r.SK, pr, err)
		}
		l.ticks[key] = t
		l.versions[key] = r.Version
	}
	return l, nil
}

// current records what a delivery saw, then loads the ledger of pr and
// reconciles pr with the newest state seen. writes are the delivery's own
// ledger records (ticks, a push); pr's body, head and merge are recorded
// with them, versioned by updated_at, all in one conditional batch: one
// partition rewrite on the File store. pr is then replaced by the ledger's
// state when that is newer (a late delivery: one that arrives after the
// merge is judged as merged, and updates the verdict). GitHub delivers
// concurrently and in no guaranteed order; without this, a late edit would
// post check runs for a body that is no longer the PR's.
// updated_at has one-second resolution: of two states in the same second,
// the one judged is the delivery's own.
func (a *App) current(ctx context.Context, pr PR, writes []store.Record) (PR, ledger, error) {
	if !pr.UpdatedAt.IsZero() {
		data, err := json.Marshal(prRecord{Body: pr.Body, HeadSHA: pr.HeadSHA, Merged: pr.Merged, MergeSHA: pr.MergeSHA})
		if err != nil {
			return pr, ledger{}, fmt.Errorf("encode state of %s: %w", pr, err)
		}
		writes = append(writes, store.Record{PK: ledgerPK(pr.Owner, pr.Repo, pr.Number), SK: prSK, Version: pr.UpdatedAt.UnixNano(), Data: data})
	}
	if len(writes) > 0 {
		if _, err := a.store.PutManyIfNewer(ctx, writes); err != nil {
			return pr, ledger{}, fmt.Errorf("record ledger of %s: %w", pr, err)
		}
	}
	l, err := a.loadLedger(ctx, pr)
	if err != nil {
		return pr, ledger{}, err
	}
	return l.newest(pr), l, nil
}

// newest is pr with the newest state the ledger holds, when that is newer.
func (l ledger) newest(pr PR) PR {
	if pr.UpdatedAt.IsZero() || l.prVersion <= pr.UpdatedAt.UnixNano() {
		return pr
	}
	pr.Body, pr.HeadSHA, pr.Merged, pr.MergeSHA = l.pr.Body, l.pr.HeadSHA, l.pr.Merged, l.pr.MergeSHA
	pr.UpdatedAt = time.Unix(0, l.prVersion).UTC()
	return pr
}

// movedSince reports whether anything was recorded since old was read.
func (l ledger) movedSince(old ledger) bool {
	if l.prVersion != old.prVersion || !l.lastPush.Equal(old.lastPush) || len(l.versions) != len(old.versions) {
		return true
	}
	for k, v := range l.versions {
		if w, ok := old.versions[k]; !ok || w != v {
			return true
		}
	}
	return false
}

// facts turns the ledger into checklist facts, asking GitHub (cached) for
// the permission of everyone whose tick could count for a reviewer
// checklist.
func (a *App) facts(ctx context.Context, gh gitHub, pr PR, cfg *checklist.Config, l ledger) (*checklist.Facts, error) {
	reviewerLists := map[string]bool{}
	for _, c := range cfg.Checklists {
		if c.TickedBy == checklist.Reviewer {
			reviewerLists[c.Name] = true
		}
	}
	f := &checklist.Facts{Author: pr.Author, Ticks: make(map[string]checklist.Tick, len(l.ticks))}
	if cfg.ResetReviewerOnPush {
		f.ResetAt = l.lastPush
	}
	perms := map[string]bool{}
	for key, t := range l.ticks {
		tick := checklist.Tick{
			Checked: t.Checked, By: t.By, Bot: t.Bot, Review: t.Review,
			At: time.Unix(0, l.versions[key]/2).UTC(),
		}
		list, _, _ := strings.Cut(key, itemKeySep)
		if t.Checked && !t.Bot && t.By != "" && !strings.EqualFold(t.By, pr.Author) && reviewerLists[list] {
			w, ok := perms[t.By]
			if !ok {
				p, err := gh.Permission(ctx, pr.Owner, pr.Repo, t.By)
				if err != nil {
					return nil, err
				}
				w = p == "admin" || p == "write" || p == "maintain"
				perms[t.By] = w
			}
			tick.CanWrite = w
		}
		f.Ticks[key] = tick
	}
	return f, nil
}
