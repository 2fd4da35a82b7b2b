package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/checklist"
)

// isBot reports whether a GitHub account is a bot.
func isBot(u *github.User) bool {
	return u.GetType() == "Bot" || strings.HasSuffix(u.GetLogin(), "[bot]")
}

func ActorOf(u *github.User) Actor { return Actor{Login: u.GetLogin(), Bot: isBot(u)} }

// Evaluate judges pr and posts its check runs (reopened,
// ready_for_review, a retarget); for a merged PR (closed with merged true)
// it records the verdict and hands it to the release gate instead.
func (a *App) Evaluate(ctx context.Context, pr PRState) error {
	return a.process(ctx, a.github(pr.Installation), delivery{event: pr})
}

// Opened records every box ticked, and every item marked optional, in the
// opening body as done by sender, then evaluates.
func (a *App) Opened(ctx context.Context, pr PRState, by Actor) error {
	return a.process(ctx, a.github(pr.Installation), delivery{event: pr, changes: func(rc repoConfig) ([]store.Record, error) {
		if rc.cfg == nil {
			return nil, nil
		}
		return tickRecords(pr, checklist.Diff(nil, parseBody(pr.Body), rc.cfg), by, pr.UpdatedAt, reviewRef{})
	}})
}

// Edited records who changed which box or waiver between oldBody and
// pr.Body, then evaluates; an edit that cannot change a result makes no
// GitHub call.
func (a *App) Edited(ctx context.Context, pr PRState, oldBody string, by Actor) error {
	oldDoc, newDoc := parseBody(oldBody), parseBody(pr.Body)
	if sameStructure(oldDoc, newDoc) {
		a.logger(ctx).Debug("edit changes no heading or box; nothing to do", "pr", pr.String())
		return nil
	}
	changed := false
	d := delivery{event: pr, changes: func(rc repoConfig) ([]store.Record, error) {
		if rc.cfg == nil {
			return nil, nil
		}
		changes := checklist.Diff(oldDoc, newDoc, rc.cfg)
		changed = changed || len(changes) > 0
		return tickRecords(pr, changes, by, pr.UpdatedAt, reviewRef{})
	}}
	// When no box or waiver changed, the ledger is as before. A late edit
	// then changes nothing: the newer delivery posted the newer body.
	// Otherwise the old body's result under the same facts is what the PR
	// showed before this edit, and when the new result equals it nothing is
	// posted.
	edit := pr
	d.unchanged = func(pr PRState, rcs []repoConfig, l ledger, j judgement) bool {
		if changed {
			return false
		}
		if late := !edit.UpdatedAt.IsZero() && l.prVersion > edit.UpdatedAt.UnixNano(); late {
			a.logger(ctx).Debug("late edit changes no box; no write", "pr", pr.String())
			return true
		}
		before := pr
		before.Body = oldBody
		if sameRuns(judgeWith(before, rcs, j.facts, a.now().UTC()).runs, j.runs) {
			a.logger(ctx).Debug("edit changes no checklist result; no write", "pr", pr.String())
			return true
		}
		return false
	}
	return a.process(ctx, a.github(pr.Installation), d)
}

// Pushed is PushedFrom with the previous head unknown: every path-scoped
// checklist is reset (fail closed).
func (a *App) Pushed(ctx context.Context, pr PRState, sender Actor) error {
	return a.PushedFrom(ctx, pr, sender, "")
}

// PushedFrom notes a new head commit pushed by sender over before (the
// synchronize's "before") and evaluates on it. A push resets reviewer ticks
// and waivers (reset_reviewer_on_push) and makes its sender a contributor,
// unless it is GitHub's "Update branch" merge of the base into the previous
// head, which changes nothing a reviewer approved. A path-scoped checklist
// is reset only by a push that changes a file it covers.
func (a *App) PushedFrom(ctx context.Context, pr PRState, sender Actor, before string) error {
	gh := a.github(pr.Installation)
	h, err := readHead(ctx, gh, pr, pr.Base)
	var fixed []store.Record
	if err != nil || !h.UpdateMerge {
		// Path-scoped checklists get a push@ record with the files the push
		// changed (d.changes); the push record alone resets them all.
		fixed = append(fixed, pushRecord(pr, pr.UpdatedAt))
		if sender.Login != "" && !sender.Bot {
			fixed = append(fixed, pusherRecord(pr, sender.Login, pr.UpdatedAt))
		}
	}
	if err != nil {
		// The push is what stops reviewer ticks of older commits from
		// counting: a delivery that fails must still record it.
		if _, _, werr := a.recordAndLoad(ctx, pr, fixed); werr != nil {
			return errors.Join(err, werr)
		}
		return err
	}
	rec, err := headRecordOf(pr, pr.HeadSHA+"@"+pr.Base, h, a.now())
	if err != nil {
		return err
	}
	fixed = append(fixed, rec)
	d := delivery{event: pr, fixed: fixed}
	if !h.UpdateMerge {
		d.changes = func(rc repoConfig) ([]store.Record, error) { return a.pushFiles(ctx, gh, pr, before, rc) }
	}
	return a.process(ctx, gh, d)
}

// sameStructure reports whether two bodies have the same headings and boxes
// in the same order, ignoring line numbers: then no config can judge them
// differently.
func sameStructure(a, b *checklist.Document) bool {
	if len(a.Headings) != len(b.Headings) || len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Headings {
		x, y := a.Headings[i], b.Headings[i]
		if x.Key != y.Key || x.Level != y.Level {
			return false
		}
	}
	for i := range a.Items {
		x, y := a.Items[i], b.Items[i]
		if x.Text != y.Text || x.Checked != y.Checked || x.Struck != y.Struck || x.Depth != y.Depth {
			return false
		}
	}
	// Interleaving decides which section an item falls in.
	return slices.Equal(interleave(a), interleave(b))
}

// interleave gives, for each item, how many headings precede it.
func interleave(d *checklist.Document) []int {
	out := make([]int, len(d.Items))
	h := 0
	for i, it := range d.Items {
		for h < len(d.Headings) && d.Headings[h].Line < it.Line {
			h++
		}
		out[i] = h
	}
	return out
}

// delivery is what one event brings to a judgement.
type delivery struct {
	event PRState
	// changes are the event's own ledger records (ticks, waivers) under a
	// config in force; nil: none. They are computed again when the newest
	// state has another config source (a late delivery after a retarget).
	changes func(rc repoConfig) ([]store.Record, error)
	// fixed are records that hold under any config (a push, a dismissal);
	// they are recorded even when the config cannot be read.
	fixed []store.Record
	// unchanged, when set, reports that the PR already shows the judged
	// result, so nothing is posted.
	unchanged func(pr PRState, rcs []repoConfig, l ledger, j judgement) bool
	// rerun: a person asked for the runs again, and GitHub set their check
	// suite back to queued, so a merged PR's runs are posted too.
	rerun bool
}

// process records d's changes, judges the newest state of the PR with the
// config in force for it, and posts the check runs, unless the PR is merged
// (the verdict goes to the gate instead) or d.unchanged says the PR already
// shows this result.
func (a *App) process(ctx context.Context, gh GitHub, d delivery) error {
	rcs, err := a.configsFor(ctx, gh, d.event)
	if err != nil {
		if len(d.fixed) > 0 {
			if _, _, werr := a.recordAndLoad(ctx, d.event, d.fixed); werr != nil {
				return errors.Join(err, werr)
			}
		}
		return err
	}
	writes, err := d.records(rcs)
	if err != nil {
		return err
	}
	pr, l, err := a.recordAndLoad(ctx, d.event, append(d.fixed, writes...))
	if err != nil {
		return err
	}
	if configSource(pr) != configSource(d.event) {
		// A newer state (a retarget, the merge) brings another config: the
		// event's own changes are recorded under it, and judged with it.
		if rcs, err = a.configsFor(ctx, gh, pr); err != nil {
			return err
		}
		if writes, err = d.records(rcs); err != nil {
			return err
		}
		if len(writes) > 0 {
			if pr, l, err = a.recordAndLoad(ctx, d.event, writes); err != nil {
				return err
			}
		}
	}
	j, err := a.judgeAll(ctx, gh, pr, rcs, l)
	if err != nil {
		return err
	}
	if done, err := a.mergedVerdict(ctx, gh, d.event, pr, rcs, l, j, false); err != nil || (done && !d.rerun) {
		return err
	}
	if d.unchanged != nil && d.unchanged(pr, rcs, l, j) {
		return nil
	}
	return a.postFresh(ctx, gh, d.event, pr, rcs, l, j)
}

// records are d's own changes under every config in force, each record once.
func (d delivery) records(rcs []repoConfig) ([]store.Record, error) {
	if d.changes == nil {
		return nil, nil
	}
	var out []store.Record
	seen := map[string]bool{}
	for _, rc := range rcs {
		recs, err := d.changes(rc)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if !seen[r.SK] {
				seen[r.SK] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// maxRejudge bounds how often postFresh judges again: each round needs yet
// another delivery recording while this one posts, and that delivery checks
// its own posts the same way.
const maxRejudge = 3

// postFresh posts j (judged on pr and l), then makes sure what it posted is
// not stale. GitHub shows the check run created last, and deliveries run
// concurrently: one that judged a newer state may have posted before this
// one's runs landed. So once posted, the ledger is read again; when anything
// was recorded meanwhile, the newest state is judged and every run that
// differs from what this delivery posted is posted again. A delivery that
// records after that read posts after this one's runs landed, so the run
// created last is always judged on the newest state.
func (a *App) postFresh(ctx context.Context, gh GitHub, event, pr PRState, rcs []repoConfig, l ledger, j judgement) error {
	runs := j.runs
	for round := 0; ; round++ {
		if err := a.post(ctx, gh, pr, runs); err != nil {
			return err
		}
		if round == maxRejudge {
			return nil
		}
		// Most often nothing moved: compare versions before decoding.
		recs, err := a.store.Query(ctx, ledgerPK(pr))
		if err != nil {
			return fmt.Errorf("load ledger of %s: %w", pr, err)
		}
		if recordsDigest(recs) == l.digest() {
			return nil
		}
		l2, err := decodeLedger(pr, recs)
		if err != nil {
			return err
		}
		posted := j.runs
		next := l2.newest(pr)
		if configSource(next) != configSource(pr) {
			if rcs, err = a.configsFor(ctx, gh, next); err != nil {
				return err
			}
		}
		pr, l = next, l2
		if j, err = a.judgeAll(ctx, gh, pr, rcs, l); err != nil {
			return err
		}
		if done, err := a.mergedVerdict(ctx, gh, event, pr, rcs, l, j, false); done || err != nil {
			return err
		}
		runs = changedRuns(posted, j.runs)
		a.logger(ctx).Debug("ledger moved while posting; judged again", "pr", pr.String(), "round", round+1, "reposting", len(runs))
		if len(runs) == 0 {
			return nil
		}
	}
}

// changedRuns are the runs of now that differ from the same-named run in
// posted.
func changedRuns(posted, now []CheckRun) []CheckRun {
	var out []CheckRun
	for _, r := range now {
		i := slices.IndexFunc(posted, func(p CheckRun) bool { return p.Name == r.Name })
		if i < 0 || !sameRuns(posted[i:i+1], []CheckRun{r}) {
			out = append(out, r)
		}
	}
	return out
}

// mergedVerdict records the verdict when pr (the newest state seen) is
// merged, and reports whether the delivery is done. An event of a merged PR
// posts no check runs; a late event from before the merge (event not
// merged) still posts the runs it would have posted in time, so the PR's
// checks end as they would have without the delay.
func (a *App) mergedVerdict(ctx context.Context, gh GitHub, event, pr PRState, rcs []repoConfig, l ledger, j judgement, rerun bool) (done bool, err error) {
	if !pr.Merged {
		return false, nil
	}
	v, err := a.recordVerdict(ctx, gh, pr, rcs, l, j)
	if err != nil {
		return true, err
	}
	a.logger(ctx).Info("recorded merge verdict", "pr", pr.String(), "merge_sha", v.MergeSHA, "complete", v.Complete)
	if a.gate == nil {
		return event.Merged, nil
	}
	hand := a.gate.Verdict
	if rerun {
		hand = a.gate.Rerun
	}
	if err := hand(ctx, v); err != nil {
		return true, fmt.Errorf("release gate for %s: %w", pr, err)
	}
	return event.Merged, nil
}

// ReviewSubmitted handles a submitted review. Boxes ticked in an approving
// review's own copy of a reviewer checklist count as ticked by the
// reviewer, for the commit the review approved. A later approval without a
// checklist withdraws nothing: re-approving after a push is not unticking.
func (a *App) ReviewSubmitted(ctx context.Context, pr PRState, review Review) error {
	gh := a.github(pr.Installation)
	ref := reviewRef{ID: reviewID(review), Commit: review.CommitID}
	at := review.SubmittedAt
	if at.IsZero() {
		at = pr.UpdatedAt
	}
	approved := review.Approved()
	// Any box may be a reviewer checklist's under the config in force.
	if approved && len(parseBody(review.Body).Items) > 0 {
		// Its ticks count only while GitHub says the review stands: a
		// dismissal delivered before this "submitted" may be lost or late.
		current, err := a.currentReview(ctx, gh, pr, review)
		switch {
		case err != nil:
			return err
		case current == nil:
			// Not listed yet, or deleted: nothing is recorded, and the
			// redelivery of this failed delivery looks again.
			return fmt.Errorf("review %d of %s is not listed by GitHub", review.ID, pr)
		case current.Dismissed():
			a.logger(ctx).Info("approving review was dismissed since; its ticks do not count", "pr", pr.String(), "review", review.ID)
			return a.ReviewDismissed(ctx, pr, review)
		case !current.Approved():
			approved = false
		}
	}
	return a.process(ctx, gh, delivery{event: pr, changes: func(rc repoConfig) ([]store.Record, error) {
		if rc.cfg == nil || !approved {
			return nil, nil
		}
		return tickRecords(pr, reviewTicks(parseBody(review.Body), rc.cfg), review.User, at, ref)
	}})
}

// currentReview is review as GitHub lists it now (nil: not listed). Offline
// (dry-run) the delivery's own copy is all there is.
func (a *App) currentReview(ctx context.Context, gh GitHub, pr PRState, review Review) (*Review, error) {
	cur, err := gh.Review(ctx, pr.Owner, pr.Repo, pr.Number, review.ID)
	if errors.Is(err, errOffline) {
		return &review, nil
	}
	if cur != nil && cur.User.Login == "" {
		cur.User = review.User
	}
	return cur, err
}

// ReviewDismissed takes back a review: it records the review as dismissed
// (a later delivery of its "submitted" cannot bring its ticks back) and
// unticks every box whose latest record is a tick from it. It records
// before anything that can fail (the config read), whatever the config: a
// dismissal only ever takes counts away.
func (a *App) ReviewDismissed(ctx context.Context, pr PRState, review Review) error {
	return a.withdrawReview(ctx, pr, review, true)
}

// withdrawReview unticks what review ticked; for good (dismissed) it also
// records the review as dismissed, so nothing of it can count again.
func (a *App) withdrawReview(ctx context.Context, pr PRState, review Review, forGood bool) error {
	gh := a.github(pr.Installation)
	fixed, err := a.withdrawReviewTicks(ctx, pr, review.User, reviewID(review), a.now().UTC())
	if err != nil {
		return err
	}
	if id := reviewID(review); id > 0 && forGood {
		fixed = append(fixed, dismissedRecord(pr, id))
	}
	return a.process(ctx, gh, delivery{event: pr, fixed: fixed})
}

// ReviewEdited handles an edited review. An approving review's body is its
// author's word for as long as it stands, so after an edit exactly the boxes
// ticked in it count as ticked by that review: one unticked in the edit is
// withdrawn, one newly ticked counts from now (GitHub keeps submitted_at on
// an edit, so the edit's own time orders it). The body judged is the
// review's current one, fetched: an edit carries no time of its own, so two
// quick edits delivered in the wrong order (or one redelivered) would
// otherwise bring back boxes the reviewer had unticked since.
func (a *App) ReviewEdited(ctx context.Context, pr PRState, review Review) error {
	gh := a.github(pr.Installation)
	cur, err := a.currentReview(ctx, gh, pr, review)
	switch {
	case err != nil:
		return err
	case cur == nil:
		// Not listed: nothing of it stands now. GitHub never deletes an
		// approving review, so this is its list lagging; the review's
		// ticks go, but not for good (a later delivery may bring them).
		return a.withdrawReview(ctx, pr, review, false)
	case cur.Dismissed():
		return a.ReviewDismissed(ctx, pr, review)
	case !cur.Approved():
		return a.process(ctx, gh, delivery{event: pr})
	}
	review = *cur
	l, err := a.loadLedger(ctx, pr)
	if err != nil {
		return err
	}
	ref := reviewRef{ID: reviewID(review), Commit: review.CommitID}
	now := a.now().UTC()
	return a.process(ctx, gh, delivery{event: pr, changes: func(rc repoConfig) ([]store.Record, error) {
		if rc.cfg == nil {
			return nil, nil
		}
		return tickRecords(pr, reviewEdits(l, review, ref.ID, rc.cfg), review.User, now, ref)
	}})
}

// reviewEdits are the changes that make the ledger's ticks from review id
// exactly the boxes ticked in its current body.
func reviewEdits(l ledger, review Review, id int64, cfg *checklist.Config) []checklist.Change {
	fromThis := func(t tickRecord) bool { return t.Review && t.Checked && t.ReviewID == id }
	ticked := map[string]bool{}
	var changes []checklist.Change
	for _, c := range reviewTicks(parseBody(review.Body), cfg) {
		ticked[c.Key] = true
		if t, ok := l.ticks[c.Key]; !ok || !fromThis(t) {
			changes = append(changes, c)
		}
	}
	for key, t := range l.ticks {
		if fromThis(t) && !ticked[key] {
			changes = append(changes, checklist.Change{Key: key, Text: key, Checked: false})
		}
	}
	return changes
}

// reviewTicks are the ticked, required boxes of reviewer checklists in a
// review body. A nil cfg means the defaults.
func reviewTicks(doc *checklist.Document, cfg *checklist.Config) []checklist.Change {
	var out []checklist.Change
	for _, r := range checklist.Evaluate(doc, cfg, nil) {
		if r.Checklist.TickedBy != checklist.Reviewer {
			continue
		}
		for _, it := range r.Items {
			if it.Checked && !it.Optional {
				out = append(out, checklist.Change{Checklist: r.Checklist.Name, Key: it.Key, Text: it.Text, Checked: true})
			}
		}
	}
	return out
}

// anyReview stands for the review ID in a review record that comes from no
// review in particular: the unticks withdrawing a dismissed reviewer's ticks.
const anyReview = -1

// reviewID is the ID recorded for a review's changes.
func reviewID(r Review) int64 {
	if r.ID > 0 {
		return r.ID
	}
	return anyReview
}

// withdrawReviewTicks are the records unticking every box whose latest
// record is a tick by reviewer in review id (or in a review of unknown id):
// a dismissal takes back that review, not a later approval.
func (a *App) withdrawReviewTicks(ctx context.Context, pr PRState, reviewer Actor, id int64, at time.Time) ([]store.Record, error) {
	l, err := a.loadLedger(ctx, pr)
	if err != nil {
		return nil, err
	}
	var changes []checklist.Change
	for key, t := range l.ticks {
		if t.Review && t.Checked && strings.EqualFold(t.By, reviewer.Login) && (t.ReviewID == id || t.ReviewID == 0 || id == anyReview) {
			changes = append(changes, checklist.Change{Key: key, Text: key, Checked: false})
		}
	}
	return tickRecords(pr, changes, reviewer, at, reviewRef{ID: anyReview})
}

// Recheck re-evaluates pull requests named by number (check_run
// rerequested or "Re-check", check_suite rerequested): those events do not
// carry the body, so each PR is fetched.
func (a *App) Recheck(ctx context.Context, installation int64, owner, repo string, numbers []int) error {
	gh := a.github(installation)
	var errs []error
	for _, n := range numbers {
		ref, err := gh.PullRequest(ctx, owner, repo, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ref.Installation = installation
		// Closed and merged PRs are answered too: GitHub set the suite
		// back to queued and shows it so until the App posts.
		if err := a.process(ctx, gh, delivery{event: ref, rerun: true}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MergeGroup is a merge queue's group to check: GitHub asks for the
// required checks on the group's head commit before it lands.
type MergeGroup struct {
	Installation int64
	Owner, Repo  string
	HeadSHA      string
	HeadRef      string // refs/heads/gh-readonly-queue/<base>/pr-<N>-<sha>
	Base         string
}

// queuedPR finds the pull request numbers GitHub puts in a merge group's
// head ref.
var queuedPR = regexp.MustCompile(`(?:^|/)pr-([0-9]{1,9})-[0-9a-f]{7,64}$`)

// MergeGroup answers a merge queue's checks_requested: each pull request in
// the group is judged as it stands (its newest body, the ledger, the base
// branch's config), and every checklist's run on the group's head commit
// carries the worst conclusion among them. Those runs stay on the commit
// once it lands, so they must say what was judged, never a blanket success.
func (a *App) MergeGroup(ctx context.Context, g MergeGroup) error {
	gh := a.github(g.Installation)
	at := a.now().UTC()
	var numbers []int
	if m := queuedPR.FindStringSubmatch(g.HeadRef); m != nil {
		n, _ := strconv.Atoi(m[1])
		numbers = append(numbers, n)
	}
	groupPR := PRState{Installation: g.Installation, Owner: g.Owner, Repo: g.Repo, HeadSHA: g.HeadSHA, Base: g.Base}
	rcs, err := a.configsFor(ctx, gh, groupPR)
	if err != nil {
		return err
	}
	names := checklistNames(rcs)
	if len(numbers) == 0 {
		var runs []CheckRun
		for _, name := range names {
			runs = append(runs, CheckRun{Name: name, HeadSHA: g.HeadSHA, Conclusion: "failure", At: at, Title: "merge queue: pull request unknown", DetailsURL: detailsURL(rcs[0].cfg),
				Summary: fmt.Sprintf("checkoff cannot tell which pull request merge group `%s` holds, so it cannot judge its checklists.", mdEscape(g.HeadRef))})
		}
		return a.post(ctx, gh, groupPR, runs)
	}
	type verdictOf struct {
		number int
		run    CheckRun
	}
	byName := map[string][]verdictOf{}
	for _, n := range numbers {
		pr, err := gh.PullRequest(ctx, g.Owner, g.Repo, n)
		if err != nil {
			return err
		}
		pr.Installation = g.Installation
		l, err := a.loadLedger(ctx, pr)
		if err != nil {
			return err
		}
		pr = l.newest(pr)
		prc, err := a.configsFor(ctx, gh, pr)
		if err != nil {
			return err
		}
		j, err := a.judgeAll(ctx, gh, pr, prc, l)
		if err != nil {
			return err
		}
		for _, name := range names {
			r := CheckRun{Name: name, Conclusion: "failure", Title: "not judged", Summary: "The checklist is not in the configuration this pull request was judged under."}
			if i := slices.IndexFunc(j.runs, func(r CheckRun) bool { return r.Name == name }); i >= 0 {
				r = j.runs[i]
			}
			byName[name] = append(byName[name], verdictOf{n, r})
		}
	}
	var runs []CheckRun
	for _, name := range names {
		run := CheckRun{Name: name, HeadSHA: g.HeadSHA, Conclusion: "success", At: at, DetailsURL: byName[name][0].run.DetailsURL}
		var b strings.Builder
		for _, v := range byName[name] {
			if rank(v.run.Conclusion) > rank(run.Conclusion) {
				run.Conclusion = v.run.Conclusion
			}
			fmt.Fprintf(&b, "### #%d: %s\n\n%s\n", v.number, mdEscape(v.run.Title), v.run.Summary)
		}
		run.Title = "merge queue: " + byName[name][0].run.Title
		run.Summary = b.String()
		runs = append(runs, run)
	}
	return a.post(ctx, gh, groupPR, runs)
}

// rank orders check-run conclusions from passing to failing.
func rank(conclusion string) int {
	switch conclusion {
	case "success":
		return 0
	case "neutral":
		return 1
	case "action_required":
		return 2
	}
	return 3
}

// checklistNames are the check-run names of the configs in force: the
// invalid config's runs are named like the defaults.
func checklistNames(rcs []repoConfig) []string {
	var names []string
	for _, rc := range rcs {
		cfg := rc.cfg
		if cfg == nil {
			cfg = checklist.DefaultConfig()
		}
		for _, c := range cfg.Checklists {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	return names
}

// EvaluateMerged gives the verdict on a merged PR now (for the release
// gate, when the merge webhook was lost, and for a re-run of its check) and
// records it.
func (a *App) EvaluateMerged(ctx context.Context, installation int64, owner, repo string, number int) (verdict.Verdict, error) {
	gh := a.github(installation)
	pr, err := gh.PullRequest(ctx, owner, repo, number)
	if err != nil {
		return verdict.Verdict{}, err
	}
	if !pr.Merged {
		return verdict.Verdict{}, fmt.Errorf("%s/%s#%d is not merged", owner, repo, number)
	}
	pr.Installation = installation
	l, err := a.loadLedger(ctx, pr)
	if err != nil {
		return verdict.Verdict{}, err
	}
	pr = l.newest(pr)
	rcs, err := a.configsFor(ctx, gh, pr)
	if err != nil {
		return verdict.Verdict{}, err
	}
	j, err := a.judgeAll(ctx, gh, pr, rcs, l)
	if err != nil {
		return verdict.Verdict{}, err
	}
	return a.recordVerdict(ctx, gh, pr, rcs, l, j)
}
