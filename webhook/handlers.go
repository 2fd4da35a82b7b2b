package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/checklist"
)

// Handlers returns one thin handler per event checkoff acts on, all over the
// same App.
func Handlers(a *app.App) []EventHandler {
	return []EventHandler{
		pullRequestHandler{a}, reviewHandler{a}, checkRunHandler{a},
		checkSuiteHandler{a}, mergeGroupHandler{a}, installationHandler{},
	}
}

// decode unmarshals a payload into a go-github event type.
func decode(eventType string, payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("decode %s payload: %w", eventType, err)
	}
	return nil
}

// withLogger hands the delivery's logger to the App.
func withLogger(ctx context.Context) context.Context {
	return app.WithLogger(ctx, LoggerFrom(ctx))
}

type pullRequestHandler struct{ app *app.App }

func (pullRequestHandler) Handles() []string { return []string{"pull_request"} }

func (h pullRequestHandler) Handle(ctx context.Context, eventType, _ string, payload []byte) error {
	var ev github.PullRequestEvent
	if err := decode(eventType, payload, &ev); err != nil {
		return err
	}
	ctx = withLogger(ctx)
	pr := app.PRFrom(ev.GetInstallation().GetID(), ev.GetRepo(), ev.GetPullRequest())
	switch ev.GetAction() {
	case "opened":
		return h.app.Opened(ctx, pr, app.ActorOf(ev.GetSender()))
	case "edited":
		ch := ev.GetChanges()
		if ch.GetBody() != nil {
			if err := h.app.Edited(ctx, pr, ch.GetBody().GetFrom(), app.ActorOf(ev.GetSender())); err != nil {
				return err
			}
		}
		if ch.GetBase() != nil {
			// A new base brings its own config and branch rules: a PR
			// retargeted from an unenforced branch must not keep its
			// neutral (passing) runs.
			return h.app.Evaluate(ctx, pr)
		}
		return nil // a title edit changes nothing checkoff judges
	case "synchronize":
		return h.app.Pushed(ctx, pr, app.ActorOf(ev.GetSender()))
	case "reopened", "ready_for_review":
		return h.app.Evaluate(ctx, pr)
	case "closed":
		if !pr.Merged {
			return nil
		}
		return h.app.Evaluate(ctx, pr) // records the merge verdict for the gate
	default:
		return nil
	}
}

type reviewHandler struct{ app *app.App }

func (reviewHandler) Handles() []string { return []string{"pull_request_review"} }

func (h reviewHandler) Handle(ctx context.Context, eventType, _ string, payload []byte) error {
	var ev github.PullRequestReviewEvent
	if err := decode(eventType, payload, &ev); err != nil {
		return err
	}
	pr := app.PRFrom(ev.GetInstallation().GetID(), ev.GetRepo(), ev.GetPullRequest())
	switch ev.GetAction() {
	case "submitted":
		return h.app.ReviewSubmitted(withLogger(ctx), pr, app.ReviewFrom(ev.GetReview()))
	case "edited":
		return h.app.ReviewEdited(withLogger(ctx), pr, app.ReviewFrom(ev.GetReview()))
	case "dismissed":
		return h.app.ReviewDismissed(withLogger(ctx), pr, app.ReviewFrom(ev.GetReview()))
	default:
		return nil
	}
}

type checkRunHandler struct{ app *app.App }

func (checkRunHandler) Handles() []string { return []string{"check_run"} }

func (h checkRunHandler) Handle(ctx context.Context, eventType, _ string, payload []byte) error {
	var ev github.CheckRunEvent
	if err := decode(eventType, payload, &ev); err != nil {
		return err
	}
	switch ev.GetAction() {
	case "rerequested":
	case "requested_action":
		if ra := ev.GetRequestedAction(); ra == nil || ra.Identifier != app.RecheckAction {
			return nil
		}
	default:
		return nil
	}
	ctx = withLogger(ctx)
	run := ev.GetCheckRun()
	if run.GetName() != checklist.ReleaseGateName {
		return recheck(ctx, h.app, ev.GetInstallation(), ev.GetRepo(), run.PullRequests)
	}
	// The release gate's run sits on a merge commit: its pull_requests are
	// the open PRs whose head is that commit (a dev -> master PR), not the
	// merged PR it judges. Re-running it re-judges the merge.
	if !h.app.OwnCheckRun(run.GetApp().GetSlug()) {
		// GitHub sends a re-run only to the App that made the run, so this
		// is most likely a CHECKOFF_BOT_LOGIN that names another App.
		LoggerFrom(ctx).Warn("re-run of a Release Gate check made by another app ignored; check CHECKOFF_BOT_LOGIN",
			"check_run", run.GetName(), "app", run.GetApp().GetSlug())
		return nil
	}
	repo := ev.GetRepo()
	return h.app.RecheckMerge(ctx, ev.GetInstallation().GetID(), repo.GetOwner().GetLogin(), repo.GetName(), run.GetHeadSHA())
}

type checkSuiteHandler struct{ app *app.App }

func (checkSuiteHandler) Handles() []string { return []string{"check_suite"} }

func (h checkSuiteHandler) Handle(ctx context.Context, eventType, _ string, payload []byte) error {
	var ev github.CheckSuiteEvent
	if err := decode(eventType, payload, &ev); err != nil {
		return err
	}
	if ev.GetAction() != "rerequested" {
		return nil
	}
	ctx = withLogger(ctx)
	suite, repo := ev.GetCheckSuite(), ev.GetRepo()
	err := recheck(ctx, h.app, ev.GetInstallation(), repo, suite.PullRequests)
	if !h.app.HasReleaseGate() {
		return err
	}
	// "Re-run all checks" on a merge commit re-runs the release gate's run
	// too. Its suite holds every run of this App on the commit, so any
	// commit may be one; one that no PR was merged as has no gate run.
	gerr := h.app.RecheckMerge(ctx, ev.GetInstallation().GetID(), repo.GetOwner().GetLogin(), repo.GetName(), suite.GetHeadSHA())
	if errors.Is(gerr, app.ErrNoMergedPR) {
		gerr = nil
	}
	return errors.Join(err, gerr)
}

// recheck re-evaluates the PRs a check run or suite belongs to. Only PRs of
// the same repository count: a fork's PR listed there is evaluated by its
// own repository's events.
func recheck(ctx context.Context, a *app.App, inst *github.Installation, repo *github.Repository, prs []*github.PullRequest) error {
	var numbers []int
	for _, pr := range prs {
		if pr.GetBase().GetRepo().GetID() == repo.GetID() {
			numbers = append(numbers, pr.GetNumber())
		}
	}
	if len(numbers) == 0 {
		return nil
	}
	return a.Recheck(ctx, inst.GetID(), repo.GetOwner().GetLogin(), repo.GetName(), numbers)
}

type mergeGroupHandler struct{ app *app.App }

func (mergeGroupHandler) Handles() []string { return []string{"merge_group"} }

func (h mergeGroupHandler) Handle(ctx context.Context, eventType, _ string, payload []byte) error {
	var ev github.MergeGroupEvent
	if err := decode(eventType, payload, &ev); err != nil {
		return err
	}
	if ev.GetAction() != "checks_requested" {
		return nil
	}
	mg := ev.GetMergeGroup()
	return h.app.MergeGroup(withLogger(ctx), app.MergeGroup{
		Installation: ev.GetInstallation().GetID(),
		Owner:        ev.GetRepo().GetOwner().GetLogin(),
		Repo:         ev.GetRepo().GetName(),
		HeadSHA:      mg.GetHeadSHA(),
		HeadRef:      mg.GetHeadRef(),
		Base:         strings.TrimPrefix(mg.GetBaseRef(), "refs/heads/"),
	})
}

// installationHandler only logs: installation clients are built on demand
// and need no set-up.
type installationHandler struct{}

func (installationHandler) Handles() []string {
	return []string{"installation", "installation_repositories"}
}

func (installationHandler) Handle(ctx context.Context, eventType, _ string, payload []byte) error {
	var ev struct {
		Action       string `json:"action"`
		Installation struct {
			ID      int64 `json:"id"`
			Account struct {
				Login string `json:"login"`
			} `json:"account"`
		} `json:"installation"`
	}
	if err := decode(eventType, payload, &ev); err != nil {
		return err
	}
	LoggerFrom(ctx).Info("installation event", "event", eventType, "action", ev.Action,
		"installation", ev.Installation.ID, "account", ev.Installation.Account.Login)
	return nil
}
