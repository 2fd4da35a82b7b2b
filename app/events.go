package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/checklist"
)

// isBot reports whether a GitHub account is a bot.
func isBot(u *github.User) bool {
	return u.GetType() == "Bot" || strings.HasSuffix(u.GetLogin(), "[bot]")
}

func actorOf(u *github.User) actor { return actor{Login: u.GetLogin(), Bot: isBot(u)} }

// Evaluate judges pr and posts its check runs (reopened,
// ready_for_review); for a merged PR (closed with merged true) it records
// the verdict and hands it to the release gate instead.
func (a *App) Evaluate(ctx context.Context, pr PR) error {
	return a.evaluate(ctx, a.github(pr.Installation), pr, evalOpts{})
}

// Opened records every box ticked in the opening body as ticked by sender,
// then evaluates.
func (a *App) Opened(ctx context.Context, pr PR, sender *github.User) error {
	gh, by := a.github(pr.Installation), actorOf(sender)
	rc, err := a.loadConfig(ctx, gh, pr)
	if err != nil {
		return err
	}
	var ticks []store.Record
	if rc.cfg != nil {
		changes := checklist.Diff(nil, checklist.Parse([]byte(pr.Body)), rc.cfg)
		if ticks, err = tickRecords(pr, changes, by, pr.UpdatedAt, 0); err != nil {
			return err
		}
	}
	return a.evaluateWith(ctx, gh, pr, rc, evalOpts{writes: ticks})
}

// Edited records who changed which box between oldBody and pr.Body, then
// evaluates; an edit that cannot change a result makes no GitHub call.
func (a *App) Edited(ctx context.Context, pr PR, oldBody string, sender *github.User) error {
	gh, by := a.github(pr.Installation), actorOf(sender)
	oldDoc, newDoc := checklist.Parse([]byte(oldBody)), checklist.Parse([]byte(pr.Body))
	if sameStructure(oldDoc, newDoc) {
		a.logger(ctx).Debug("edit changes no heading or box; nothing to do", "pr", pr.String())
		return nil
	}
	rc, err := a.loadConfig(ctx, gh, pr)
	if err != nil {
		return err
	}
	var changes []checklist.Change
	var ticks []store.Record
	if rc.cfg != nil {
		changes = checklist.Diff(oldDoc, newDoc, rc.cfg)
		if ticks, err = tickRecords(pr, changes, by, pr.UpdatedAt, 0); err != nil {
			return err
		}
	}
	if len(changes) > 0 {
		return a.evaluateWith(ctx, gh, pr, rc, evalOpts{writes: ticks})
	}
	// No box changed state, so the ledger is as before. A late edit then
	// changes nothing: the newer delivery posted the newer body. Otherwise
	// the old body's result under the same facts is what the PR showed
	// before this edit, and when the new result equals it nothing is posted.
	edit := pr
	unchanged := func(pr PR, l ledger, j judgement) (bool, error) {
		if late := !edit.UpdatedAt.IsZero() && l.prVersion > edit.UpdatedAt.UnixNano(); late {
			a.logger(ctx).Debug("late edit changes no box; no write", "pr", pr.String())
			return true, nil
		}
		before := pr
		before.Body = oldBody
		jBefore, err := a.judge(ctx, gh, before, rc, l)
		if err != nil {
			return false, err
		}
		if sameRuns(jBefore.runs, j.runs) {
			a.logger(ctx).Debug("edit changes no checklist result; no write", "pr", pr.String())
			return true, nil
		}
		return false, nil
	}
	return a.evaluateWith(ctx, gh, pr, rc, evalOpts{unchanged: unchanged})
}

// Pushed notes a new head commit (for reset_reviewer_on_push) and
// evaluates on it.
func (a *App) Pushed(ctx context.Context, pr PR) error {
	gh := a.github(pr.Installation)
	push := []store.Record{pushRecord(pr, pr.UpdatedAt)}
	rc, err := a.loadConfig(ctx, gh, pr)
	if err != nil {
		// The push is what stops reviewer ticks of older commits from
		// counting: a delivery that fails must still record it.
		if _, _, werr := a.current(ctx, pr, push); werr != nil {
			return errors.Join(err, werr)
		}
		return err
	}
	return a.evaluateWith(ctx, gh, pr, rc, evalOpts{writes: push})
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

// evalOpts adapts evaluateWith to the event.
type evalOpts struct {
	// writes are the delivery's own ledger records (see current).
	writes []store.Record
	// unchanged, when set, reports that the PR already shows the judged
	// result, so nothing is posted.
	unchanged func(pr PR, l ledger, j judgement) (bool, error)
	// rerun: a person asked for the runs again, and GitHub set their check
	// suite back to queued, so a merged PR's runs are posted too.
	rerun bool
}

// evaluate judges pr and posts its check runs.
func (a *App) evaluate(ctx context.Context, gh gitHub, pr PR, o evalOpts) error {
	rc, err := a.loadConfig(ctx, gh, pr)
	if err != nil {
		return err
	}
	return a.evaluateWith(ctx, gh, pr, rc, o)
}

// evaluateWith records o.writes with event's state (see current), judges
// the newest state and posts the check runs, unless the PR is merged (the
// verdict goes to the gate instead) or o.unchanged says the PR already
// shows this result.
func (a *App) evaluateWith(ctx context.Context, gh gitHub, event PR, rc repoConfig, o evalOpts) error {
	pr, l, err := a.current(ctx, event, o.writes)
	if err != nil {
		return err
	}
	j, err := a.judge(ctx, gh, pr, rc, l)
	if err != nil {
		return err
	}
	if done, err := a.mergedVerdict(ctx, event, pr, j); err != nil || (done && !o.rerun) {
		return err
	}
	if o.unchanged != nil {
		if same, err := o.unchanged(pr, l, j); same || err != nil {
			return err
		}
	}
	return a.postFresh(ctx, gh, event, pr, rc, l, j)
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
func (a *App) postFresh(ctx context.Context, gh gitHub, event, pr PR, rc repoConfig, l ledger, j judgement) error {
	runs := j.runs
	for round := 0; ; round++ {
		if err := a.post(ctx, gh, pr, runs); err != nil {
			return err
		}
		if round == maxRejudge {
			return nil
		}
		l2, err := a.loadLedger(ctx, pr)
		if err != nil {
			return err
		}
		if !l2.movedSince(l) {
			return nil
		}
		posted := j.runs
		pr, l = l2.newest(pr), l2
		if j, err = a.judge(ctx, gh, pr, rc, l); err != nil {
			return err
		}
		if done, err := a.mergedVerdict(ctx, event, pr, j); done || err != nil {
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
func changedRuns(posted, now []checkRun) []checkRun {
	var out []checkRun
	for _, r := range now {
		i := slices.IndexFunc(posted, func(p checkRun) bool { return p.Name == r.Name })
		if i < 0 || !sameRuns(posted[i:i+1], []checkRun{r}) {
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
func (a *App) mergedVerdict(ctx context.Context, event, pr PR, j judgement) (done bool, err error) {
	if !pr.Merged {
		return false, nil
	}
	if err := a.verdictChanged(ctx, pr, j); err != nil {
		return true, err
	}
	return event.Merged, nil
}

func (a *App) verdictChanged(ctx context.Context, pr PR, j judgement) error {
	v, err := a.verdict(ctx, pr, j)
	if err != nil {
		return err
	}
	a.logger(ctx).Info("recorded merge verdict", "pr", pr.String(), "merge_sha", v.MergeSHA, "complete", v.Complete)
	if a.gate == nil {
		return nil
	}
	if err := a.gate.Verdict(ctx, v); err != nil {
		return fmt.Errorf("release gate for %s: %w", pr, err)
	}
	return nil
}

// Reviewed handles a review submitted or (dismissed true) dismissed. Boxes
// ticked in an approving review's own copy of a reviewer checklist count as
// ticked by the reviewer; a dismissal withdraws them. A later approval
// without a checklist withdraws nothing: re-approving after a push is not
// unticking.
func (a *App) Reviewed(ctx context.Context, pr PR, review *github.PullRequestReview, dismissed bool) error {
	gh := a.github(pr.Installation)
	reviewer := actorOf(review.GetUser())
	if dismissed {
		// Withdrawn before anything that can fail (the config read), and
		// whatever the config: a dismissal only ever takes counts away.
		ticks, err := a.withdrawReviewTicks(ctx, pr, reviewer, reviewID(review), a.now().UTC())
		if err != nil {
			return err
		}
		if _, _, err := a.current(ctx, pr, ticks); err != nil {
			return err
		}
		return a.evaluate(ctx, gh, pr, evalOpts{})
	}
	rc, err := a.loadConfig(ctx, gh, pr)
	if err != nil {
		return err
	}
	var ticks []store.Record
	if rc.cfg != nil && strings.EqualFold(review.GetState(), "approved") {
		changes := reviewTicks(checklist.Parse([]byte(review.GetBody())), rc.cfg)
		at := review.GetSubmittedAt().Time
		if at.IsZero() {
			at = pr.UpdatedAt
		}
		if ticks, err = tickRecords(pr, changes, reviewer, at, reviewID(review)); err != nil {
			return err
		}
	}
	return a.evaluateWith(ctx, gh, pr, rc, evalOpts{writes: ticks})
}

// ReviewEdited handles an edited review. An approving review's body is its
// author's word for as long as it stands, so after an edit exactly the boxes
// ticked in it count as ticked by that review: one unticked in the edit is
// withdrawn, one newly ticked counts from now (GitHub keeps submitted_at on
// an edit, so the edit's own time orders it). The body judged is the
// review's current one, fetched: an edit carries no time of its own, so two
// quick edits delivered in the wrong order (or one redelivered) would
// otherwise bring back boxes the reviewer had unticked since.
func (a *App) ReviewEdited(ctx context.Context, pr PR, review *github.PullRequestReview) error {
	gh := a.github(pr.Installation)
	cur, err := gh.CurrentReview(ctx, pr.Owner, pr.Repo, pr.Number, review)
	if err != nil {
		return err
	}
	if cur == nil { // gone: nothing of it stands
		return a.Reviewed(ctx, pr, review, true)
	}
	if cur.User == nil {
		cur.User = review.GetUser()
	}
	review = cur
	if !strings.EqualFold(review.GetState(), "approved") {
		return a.Reviewed(ctx, pr, review, strings.EqualFold(review.GetState(), "dismissed"))
	}
	rc, err := a.loadConfig(ctx, gh, pr)
	if err != nil {
		return err
	}
	var ticks []store.Record
	if rc.cfg != nil {
		l, err := a.loadLedger(ctx, pr)
		if err != nil {
			return err
		}
		fromThis := func(t tickRecord) bool { return t.Review && t.Checked && t.ReviewID == reviewID(review) }
		ticked := map[string]bool{}
		var changes []checklist.Change
		for _, c := range reviewTicks(checklist.Parse([]byte(review.GetBody())), rc.cfg) {
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
		if ticks, err = tickRecords(pr, changes, actorOf(review.GetUser()), a.now().UTC(), reviewID(review)); err != nil {
			return err
		}
	}
	return a.evaluateWith(ctx, gh, pr, rc, evalOpts{writes: ticks})
}

// reviewTicks are the ticked, required boxes of reviewer checklists in a
// review body.
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
func reviewID(r *github.PullRequestReview) int64 {
	if id := r.GetID(); id > 0 {
		return id
	}
	return anyReview
}

// withdrawReviewTicks are the records unticking every box whose latest
// record is a tick by reviewer in review id (or in a review of unknown id):
// a dismissal takes back that review, not a later approval.
func (a *App) withdrawReviewTicks(ctx context.Context, pr PR, reviewer actor, id int64, at time.Time) ([]store.Record, error) {
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
	return tickRecords(pr, changes, reviewer, at, anyReview)
}

// Recheck re-evaluates pull requests named by number (check_run
// rerequested or "Re-check", check_suite rerequested): those events do not
// carry the body, so each PR is fetched.
func (a *App) Recheck(ctx context.Context, installation int64, owner, repo string, numbers []int) error {
	gh := a.github(installation)
	var errs []error
	for _, n := range numbers {
		pr, err := gh.PullRequest(ctx, owner, repo, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ref := PRFrom(installation, &github.Repository{Owner: &github.User{Login: &owner}, Name: &repo}, pr)
		// Closed and merged PRs are answered too: GitHub set the suite
		// back to queued and shows it so until the App posts.
		if err := a.evaluate(ctx, gh, ref, evalOpts{rerun: true}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MergeGroup answers a merge queue's checks_requested with success for
// every checklist: each PR in the group was already held by its checks.
// The group is located by pr's Installation, Owner, Repo, HeadSHA and Base.
func (a *App) MergeGroup(ctx context.Context, pr PR) error {
	gh := a.github(pr.Installation)
	rc, err := a.loadConfig(ctx, gh, pr)
	if err != nil {
		return err
	}
	cfg := rc.cfg
	if cfg == nil {
		cfg = checklist.DefaultConfig()
	}
	var runs []checkRun
	for _, c := range cfg.Checklists {
		runs = append(runs, checkRun{Name: c.Name, HeadSHA: pr.HeadSHA, Conclusion: "success", At: a.now().UTC(),
			Title: "merge queue", Summary: "Every pull request in this merge group passed its checklist checks before joining the queue."})
	}
	return a.post(ctx, gh, pr, runs)
}

// EvaluateMerged gives the verdict on a merged PR now (for the release
// gate, when the merge webhook was lost) and records it.
func (a *App) EvaluateMerged(ctx context.Context, installation int64, owner, repo string, number int) (Verdict, error) {
	gh := a.github(installation)
	raw, err := gh.PullRequest(ctx, owner, repo, number)
	if err != nil {
		return Verdict{}, err
	}
	if !raw.GetMerged() {
		return Verdict{}, fmt.Errorf("%s/%s#%d is not merged", owner, repo, number)
	}
	pr := PRFrom(installation, &github.Repository{Owner: &github.User{Login: &owner}, Name: &repo}, raw)
	rc, err := a.loadConfig(ctx, gh, pr)
	if err != nil {
		return Verdict{}, err
	}
	l, err := a.loadLedger(ctx, pr)
	if err != nil {
		return Verdict{}, err
	}
	j, err := a.judge(ctx, gh, pr, rc, l)
	if err != nil {
		return Verdict{}, err
	}
	return a.verdict(ctx, pr, j)
}
