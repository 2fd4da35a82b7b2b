package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/checklist"
	"github.com/checkoff-app/checkoff/webhook"
)

// All returns one thin handler per event checkoff acts on, all over the
// same App.
func All(a *app.App) []webhook.Handler {
	return []webhook.Handler{
		PullRequest{a}, Review{a}, CheckRun{a}, CheckSuite{a}, MergeGroup{a}, Installation{},
	}
}

// Every handler is a webhook.Handler.
var (
	_ webhook.Handler = PullRequest{}
	_ webhook.Handler = Review{}
	_ webhook.Handler = CheckRun{}
	_ webhook.Handler = CheckSuite{}
	_ webhook.Handler = MergeGroup{}
	_ webhook.Handler = Installation{}
)

// withLogger hands the delivery's logger to the App.
func withLogger(ctx context.Context, ev *webhook.Event) context.Context {
	// The delivery is named in the ledger's history (checkoff audit).
	ctx = store.WithDelivery(ctx, ev.Delivery)
	return app.WithLogger(ctx, webhook.LoggerFrom(ctx))
}

// PullRequest handles pull_request: opened, edited, synchronize, reopened,
// ready_for_review and closed (merged).
type PullRequest struct{ App *app.App }

// Handles names pull_request.
func (PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle calls the App method for the action; other actions are no-ops.
func (h PullRequest) Handle(ctx context.Context, ev *webhook.Event) error {
	switch ev.Action {
	case "opened", "edited", "synchronize", "reopened", "ready_for_review", "closed", "assigned", "unassigned":
	default:
		return nil
	}
	pr, err := prFrom(ev)
	if err != nil {
		return err
	}
	ctx = withLogger(ctx, ev)
	switch ev.Action {
	case "opened":
		return h.App.Opened(ctx, pr, actor(&ev.Sender))
	case "edited":
		return h.edited(ctx, pr, ev)
	case "synchronize":
		return h.App.PushedFrom(ctx, pr, actor(&ev.Sender), ev.Before)
	case "closed":
		if !pr.Merged {
			return nil
		}
		return h.App.Evaluate(ctx, pr) // records the merge verdict for the gate
	default: // reopened, ready_for_review, assigned and unassigned (a bot's
		// PR answers to its assignees)
		return h.App.Evaluate(ctx, pr)
	}
}

func (h PullRequest) edited(ctx context.Context, pr app.PRState, ev *webhook.Event) error {
	ch := ev.Changes
	if ch == nil {
		return nil
	}
	if ch.Body != nil {
		if err := h.App.Edited(ctx, pr, ch.Body.From, actor(&ev.Sender)); err != nil {
			return err
		}
	}
	if ch.Base != nil {
		// A new base brings its own config and branch rules: a PR
		// retargeted from an unenforced branch must not keep its neutral
		// (passing) runs.
		return h.App.Evaluate(ctx, pr)
	}
	return nil // a title edit changes nothing checkoff judges
}

// Review handles pull_request_review: submitted, edited and dismissed.
type Review struct{ App *app.App }

// Handles names pull_request_review.
func (Review) Handles() []string { return []string{"pull_request_review"} }

// Handle calls the App method for the action; other actions are no-ops.
func (h Review) Handle(ctx context.Context, ev *webhook.Event) error {
	var call func(context.Context, app.PRState, app.Review) error
	switch ev.Action {
	case "submitted":
		call = h.App.ReviewSubmitted
	case "edited":
		call = h.App.ReviewEdited
	case "dismissed":
		call = h.App.ReviewDismissed
	default:
		return nil
	}
	pr, err := prFrom(ev)
	if err != nil {
		return err
	}
	rv, err := reviewFrom(ev.Review)
	if err != nil {
		return err
	}
	return call(withLogger(ctx, ev), pr, rv)
}

// CheckRun handles check_run rerequested and the run's "Re-check" button
// (requested_action): a checklist run re-checks the open pull requests it
// lists, the release gate's run re-judges the merge it sits on.
type CheckRun struct{ App *app.App }

// Handles names check_run.
func (CheckRun) Handles() []string { return []string{"check_run"} }

// Handle re-checks what the run judged; other actions are no-ops.
func (h CheckRun) Handle(ctx context.Context, ev *webhook.Event) error {
	switch ev.Action {
	case "rerequested":
	case "requested_action":
		if ra := ev.RequestedAction; ra == nil || ra.Identifier != app.RecheckAction {
			return nil
		}
	default:
		return nil
	}
	ctx = withLogger(ctx, ev)
	run, repo := ev.CheckRun, ev.Repository
	if run.Name != checklist.ReleaseGateName {
		return recheck(ctx, h.App, ev, run.PullRequests)
	}
	// The release gate's run sits on a merge commit: its pull_requests are
	// the open PRs whose head is that commit (a dev -> master PR), not the
	// merged PR it judges. Re-running it re-judges the merge.
	slug := ""
	if run.App != nil {
		slug = run.App.Slug
	}
	if !h.App.OwnCheckRun(slug) {
		// GitHub sends a re-run only to the App that made the run, so this
		// is most likely a CHECKOFF_BOT_LOGIN that names another App.
		webhook.LoggerFrom(ctx).Warn("re-run of a Release Gate check made by another app ignored; check CHECKOFF_BOT_LOGIN",
			"check_run", run.Name, "app", slug)
		return nil
	}
	return h.App.RecheckMerge(ctx, ev.Installation.ID, repo.Owner.Login, repo.Name, run.HeadSHA)
}

// CheckSuite handles check_suite rerequested ("Re-run all checks"): the
// pull requests it lists, and the release gate when its commit is a merge
// commit.
type CheckSuite struct{ App *app.App }

// Handles names check_suite.
func (CheckSuite) Handles() []string { return []string{"check_suite"} }

// Handle re-checks the suite's pull requests and merge; other actions are
// no-ops.
func (h CheckSuite) Handle(ctx context.Context, ev *webhook.Event) error {
	if ev.Action != "rerequested" {
		return nil
	}
	ctx = withLogger(ctx, ev)
	suite, repo := ev.CheckSuite, ev.Repository
	err := recheck(ctx, h.App, ev, suite.PullRequests)
	if !h.App.HasReleaseGate() {
		return err
	}
	// "Re-run all checks" on a merge commit re-runs the release gate's run
	// too. Its suite holds every run of this App on the commit, so any
	// commit may be one; one that no PR was merged as has no gate run.
	gerr := h.App.RecheckMerge(ctx, ev.Installation.ID, repo.Owner.Login, repo.Name, suite.HeadSHA)
	if errors.Is(gerr, app.ErrNoMergedPR) {
		gerr = nil
	}
	return errors.Join(err, gerr)
}

// recheck re-evaluates the PRs a check run or suite belongs to. Only PRs of
// the same repository count: a fork's PR listed there is evaluated by its
// own repository's events.
func recheck(ctx context.Context, a *app.App, ev *webhook.Event, prs []webhook.PullRequestRef) error {
	repo := ev.Repository
	var numbers []int
	for _, pr := range prs {
		if pr.Base != nil && pr.Base.Repo != nil && pr.Base.Repo.ID == repo.ID {
			numbers = append(numbers, pr.Number)
		}
	}
	if len(numbers) == 0 {
		return nil
	}
	return a.Recheck(ctx, ev.Installation.ID, repo.Owner.Login, repo.Name, numbers)
}

// MergeGroup handles merge_group checks_requested (the merge queue).
type MergeGroup struct{ App *app.App }

// Handles names merge_group.
func (MergeGroup) Handles() []string { return []string{"merge_group"} }

// Handle judges the group's pull requests; other actions are no-ops.
func (h MergeGroup) Handle(ctx context.Context, ev *webhook.Event) error {
	if ev.Action != "checks_requested" {
		return nil
	}
	mg, repo := ev.MergeGroup, ev.Repository
	return h.App.MergeGroup(withLogger(ctx, ev), app.MergeGroup{
		Installation: ev.Installation.ID,
		Owner:        repo.Owner.Login,
		Repo:         repo.Name,
		HeadSHA:      mg.HeadSHA,
		HeadRef:      mg.HeadRef,
		Base:         strings.TrimPrefix(mg.BaseRef, "refs/heads/"),
	})
}

// Installation only logs installation and installation_repositories:
// installation clients are built on demand and need no set-up.
type Installation struct{}

// Handles names installation and installation_repositories.
func (Installation) Handles() []string {
	return []string{"installation", "installation_repositories"}
}

// Handle logs the event.
func (Installation) Handle(ctx context.Context, ev *webhook.Event) error {
	var id int64
	var account string
	if in := ev.Installation; in != nil {
		id = in.ID
		if in.Account != nil {
			account = in.Account.Login
		}
	}
	webhook.LoggerFrom(ctx).Info("installation event", "event", ev.Name, "action", ev.Action,
		"installation", id, "account", account)
	return nil
}

// prFrom builds the App's locator from a pull_request or
// pull_request_review delivery, which the Dispatcher has checked has the
// repository, installation and pull request fields read here (validate.go).
func prFrom(ev *webhook.Event) (app.PRState, error) {
	pr, repo := ev.PullRequest, ev.Repository
	updated, err := time.Parse(time.RFC3339, pr.UpdatedAt)
	if err != nil {
		return app.PRState{}, fmt.Errorf("pull_request.updated_at: %w", err)
	}
	out := app.PRState{
		Installation: ev.Installation.ID,
		Owner:        repo.Owner.Login,
		Repo:         repo.Name,
		RepoID:       repo.ID,
		Number:       pr.Number,
		HeadSHA:      pr.Head.SHA,
		Base:         pr.Base.Ref,
		BaseSHA:      pr.Base.SHA,
		Author:       pr.User.Login,
		AuthorBot:    isBotUser(pr.User),
		Body:         pr.Body,
		UpdatedAt:    updated,
		Merged:       pr.Merged,
		MergeSHA:     pr.MergeCommitSHA,
	}
	for _, a := range pr.Assignees {
		if a.Login != "" && !isBotUser(&a) {
			out.Assignees = append(out.Assignees, a.Login)
		}
	}
	// The ledger is keyed by the base repository, as app.PRFrom does.
	if pr.Base.Repo != nil && pr.Base.Repo.ID != 0 {
		out.RepoID = pr.Base.Repo.ID
	}
	return out, nil
}

// reviewFrom converts a delivery's review, checked by the Dispatcher to
// have an ID, a user and a state.
func reviewFrom(r *webhook.Review) (app.Review, error) {
	out := app.Review{ID: r.ID, User: actor(r.User), State: r.State, Body: r.Body, CommitID: r.CommitID}
	if r.SubmittedAt != "" {
		at, err := time.Parse(time.RFC3339, r.SubmittedAt)
		if err != nil {
			return app.Review{}, fmt.Errorf("review.submitted_at: %w", err)
		}
		out.SubmittedAt = at
	}
	return out, nil
}

// actor converts a payload's user through app.ActorOf, so what makes a
// login a bot is said in one place.
func actor(u *webhook.User) app.Actor {
	if u == nil {
		return app.Actor{}
	}
	return app.ActorOf(&github.User{Login: &u.Login, Type: &u.Type})
}

// isBotUser reports a bot account, as app.ActorOf does.
func isBotUser(u *webhook.User) bool { return u != nil && actor(u).Bot }
