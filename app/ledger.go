package app

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/checklist"
)

// The ledger keeps, per pull request, in one partition so one Query loads
// all of it:
//
//	sort key            what                                   version
//	item:<key>          latest change of a box                 tickVersion
//	waive:<key>         latest change of an item's optional    tickVersion
//	                    state (a waiver)
//	push                latest push that resets reviewer ticks  updated_at
//	pusher:<login>      someone who pushed commits to the PR    updated_at
//	pr                  newest pull request state seen          updated_at
//	dismissed:<id>      a dismissed review: its ticks never     1
//	                    count again, whatever arrives later
//	head                facts of the newest head commit:        updated_at
//	                    contributors, the heads a review of it
//	                    stays valid on
//	push@<nanos>        a push and the files it changed (only   see paths.go
//	                    with path-scoped checklists)
//	files               the files the PR changes at the newest  updated_at
//	                    head
//
// The partition is keyed by the repository's ID, which GitHub never
// reuses: a repository renamed, or deleted and created again under the
// same name, does not inherit another's ticks. Only a locator without an
// ID (none of checkoff's paths builds one) falls back to the name.
func ledgerPK(pr PRState) string {
	if pr.RepoID != 0 {
		return fmt.Sprintf("%sid:%d#%d", store.LedgerPrefix, pr.RepoID, pr.Number)
	}
	return fmt.Sprintf("%s%s/%s#%d", store.LedgerPrefix, strings.ToLower(pr.Owner), strings.ToLower(pr.Repo), pr.Number)
}

const (
	pushSK      = "push"
	prSK        = "pr"
	itemPrefix  = "item:"
	waivePrefix = "waive:"
	pusherPfx   = "pusher:"
	dismissPfx  = "dismissed:"
	headSK      = "head"
)

// prRecord is the newest pull request state a delivery carried, versioned
// by its updated_at: a delivery that arrives after a newer one is judged on
// the newer base, body and head, so the check runs it posts are not stale
// and a retarget cannot be undone by a late delivery.
type prRecord struct {
	Body      string   `json:"body"`
	HeadSHA   string   `json:"head_sha"`
	Base      string   `json:"base,omitempty"`
	BaseSHA   string   `json:"base_sha,omitempty"`
	Assignees []string `json:"assignees,omitempty"`
	Merged    bool     `json:"merged,omitempty"`
	MergeSHA  string   `json:"merge_sha,omitempty"`
}

// tickRecord is a ledger entry of a tick or a waiver as stored.
type tickRecord struct {
	Checked bool   `json:"checked"` // ticked; for a waiver: made optional
	By      string `json:"by"`
	Bot     bool   `json:"bot,omitempty"`
	Review  bool   `json:"review,omitempty"`
	// ReviewID is the review whose body made the change, so that an edit
	// or a dismissal of that review can withdraw it (0 when unknown).
	ReviewID int64 `json:"review_id,omitempty"`
	// Commit is the commit the review approved (its commit_id).
	Commit string `json:"commit,omitempty"`
}

// headRecord holds what checkoff read once about a head commit.
type headRecord struct {
	Key string `json:"key"` // head SHA @ base it was read against
	// Contributors are the lower-case logins that authored or committed
	// the PR's commits up to this head, "Update branch" merges aside.
	// Nil with Unknown: too many commits to read.
	Contributors []string `json:"contributors"`
	Unknown      bool     `json:"unknown,omitempty"`
	// Reviewed are the commits a review may have approved and still count
	// on this head: the head, and every head it differs from only by
	// GitHub's "Update branch" merges.
	Reviewed []string `json:"reviewed"`
	// UpdateMerge: the head is GitHub's merge of the base branch into the
	// previous head, which neither resets ticks nor adds a contributor.
	UpdateMerge bool `json:"update_merge,omitempty"`
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
type Actor struct {
	Login string
	Bot   bool
}

// reviewRef says which review made a change: ID (anyReview for a
// dismissal's unticks, 0 for the pull request body) and the commit it
// approved.
type reviewRef struct {
	ID     int64
	Commit string
}

// tickRecords are the ledger records of changed boxes and waivers. They are
// written by recordAndLoad, conditionally, so deliveries applied in any
// order, or twice, converge.
func tickRecords(pr PRState, changes []checklist.Change, by Actor, at time.Time, review reviewRef) ([]store.Record, error) {
	pk := ledgerPK(pr)
	recs := make([]store.Record, 0, len(changes))
	for _, c := range changes {
		t := tickRecord{Checked: c.Checked, By: by.Login, Bot: by.Bot, Review: review.ID != 0, Commit: review.Commit}
		if review.ID > 0 {
			t.ReviewID = review.ID
		}
		data, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("encode change of %q on %s: %w", c.Text, pr, err)
		}
		sk := itemPrefix + c.Key
		if c.Waiver {
			sk = waivePrefix + c.Key
		}
		recs = append(recs, store.Record{PK: pk, SK: sk, Version: tickVersion(at, c.Checked), Data: data})
	}
	return recs, nil
}

// pushRecord notes the time of the latest push that resets reviewer ticks.
func pushRecord(pr PRState, at time.Time) store.Record {
	return store.Record{PK: ledgerPK(pr), SK: pushSK, Version: at.UnixNano(), Data: []byte("{}")}
}

// pusherRecord notes that login pushed commits to the PR: a contributor.
func pusherRecord(pr PRState, login string, at time.Time) store.Record {
	return store.Record{PK: ledgerPK(pr), SK: pusherPfx + strings.ToLower(login), Version: max(at.UnixNano(), 1), Data: []byte("{}")}
}

// dismissedRecord marks review id dismissed for good: GitHub cannot undo a
// dismissal, so a late "submitted" of the same review changes nothing.
func dismissedRecord(pr PRState, id int64) store.Record {
	return store.Record{PK: ledgerPK(pr), SK: dismissPfx + strconv.FormatInt(id, 10), Version: 1, Data: []byte("{}")}
}

// headRecordOf is the head facts record of key (head@base). The ledger
// keeps only the newest head's, versioned by the state it was read for: a
// judgement is always of the newest head, so older heads' facts are dead
// weight a long-lived PR would otherwise pile up.
func headRecordOf(pr PRState, key string, h headRecord, now time.Time) (store.Record, error) {
	h.Key = key
	data, err := json.Marshal(h)
	if err != nil {
		return store.Record{}, fmt.Errorf("encode facts of %s@%s: %w", pr, key, err)
	}
	return store.Record{PK: ledgerPK(pr), SK: headSK, Version: max(pr.UpdatedAt.UnixNano(), 1), Data: data,
		Expires: now.Add(cacheTTL)}, nil
}

// cacheTTL bounds what checkoff keeps of GitHub's answers that it can read
// again (head facts, file lists). Being expiring records, they are written
// without a flush of their own: losing one costs a read, not a decision.
const cacheTTL = 30 * 24 * time.Hour

// ledger is what the store holds for one PR.
type ledger struct {
	ticks     map[string]tickRecord
	waivers   map[string]tickRecord
	versions  map[string]int64 // every record's version by sort key
	lastPush  time.Time
	pushers   []string
	dismissed map[int64]bool
	heads     map[string]headRecord
	pushes    []pushEntry         // every push, for path-scoped resets
	files     map[string]fileList // the PR's files by head commit
	pr        prRecord            // newest state seen; valid when prVersion > 0
	prVersion int64
}

func (a *App) loadLedger(ctx context.Context, pr PRState) (ledger, error) {
	recs, err := a.store.Query(ctx, ledgerPK(pr))
	if err != nil {
		return ledger{}, fmt.Errorf("load ledger of %s: %w", pr, err)
	}
	return decodeLedger(pr, recs)
}

// decodeLedger is the ledger of pr from its records.
func decodeLedger(pr PRState, recs []store.Record) (ledger, error) {
	l := ledger{
		ticks: make(map[string]tickRecord, len(recs)), waivers: map[string]tickRecord{},
		versions: make(map[string]int64, len(recs)), dismissed: map[int64]bool{}, heads: map[string]headRecord{},
		files: map[string]fileList{},
	}
	decode := func(r store.Record, v any) error {
		if err := json.Unmarshal(r.Data, v); err != nil {
			return fmt.Errorf("decode ledger record %q of %s: %w", r.SK, pr, err)
		}
		return nil
	}
	for _, r := range recs {
		l.versions[r.SK] = r.Version
		if ok, err := l.decodePathRecord(r); ok {
			if err != nil {
				return ledger{}, fmt.Errorf("decode ledger record %q of %s: %w", r.SK, pr, err)
			}
			continue
		}
		switch {
		case r.SK == pushSK:
			l.lastPush = time.Unix(0, r.Version).UTC()
		case r.SK == prSK:
			if err := decode(r, &l.pr); err != nil {
				return ledger{}, err
			}
			l.prVersion = r.Version
		case strings.HasPrefix(r.SK, pusherPfx):
			l.pushers = append(l.pushers, strings.TrimPrefix(r.SK, pusherPfx))
		case strings.HasPrefix(r.SK, dismissPfx):
			if id, err := strconv.ParseInt(strings.TrimPrefix(r.SK, dismissPfx), 10, 64); err == nil {
				l.dismissed[id] = true
			}
		case r.SK == headSK:
			var h headRecord
			if err := decode(r, &h); err != nil {
				return ledger{}, err
			}
			l.heads[h.Key] = h
		case strings.HasPrefix(r.SK, itemPrefix), strings.HasPrefix(r.SK, waivePrefix):
			var t tickRecord
			if err := decode(r, &t); err != nil {
				return ledger{}, err
			}
			if key, ok := strings.CutPrefix(r.SK, itemPrefix); ok {
				l.ticks[key] = t
			} else {
				l.waivers[strings.TrimPrefix(r.SK, waivePrefix)] = t
			}
		}
	}
	return l, nil
}

// recordAndLoad records what a delivery saw, then loads the ledger of pr and
// reconciles pr with the newest state seen. writes are the delivery's own
// ledger records (ticks, a push); pr's state is recorded with them,
// versioned by updated_at, all in one conditional batch: one partition
// transaction on SQLite. pr is then replaced by the ledger's state when
// that is newer (a late delivery: one that arrives after the merge is
// judged as merged; one from before a retarget is judged on the new base).
// GitHub delivers concurrently and in no guaranteed order; without this, a
// late edit would post check runs for a body that is no longer the PR's.
// updated_at has one-second resolution: of two states in the same second,
// the one judged is the delivery's own.
func (a *App) recordAndLoad(ctx context.Context, pr PRState, writes []store.Record) (PRState, ledger, error) {
	if !pr.UpdatedAt.IsZero() {
		data, err := json.Marshal(prRecord{Body: pr.Body, HeadSHA: pr.HeadSHA, Base: pr.Base, BaseSHA: pr.BaseSHA, Assignees: pr.Assignees, Merged: pr.Merged, MergeSHA: pr.MergeSHA})
		if err != nil {
			return pr, ledger{}, fmt.Errorf("encode state of %s: %w", pr, err)
		}
		writes = append(writes, store.Record{PK: ledgerPK(pr), SK: prSK, Version: pr.UpdatedAt.UnixNano(), Data: data})
	}
	// One step where the store allows: the ledger read back is the one
	// just written to, without a read transaction of its own.
	_, recs, err := store.PutManyThenQuery(ctx, a.store, writes, ledgerPK(pr))
	if err != nil {
		return pr, ledger{}, fmt.Errorf("record and load ledger of %s: %w", pr, err)
	}
	l, err := decodeLedger(pr, recs)
	if err != nil {
		return pr, ledger{}, err
	}
	return l.newest(pr), l, nil
}

// newest is pr with the newest state the ledger holds, when that is newer.
func (l ledger) newest(pr PRState) PRState {
	if l.prVersion == 0 || l.prVersion <= pr.UpdatedAt.UnixNano() {
		return pr
	}
	pr.Body, pr.HeadSHA, pr.Merged, pr.MergeSHA = l.pr.Body, l.pr.HeadSHA, l.pr.Merged, l.pr.MergeSHA
	if l.pr.Base != "" {
		pr.Base, pr.BaseSHA = l.pr.Base, l.pr.BaseSHA
	}
	pr.Assignees = l.pr.Assignees
	pr.UpdatedAt = time.Unix(0, l.prVersion).UTC()
	return pr
}

// movedSince reports whether anything was recorded since old was read.
func (l ledger) movedSince(old ledger) bool {
	return l.digest() != old.digest()
}

// digest identifies the ledger's content by every record's sort key and
// version: each record's version only grows, so two reads with the same
// digest saw the same ledger. Head facts and file lists are left out: they
// are written once per commit by whichever judgement reads them first, and
// every judgement of that commit reads the same.
func (l ledger) digest() string {
	return versionsDigest(l.versions)
}

// recordsDigest is the digest of the ledger recs decode to, without
// decoding them.
func recordsDigest(recs []store.Record) string {
	versions := make(map[string]int64, len(recs))
	for _, r := range recs {
		versions[r.SK] = r.Version
	}
	return versionsDigest(versions)
}

// versionsDigest hashes versions by sort key, head facts and file lists
// left out.
func versionsDigest(versions map[string]int64) string {
	keys := make([]string, 0, len(versions))
	for k := range versions {
		if k != headSK && k != filesSK {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	h := sha256.New()
	var buf [8]byte
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		binary.BigEndian.PutUint64(buf[:], uint64(versions[k]))
		h.Write(buf[:])
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:16])
}

// people are the logins whose permission a judgement of pr under cfg
// needs: everyone behind a tick or waiver of a reviewer checklist who could
// count (not the author, not a bot).
func (l ledger) people(pr PRState, cfg *checklist.Config) []string {
	reviewerLists := map[string]bool{}
	for _, c := range cfg.Checklists {
		if c.TickedBy == checklist.Reviewer {
			reviewerLists[c.Name] = true
		}
	}
	seen := map[string]bool{}
	var out []string
	add := func(key string, t tickRecord) {
		list := checklist.KeyChecklist(key)
		login := strings.ToLower(t.By)
		if t.Checked && !t.Bot && t.By != "" && !strings.EqualFold(t.By, pr.Author) && reviewerLists[list] && !seen[login] {
			seen[login] = true
			out = append(out, t.By)
		}
	}
	for key, t := range l.ticks {
		add(key, t)
	}
	for key, t := range l.waivers {
		add(key, t)
	}
	slices.Sort(out)
	return out
}

// facts turns the ledger, the write permissions of the people in it and the
// head's facts into checklist facts. It is pure: everything it needs was
// gathered before.
func facts(pr PRState, cfg *checklist.Config, l ledger, canWrite map[string]bool, head *headRecord) *checklist.Facts {
	f := &checklist.Facts{
		Author: pr.Author, BotAuthor: pr.AuthorBot || strings.HasSuffix(strings.ToLower(pr.Author), "[bot]"),
		Ticks: make(map[string]checklist.Tick, len(l.ticks)), Waivers: make(map[string]checklist.Tick, len(l.waivers)),
	}
	if f.BotAuthor {
		f.Authors = pr.Assignees
	}
	if cfg.ResetReviewerOnPush {
		f.ResetAt = l.lastPush
		f.ReviewedHeads = map[string]bool{pr.HeadSHA: true}
		if head != nil {
			for _, sha := range head.Reviewed {
				f.ReviewedHeads[sha] = true
			}
		}
	}
	if head != nil && !head.Unknown {
		f.Contributors = map[string]bool{}
		if pr.Author != "" {
			f.Contributors[strings.ToLower(pr.Author)] = true
		}
		for _, c := range head.Contributors {
			f.Contributors[c] = true
		}
		for _, p := range l.pushers {
			f.Contributors[p] = true
		}
	}
	tick := func(sk string, t tickRecord) checklist.Tick {
		return checklist.Tick{
			Checked: t.Checked, By: t.By, Bot: t.Bot, Review: t.Review, Commit: t.Commit,
			At: time.Unix(0, l.versions[sk]/2).UTC(), CanWrite: canWrite[strings.ToLower(t.By)],
		}
	}
	for key, t := range l.ticks {
		if t.Review && t.ReviewID > 0 && l.dismissed[t.ReviewID] {
			continue // a dismissed review's ticks never count
		}
		f.Ticks[key] = tick(itemPrefix+key, t)
	}
	for key, t := range l.waivers {
		f.Waivers[key] = tick(waivePrefix+key, t)
	}
	return f
}
