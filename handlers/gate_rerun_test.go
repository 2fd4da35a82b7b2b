package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/checklist"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/internal/pipelinetest"
)

// The release set-up of the gate scenarios: dev feeds the dev pipeline,
// whose ApproveChangeSet stage holds the Manual approval checkoff answers.
// #13 is the open dev -> master pull request: its head is dev's head, so
// GitHub lists it in the pull_requests of every check run on dev's head.
const (
	gPipeline  = "invoice-log-api-dev"
	gStage     = "ApproveChangeSet"
	gAction    = "ChecklistApproval"
	gPromotion = 13
)

// gateHarness is the harness with a real release gate (package release)
// over a fake CodePipeline, wired as cmd/checkoff wires it.
type gateHarness struct {
	*harness
	cp   *pipelinetest.Server
	exec string // the execution of the merge commit, waiting at the approval
}

// lateGate hands verdicts to a gate built after the App: the gate needs
// the harness's store and GitHub clients, the App the gate.
type lateGate struct{ g *release.Gate }

func (l *lateGate) Verdict(ctx context.Context, v verdict.Verdict) error { return l.g.Verdict(ctx, v) }
func (l *lateGate) Rerun(ctx context.Context, v verdict.Verdict) error   { return l.g.Rerun(ctx, v) }

// appEvaluator lets the gate ask the App for a verdict it has not stored.
type appEvaluator struct{ a *app.App }

func (e appEvaluator) EvaluateMerged(ctx context.Context, owner, repo string, number int) (verdict.Verdict, error) {
	return e.a.EvaluateMerged(ctx, githubtest.FixtureInstallation, owner, repo, number)
}

func newGateHarness(t *testing.T) *gateHarness {
	t.Helper()
	late := &lateGate{}
	h := newHarness(t, func(o *harnessOptions) { o.gate = late })
	cfg, err := release.ParseConfig("releases.yml", []byte(fmt.Sprintf(`releases:
  - repo: %s
    branch: %s
    pipeline: %s
    stage: %s
    action: %s
`, hRepo, hBase, gPipeline, gStage, gAction)))
	if err != nil {
		t.Fatal(err)
	}
	cp := pipelinetest.New(t)
	cp.AddPipeline(gPipeline, gStage, gAction)
	cp.Deployed(gPipeline, githubtest.FixtureBaseSHA)
	late.g, err = release.New(release.Options{
		Config: cfg, Pipeline: cp.Client(), Store: h.st, Evaluator: appEvaluator{h.app},
		GitHub: func(_ context.Context, owner, repo string) (*github.Client, error) {
			if !strings.EqualFold(owner+"/"+repo, hRepo) {
				return nil, fmt.Errorf("app not installed on %s/%s", owner, repo)
			}
			return h.clients.Installation(githubtest.FixtureInstallation), nil
		},
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	// #12's commit sits on dev's head; the merge commit joins them.
	h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hHead, Parents: []string{githubtest.FixtureBaseSHA}, Message: "Add the CSV export"})
	h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hMerge, Parents: []string{githubtest.FixtureBaseSHA, hHead}, Message: "Merge pull request #12"})
	return &gateHarness{harness: h, cp: cp}
}

// merge merges #12 in state s (which must say Merged): dev moves to the
// merge commit, the pipeline runs it up to the approval, and the merge is
// delivered. dev -> master (#13) is opened at the new head.
func (g *gateHarness) merge(s prState) *httptest.ResponseRecorder {
	g.t.Helper()
	g.setPull(s)
	g.gh.SetBranch(hRepo, hBase, hMerge)
	g.gh.SetPull(hRepo, githubtest.PullRequest{Number: gPromotion, User: hReviewer, Body: "Release to production.",
		BaseRef: "master", HeadRef: hBase, HeadSHA: hMerge, CreatedAt: t0, UpdatedAt: t0})
	g.exec = g.cp.Start(gPipeline, hMerge)
	g.cp.Arrive(gPipeline, g.exec)
	return g.deliver("pull_request", g.prPayload("closed", hReviewer, s, nil))
}

// editAfterMerge delivers an edit of merged #12 from old to s.Body.
func (g *gateHarness) editAfterMerge(who, old string, s prState) *httptest.ResponseRecorder {
	g.t.Helper()
	g.setPull(s)
	return g.deliver("pull_request", g.prPayload("edited", who, s, func(p map[string]any) {
		githubtest.Set(p, "changes", map[string]any{"body": map[string]any{"from": old}})
		githubtest.Set(p, "pull_request.merged", true)
		githubtest.Set(p, "pull_request.state", "closed")
		githubtest.Set(p, "pull_request.merge_commit_sha", hMerge)
	}))
}

// prRef is a pull request as a check run or suite payload lists it.
func prRef(number int, headRef, headSHA, baseRef, baseSHA string) map[string]any {
	repo := map[string]any{"id": githubtest.FixtureRepoID, "url": "https://api.github.com/repos/" + hRepo, "name": hName}
	return map[string]any{
		"url": fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", hRepo, number), "id": 1873400000 + number, "number": number,
		"head": map[string]any{"ref": headRef, "sha": headSHA, "repo": repo},
		"base": map[string]any{"ref": baseRef, "sha": baseSHA, "repo": repo},
	}
}

// gateRerun builds check_run rerequested for the Release Gate run on sha,
// as GitHub sends it when someone clicks "Re-run": the run's pull_requests
// are the open PRs whose head is sha. edit may change it further.
func gateRerun(t testing.TB, sha string, prs []any, edit func(p map[string]any)) []byte {
	t.Helper()
	if prs == nil {
		prs = []any{}
	}
	return githubtest.Payload(t, "check_run.rerequested", func(p map[string]any) {
		githubtest.Set(p, "check_run.name", release.CheckName)
		githubtest.Set(p, "check_run.head_sha", sha)
		githubtest.Set(p, "check_run.external_id", "")
		githubtest.Set(p, "check_run.details_url", "https://github.com/"+hRepo+"/commit/"+sha)
		githubtest.Set(p, "check_run.conclusion", "failure")
		githubtest.Set(p, "check_run.output.title", "Held: 1 box not checked off")
		githubtest.Set(p, "check_run.output.summary", "#12 was merged into `dev` before its checklists were checked off.")
		githubtest.Set(p, "check_run.pull_requests", prs)
		githubtest.Set(p, "check_run.check_suite.head_branch", hBase)
		githubtest.Set(p, "check_run.check_suite.head_sha", sha)
		githubtest.Set(p, "check_run.check_suite.before", githubtest.FixtureBaseSHA)
		githubtest.Set(p, "check_run.check_suite.after", sha)
		githubtest.Set(p, "check_run.check_suite.conclusion", "failure")
		githubtest.Set(p, "check_run.check_suite.pull_requests", prs)
		sender(p, hReviewer)
		if edit != nil {
			edit(p)
		}
	})
}

// promotionRef is #13 as the pull_requests of a run on dev's head list it.
func promotionRef() []any {
	return []any{prRef(gPromotion, hBase, hMerge, "master", "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c")}
}

// checklistRunsSince returns the checklist runs (any check run not named
// Release Gate) created after the first n runs.
func (h *harness) checklistRunsSince(n int) []githubtest.CheckRun {
	var out []githubtest.CheckRun
	for _, cr := range h.gh.CheckRuns(hRepo)[n:] {
		if cr.Name != release.CheckName {
			out = append(out, cr)
		}
	}
	return out
}

// TestGateCheckName: the webhook layer routes by checklist.ReleaseGateName, the
// gate posts release.CheckName; they must be one name.
func TestGateCheckName(t *testing.T) {
	if checklist.ReleaseGateName != release.CheckName {
		t.Fatalf("checklist.ReleaseGateName %q != release.CheckName %q", checklist.ReleaseGateName, release.CheckName)
	}
}

// failHandOff brings the gate scenario to where a re-run matters: #12 was
// merged with one reviewer box open (held), the reviewer ticked it after
// the merge, but handing that verdict to the gate failed (GitHub 502s the
// check run update, CodePipeline is down). The verdict is complete; the
// Release Gate run still says held and the approval waits. It returns the
// recorded verdict.
func (g *gateHarness) failHandOff(t *testing.T) verdict.Verdict {
	t.Helper()
	ctx := context.Background()
	s := prState{Body: body("xxxx", "...."), At: t0}
	mustOK(t, g.opened(s))
	s1 := prState{Body: body("xxxx", "xxx."), At: t0.Add(time.Minute)}
	mustOK(t, g.edited(hReviewer, s.Body, s1))

	merged := prState{Body: s1.Body, At: t0.Add(2 * time.Minute), Merged: true}
	mustOK(t, g.merge(merged))
	wantRun(t, g.run(release.CheckName, hMerge), "failure", "Held: 1 box not checked off", items(reviewerList)[3])
	if res := g.cp.Results(gPipeline); len(res) != 0 {
		t.Fatalf("approval answered for an incomplete PR: %+v", res)
	}

	s2 := prState{Body: body("xxxx", "xxxx"), At: t0.Add(3 * time.Minute), Merged: true}
	g.gh.FailNext("checks/update", 5, githubtest.ServerError(http.StatusBadGateway))
	g.cp.Fail("GetPipelineState", pipelinetest.Internal, pipelinetest.Internal, pipelinetest.Internal)
	if w := g.editAfterMerge(hReviewer, s1.Body, s2); w.Code != http.StatusInternalServerError {
		t.Fatalf("edit with the gate failing answered %d, want 500", w.Code)
	}
	before, err := verdict.Get(ctx, g.st, hOwner, hName, hMerge)
	if err != nil || !before.Complete {
		t.Fatalf("verdict after the edit = %+v, %v; want complete", before, err)
	}
	wantRun(t, g.run(release.CheckName, hMerge), "failure", "Held: 1 box not checked off")
	if _, waiting := g.cp.Waiting(gPipeline); !waiting || len(g.cp.Results(gPipeline)) != 0 {
		t.Fatalf("approval no longer waiting before the re-run: %+v", g.cp.Results(gPipeline))
	}
	return before
}

// TestScenarioGateRerun: the reviewer ticks the last box after the merge,
// but handing the new verdict to the gate fails (GitHub 502s the check run
// update, CodePipeline is down), so the Release Gate run still says held
// and the approval waits. Someone clicks "Re-run" on the Release Gate run:
// the merged PR is judged again, the run is updated to "May ship" and the
// release approved, once. No checklist run is posted anywhere, though the
// run's pull_requests name the open dev -> master PR.
func TestScenarioGateRerun(t *testing.T) {
	for name, prs := range map[string][]any{
		"no pull requests listed": nil,
		"dev -> master PR listed": promotionRef(),
	} {
		t.Run(name, func(t *testing.T) {
			g := newGateHarness(t)
			ctx := context.Background()
			before := g.failHandOff(t)

			runs := len(g.gh.CheckRuns(hRepo))
			g.gh.ResetCalls()
			mustOK(t, g.deliver("check_run", gateRerun(t, hMerge, prs, nil)))

			gateRun := g.run(release.CheckName, hMerge)
			wantRun(t, gateRun, "success", "May ship", "reviewed by "+hReviewer)
			if gateRun.Updates != 1 {
				t.Errorf("Release Gate run updated %d times, want once", gateRun.Updates)
			}
			res := g.cp.Results(gPipeline)
			if len(res) != 1 || res[0].Status != "Approved" || res[0].ExecutionID != g.exec ||
				!slices.Equal(res[0].Revisions, []string{hMerge}) || !strings.Contains(res[0].Summary, "#12") {
				t.Errorf("approvals after the re-run = %+v; want one Approved of %s", res, g.exec)
			}
			after, err := verdict.Get(ctx, g.st, hOwner, hName, hMerge)
			if err != nil || !after.Complete || !after.At.After(before.At) {
				t.Errorf("verdict after the re-run = %+v, %v; want complete and judged after %v", after, err, before.At)
			}
			if got := g.checklistRunsSince(runs); len(got) != 0 {
				t.Errorf("the re-run posted checklist runs: %+v", got)
			}
			if n := g.gh.Count("checks/create"); n != 0 {
				t.Errorf("the re-run created %d check runs, want the gate's run updated", n)
			}
			if n := g.gh.Count("repos/list-pull-requests-associated-with-commit"); n < 1 {
				t.Errorf("the merge commit's pull requests were not asked for")
			}
			for _, c := range g.gh.Calls() {
				if c.OperationID == "pulls/get" && !strings.HasSuffix(c.Path, fmt.Sprintf("/pulls/%d", hPR)) {
					t.Errorf("the re-run fetched a PR other than the merged one: %s", c.Path)
				}
			}

			// A second click finds nothing new, but GitHub set the run's
			// suite back to queued: the run is updated again, as it was,
			// and nothing else is written or approved.
			g.gh.ResetCalls()
			mustOK(t, g.deliver("check_run", gateRerun(t, hMerge, prs, nil)))
			again := g.run(release.CheckName, hMerge)
			wantRun(t, again, "success", "May ship", "reviewed by "+hReviewer)
			if w, u := g.gh.Writes(), g.gh.Count("checks/update"); w != 1 || u != 1 || again.Updates != 2 {
				t.Errorf("second re-run: %d writes, %d run updates (run updated %d times in all); want the gate's run updated once more: %v",
					w, u, again.Updates, g.calls().ops)
			}
			if n := len(g.cp.Results(gPipeline)); n != 1 {
				t.Errorf("approvals after the second re-run: %d, want 1", n)
			}
			if f := g.gh.Failures(); len(f) > 0 {
				t.Errorf("fake GitHub rejected requests: %v", f)
			}
		})
	}
}

// TestScenarioGateRerunChecklistRun: with the gate configured, re-running
// a checklist run still re-checks the PR's checklists, and leaves the gate
// alone.
func TestScenarioGateRerunChecklistRun(t *testing.T) {
	g := newGateHarness(t)
	s := prState{Body: body("xxxx", "...."), At: t0}
	mustOK(t, g.opened(s))
	mustOK(t, g.edited(hReviewer, s.Body, prState{Body: body("xxxx", "x..."), At: t0.Add(time.Minute)}))
	g.setPull(prState{Body: body("xxxx", "x..."), Head: hNewHead, At: t0.Add(2 * time.Minute)})
	g.gh.ResetCalls()
	mustOK(t, g.deliver("check_run", githubtest.Payload(t, "check_run.rerequested", nil)))
	wantRun(t, g.run(reviewerList, hNewHead), "failure", "Reviewer Checklist: 1 of 4 ticked", "ticked by @"+hReviewer)
	wantRun(t, g.run(authorList, hNewHead), "success", "Author Checklist: 4 of 4 ticked")
	if n := g.gh.Count("repos/list-pull-requests-associated-with-commit"); n != 0 {
		t.Errorf("a checklist re-run asked for a commit's pull requests %d times", n)
	}
	if _, ok := g.latest(release.CheckName, hNewHead); ok {
		t.Errorf("a checklist re-run posted a Release Gate run")
	}
	if n := g.cp.Calls("GetPipelineState"); n != 0 {
		t.Errorf("a checklist re-run reconciled the pipeline (%d GetPipelineState calls)", n)
	}
}

// TestScenarioGateRerunRefused: re-runs of a run named Release Gate that
// checkoff cannot act on answer without posting any checklist run.
func TestScenarioGateRerunRefused(t *testing.T) {
	t.Run("no gate configured", func(t *testing.T) {
		h := newHarness(t)
		h.gh.SetPull(hRepo, githubtest.PullRequest{Number: gPromotion, User: hReviewer, BaseRef: "master", HeadRef: hBase, HeadSHA: hMerge})
		mustOK(t, h.deliver("check_run", gateRerun(t, hMerge, promotionRef(), nil)))
		if n := len(h.gh.Calls()); n != 0 {
			t.Errorf("made %d GitHub calls: %v", n, h.calls().ops)
		}
		if !strings.Contains(h.logs.String(), "no release gate is configured") {
			t.Errorf("no log line says why nothing happened:\n%s", h.logs)
		}
	})
	t.Run("another app's run", func(t *testing.T) {
		g := newGateHarness(t)
		mustOK(t, g.deliver("check_run", gateRerun(t, hMerge, promotionRef(), func(p map[string]any) {
			githubtest.Set(p, "check_run.app.id", 2002)
			githubtest.Set(p, "check_run.app.slug", "release-bot")
			githubtest.Set(p, "check_run.app.name", "release-bot")
		})))
		if n := len(g.gh.Calls()); n != 0 {
			t.Errorf("made %d GitHub calls: %v", n, g.calls().ops)
		}
		if n := g.cp.Calls("GetPipelineState"); n != 0 {
			t.Errorf("reconciled the pipeline for another app's run")
		}
	})
	t.Run("commit no PR was merged as", func(t *testing.T) {
		// #12 is still open at hNewHead; a run named Release Gate there is
		// not the gate's.
		g := newGateHarness(t)
		g.setPull(prState{Body: body("xxxx", "...."), Head: hNewHead, At: t0})
		w := g.deliver("check_run", gateRerun(t, hNewHead, []any{prRef(hPR, "feature/invoice-csv-export", hNewHead, hBase, githubtest.FixtureBaseSHA)}, nil))
		if w.Code != http.StatusInternalServerError {
			t.Errorf("answer %d, want 500 (a redelivery may find the PR once GitHub has associated it)", w.Code)
		}
		if runs := g.gh.CheckRuns(hRepo); len(runs) != 0 {
			t.Errorf("posted check runs: %+v", runs)
		}
		if n := g.gh.Count("pulls/get"); n != 0 {
			t.Errorf("fetched %d pull requests", n)
		}
		if !strings.Contains(g.logs.String(), "no merged pull request has it as merge commit") {
			t.Errorf("the log does not say why:\n%s", g.logs)
		}
	})
}

// TestScenarioGateSuiteRerun: "Re-run all checks" (check_suite
// rerequested) on the merge commit re-runs the release gate as the run's own
// re-run does; on a pull request's head, which no PR was merged as, it
// re-checks the listed PR's checklists and the gate finds nothing to do.
func TestScenarioGateSuiteRerun(t *testing.T) {
	t.Run("merge commit", func(t *testing.T) {
		g := newGateHarness(t)
		g.failHandOff(t)
		runs := len(g.gh.CheckRuns(hRepo))
		g.gh.ResetCalls()
		mustOK(t, g.deliver("check_suite", githubtest.Payload(t, "check_suite.rerequested", func(p map[string]any) {
			githubtest.Set(p, "check_suite.head_sha", hMerge)
			githubtest.Set(p, "check_suite.head_branch", hBase)
			githubtest.Set(p, "check_suite.after", hMerge)
			githubtest.Set(p, "check_suite.pull_requests", []any{})
		})))
		wantRun(t, g.run(release.CheckName, hMerge), "success", "May ship", "reviewed by "+hReviewer)
		if res := g.cp.Results(gPipeline); len(res) != 1 || res[0].Status != "Approved" || res[0].ExecutionID != g.exec {
			t.Errorf("approvals after the suite re-run = %+v; want one Approved of %s", res, g.exec)
		}
		if got := g.checklistRunsSince(runs); len(got) != 0 {
			t.Errorf("the suite re-run posted checklist runs on the merge commit: %+v", got)
		}
	})
	t.Run("pull request head", func(t *testing.T) {
		g := newGateHarness(t)
		g.gh.AddCommit(hRepo, githubtest.Commit{SHA: hNewHead, Parents: []string{hHead}})
		s := prState{Body: body("xxxx", "...."), Head: hNewHead, At: t0}
		mustOK(t, g.opened(s))
		g.gh.ResetCalls()
		if w := g.deliver("check_suite", githubtest.Payload(t, "check_suite.rerequested", nil)); w.Code != http.StatusOK {
			t.Fatalf("suite re-run on the PR head: %d %q\n%s", w.Code, w.Body, g.logs)
		}
		if n := g.gh.Count("checks/create"); n != 2 {
			t.Errorf("suite re-run on the PR head created %d check runs, want the 2 checklist runs", n)
		}
		if n := g.gh.Count("repos/list-pull-requests-associated-with-commit"); n != 1 {
			t.Errorf("the gate asked for the commit's pull requests %d times, want once", n)
		}
		if runs := g.runsOn(hMerge); len(runs) != 0 {
			t.Errorf("runs on the merge commit: %+v", runs)
		}
		if res := g.cp.Results(gPipeline); len(res) != 0 {
			t.Errorf("approvals: %+v, want none", res)
		}
	})
}
