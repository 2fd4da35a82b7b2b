package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/webhook"
)

// reviewPayload builds pull_request_review submitted: who approved (or
// commented, per state) with reviewBody, on #12 in state s.
func (h *harness) reviewPayload(action, who, state, reviewBody string, at time.Time, s prState, edits ...func(p map[string]any)) []byte {
	h.t.Helper()
	return githubtest.Payload(h.t, "pull_request_review."+action, func(p map[string]any) {
		setPRFields(p, s)
		sender(p, who)
		githubtest.Set(p, "review.user.login", who)
		githubtest.Set(p, "review.state", state)
		githubtest.Set(p, "review.body", reviewBody)
		githubtest.Set(p, "review.submitted_at", stamp(at))
		head := s.Head
		if head == "" {
			head = hHead
		}
		githubtest.Set(p, "review.commit_id", head) // the review approves the head it saw
		for _, e := range edits {
			e(p)
		}
	})
}

// TestScenarioMainStory follows one pull request from opening to merge:
// who may tick what, what the check runs say at each step, and how many
// GitHub calls each step costs.
func TestScenarioMainStory(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	reviewerItems := items(reviewerList)

	// 1. The author opens the PR with the Author Checklist ticked.
	s := prState{Body: body("xxxx", "...."), At: t0}
	mustOK(t, h.opened(s))
	wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked",
		"Every item is ticked.", "ticked by @"+hAuthor)
	wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked",
		"Items count only when ticked, or marked optional, by a reviewer with write access who did not contribute to the pull request.")
	if line := itemLine(t, h.run(reviewerList, hHead), reviewerItems[0]); !strings.Contains(line, "⬜") || !strings.Contains(line, "not ticked") {
		t.Errorf("unticked reviewer item: %q", line)
	}
	c := h.calls()
	// Cold: an installation token, the config (absent: 404, then the
	// owner's shared one, absent too), two check runs.
	if c.checkRuns != 2 || h.gh.Count("apps/create-installation-access-token") != 1 ||
		h.gh.Count("repos/get-content") != 2 || h.gh.Count("repos/get-collaborator-permission-level") != 0 || c.writes != 3 {
		t.Errorf("opened: calls %v", c.ops)
	}

	// 2. A reviewer with write access ticks two reviewer boxes.
	h.gh.ResetCalls()
	old := s.Body
	s = prState{Body: body("xxxx", "xx.."), At: t0.Add(time.Minute)}
	mustOK(t, h.edited(hReviewer, old, s))
	rv := h.run(reviewerList, hHead)
	wantRun(t, rv, "failure", "Reviewer Checklist: 2 of 4 ticked")
	for _, it := range reviewerItems[:2] {
		if line := itemLine(t, rv, it); !strings.Contains(line, "✅") || !strings.Contains(line, "ticked by @"+hReviewer) {
			t.Errorf("reviewer tick not counted: %q", line)
		}
	}
	wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked")
	c = h.calls()
	if h.gh.Count("repos/get-collaborator-permission-level") != 1 || c.checkRuns > 2 || c.writes != c.checkRuns {
		t.Errorf("reviewer edit: calls %v", c.ops)
	}

	// 3. The author ticks a reviewer box: shown, not counted.
	old = s.Body
	s = prState{Body: body("xxxx", "xxx."), At: t0.Add(2 * time.Minute)}
	mustOK(t, h.edited(hAuthor, old, s))
	rv = h.run(reviewerList, hHead)
	wantRun(t, rv, "failure", "Reviewer Checklist: 2 of 4 ticked")
	if line := itemLine(t, rv, reviewerItems[2]); !strings.Contains(line, "⚠️") || !strings.Contains(line, hAuthor+", the author") {
		t.Errorf("author's reviewer tick: %q", line)
	}

	// 4. A read-only user ticks one: not counted either.
	old = s.Body
	s = prState{Body: body("xxxx", "xxxx"), At: t0.Add(3 * time.Minute)}
	mustOK(t, h.edited(hReader, old, s))
	rv = h.run(reviewerList, hHead)
	wantRun(t, rv, "failure", "Reviewer Checklist: 2 of 4 ticked")
	if line := itemLine(t, rv, reviewerItems[3]); !strings.Contains(line, "⚠️") || !strings.Contains(line, hReader+", who lacks write access") {
		t.Errorf("read-only tick: %q", line)
	}

	// 5. The repository sets its config (reset_reviewer_on_push is on by
	// default), then the author pushes: the reviewer's ticks stop counting
	// on the new head.
	h.setConfig("reset_reviewer_on_push: true\n")
	h.gh.ResetCalls()
	s = prState{Body: s.Body, Head: hNewHead, At: t0.Add(4 * time.Minute)}
	h.setPull(s)
	mustOK(t, h.deliver("pull_request", h.prPayload("synchronize", hAuthor, s, nil)))
	rv = h.run(reviewerList, hNewHead)
	wantRun(t, rv, "failure", "Reviewer Checklist: 0 of 4 ticked")
	for _, it := range reviewerItems[:2] {
		if line := itemLine(t, rv, it); !strings.Contains(line, "before the latest push") {
			t.Errorf("pre-push reviewer tick: %q", line)
		}
	}
	wantRun(t, h.run(authorList, hNewHead), "success", "Author Checklist: 4 of 4 ticked")
	for _, call := range h.gh.Calls() {
		if call.OperationID == "repos/get-content" && call.Status != 200 {
			t.Errorf("the new config must be fetched in full, got %d", call.Status)
		}
	}

	// 6. The reviewer approves with the Reviewer Checklist ticked in the
	// review body: those ticks count as the reviewer's.
	reviewAt := t0.Add(5 * time.Minute)
	s.At = reviewAt
	h.setPull(s)
	h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: "APPROVED", SubmittedAt: reviewAt})
	reviewBody := "Looks good, ran the export locally.\r\n\r\n## Reviewer Checklist\r\n"
	for _, it := range reviewerItems {
		reviewBody += "- [x] " + it + "\r\n"
	}
	mustOK(t, h.deliver("pull_request_review", h.reviewPayload("submitted", hReviewer, "approved", reviewBody, reviewAt, s)))
	rv = h.run(reviewerList, hNewHead)
	wantRun(t, rv, "success", "Reviewer Checklist: 4 of 4 ticked", "Every item is ticked.")
	for _, it := range reviewerItems {
		if line := itemLine(t, rv, it); !strings.Contains(line, "✅") || !strings.Contains(line, "ticked by @"+hReviewer) {
			t.Errorf("review tick: %q", line)
		}
	}

	// The check runs as the reader sees them before the merge, whole.
	for _, name := range []string{authorList, reviewerList} {
		cr := h.run(name, hNewHead)
		golden(t, filepath.Join("testdata", "story", strings.ReplaceAll(name, " ", "_")+".golden"),
			"conclusion: "+cr.Conclusion+"\ntitle: "+cr.Title+"\n--- summary\n"+cr.Summary)
	}

	// 7. Merge: a verdict is recorded for the release gate; nothing posted.
	h.gh.ResetCalls()
	s.At = t0.Add(6 * time.Minute)
	s.Merged = true
	h.setPull(s)
	mustOK(t, h.deliver("pull_request", h.prPayload("closed", hReviewer, s, nil)))
	v, err := verdict.Get(ctx, h.st, hOwner, hName, hMerge)
	if err != nil {
		t.Fatalf("verdict: %v", err)
	}
	if !v.Complete || !slices.Equal(v.Reviewers, []string{hReviewer}) || len(v.Holding) != 0 ||
		v.PR != hPR || v.HeadSHA != hNewHead || v.Base != hBase || v.Author != hAuthor {
		t.Errorf("verdict = %+v", v)
	}
	if c := h.calls(); c.writes != 0 {
		t.Errorf("merge wrote to GitHub: %v", c.ops)
	}
	if f := h.gh.Failures(); len(f) > 0 {
		t.Errorf("fake GitHub rejected requests: %v", f)
	}
}

// TestScenarioMergeIncomplete: a merge with the reviewer checklist
// unfinished records an incomplete verdict naming what holds it.
func TestScenarioMergeIncomplete(t *testing.T) {
	h := newHarness(t)
	s := prState{Body: body("xxxx", "x..."), At: t0, Merged: true}
	h.setPull(s)
	mustOK(t, h.deliver("pull_request", h.prPayload("closed", hReviewer, s, nil)))
	v, err := verdict.Get(context.Background(), h.st, hOwner, hName, hMerge)
	if err != nil {
		t.Fatal(err)
	}
	if v.Complete || len(v.Holding) == 0 {
		t.Fatalf("verdict = %+v, want incomplete with reasons", v)
	}
	if !strings.Contains(strings.Join(v.Holding, "\n"), "Reviewer Checklist: ") {
		t.Errorf("holding = %q", v.Holding)
	}
}

// TestScenarioRedelivery: GitHub's "Redeliver" of a delivery that was
// handled is a no-op; of one that failed, it is handled.
func TestScenarioRedelivery(t *testing.T) {
	h := newHarness(t)
	s := prState{Body: body("xxxx", "...."), At: t0}
	h.setPull(s)
	payload := h.prPayload("opened", hAuthor, s, nil)
	mustOK(t, h.deliverID("pull_request", "d-once", payload))
	runs := len(h.gh.CheckRuns(hRepo))

	h.gh.ResetCalls()
	w := h.deliverID("pull_request", "d-once", payload)
	mustOK(t, w)
	if got := strings.TrimSpace(w.Body.String()); got != "already handled" {
		t.Errorf("redelivery answer %q", got)
	}
	if n := len(h.gh.Calls()); n != 0 {
		t.Errorf("redelivery of a handled delivery made %d GitHub calls: %v", n, h.calls().ops)
	}
	if n := len(h.gh.CheckRuns(hRepo)); n != runs {
		t.Errorf("check runs %d -> %d", runs, n)
	}

	// A delivery whose config read keeps failing is answered 500 ...
	old := s.Body
	s = prState{Body: body("xxxx", "x..."), At: t0.Add(time.Minute)}
	h.setPull(s)
	edit := h.editPayload(hReviewer, old, s)
	h.gh.FailNext("repos/get-content", 5, githubtest.ServerError(502))
	if w := h.deliverID("pull_request", "d-fails", edit); w.Code != 500 {
		t.Fatalf("answer %d, want 500 while GitHub fails", w.Code)
	}
	if got := h.run(reviewerList, hHead).Title; got != "Reviewer Checklist: 0 of 4 ticked" {
		t.Fatalf("runs changed by a failed delivery: %q", got)
	}
	// ... and its redelivery is handled.
	mustOK(t, h.deliverID("pull_request", "d-fails", edit))
	wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 1 of 4 ticked", "ticked by @"+hReviewer)
}

// edits are three reviewer edits of #12 after it was opened at t0 with the
// author's boxes ticked: tick 1; tick 2; untick 1 and tick 3.
func scenarioEdits() []struct {
	old, new string
	at       time.Time
} {
	bodies := []string{body("xxxx", "...."), body("xxxx", "x..."), body("xxxx", "xx.."), body("xxxx", ".xx.")}
	var out []struct {
		old, new string
		at       time.Time
	}
	for i := 1; i < len(bodies); i++ {
		out = append(out, struct {
			old, new string
			at       time.Time
		}{bodies[i-1], bodies[i], t0.Add(time.Duration(i) * time.Minute)})
	}
	return out
}

// TestScenarioOutOfOrderEdits: edits delivered in reverse order, or twice,
// converge to the ledger and check runs of in-order delivery: updated_at
// decides, not arrival.
func TestScenarioOutOfOrderEdits(t *testing.T) {
	edits := scenarioEdits()
	final := edits[len(edits)-1]
	play := func(t *testing.T, order []int, twice bool) *harness {
		h := newHarness(t)
		mustOK(t, h.opened(prState{Body: edits[0].old, At: t0}))
		h.setPull(prState{Body: final.new, At: final.at}) // GitHub's state is final before any webhook lands
		for _, i := range order {
			e := edits[i]
			payload := h.editPayload(hReviewer, e.old, prState{Body: e.new, At: e.at})
			mustOK(t, h.deliver("pull_request", payload))
			if twice {
				mustOK(t, h.deliver("pull_request", payload)) // a new delivery ID: not deduped
			}
		}
		return h
	}
	inOrder := play(t, []int{0, 1, 2}, false)
	rv := inOrder.run(reviewerList, hHead)
	wantRun(t, rv, "failure", "Reviewer Checklist: 2 of 4 ticked")
	its := items(reviewerList)
	if line := itemLine(t, rv, its[0]); !strings.Contains(line, "⬜") {
		t.Errorf("unticked item: %q", line)
	}
	for _, it := range its[1:3] {
		if line := itemLine(t, rv, it); !strings.Contains(line, "✅") {
			t.Errorf("ticked item: %q", line)
		}
	}
	for name, tc := range map[string]struct {
		order []int
		twice bool
	}{
		"reverse":        {order: []int{2, 1, 0}},
		"shuffled":       {order: []int{1, 2, 0}},
		"each twice":     {order: []int{0, 1, 2}, twice: true},
		"reverse, twice": {order: []int{2, 1, 0}, twice: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := play(t, tc.order, tc.twice)
			if got, want := ledgerState(h.ledger()), ledgerState(inOrder.ledger()); !slices.Equal(got, want) {
				t.Errorf("ledger differs from in-order:\n got %q\nwant %q", got, want)
			}
			for _, name := range []string{authorList, reviewerList} {
				got, want := h.run(name, hHead), inOrder.run(name, hHead)
				if got.Conclusion != want.Conclusion || got.Title != want.Title || got.Summary != want.Summary {
					t.Errorf("%s differs from in-order:\n got %s %q\n%s\nwant %s %q\n%s", name,
						got.Conclusion, got.Title, got.Summary, want.Conclusion, want.Title, want.Summary)
				}
			}
		})
	}
}

// ledgerState renders ledger records for comparison.
func ledgerState(recs []store.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s v%d %s", r.SK, r.Version, r.Data))
	}
	return out
}

// TestScenarioConfig covers the repository configuration: broken, missing,
// cached by ETag, skip_authors and branches.
func TestScenarioConfig(t *testing.T) {
	t.Run("broken config fails every check with file and line", func(t *testing.T) {
		h := newHarness(t)
		h.setConfig("reset_reviewer_on_push: true\nreviewers_must_approve: yes\n")
		w := h.opened(prState{Body: body("xxxx", "xxxx"), At: t0})
		mustOK(t, w) // the repository's mistake, not a server error
		for _, name := range []string{authorList, reviewerList} {
			wantRun(t, h.run(name, hHead), "failure", "checkoff.yml is invalid", ".github/checkoff.yml:2:", "reviewers_must_approve")
		}
	})
	t.Run("a checklist may not take the release gate's name", func(t *testing.T) {
		h := newHarness(t)
		h.setConfig("checklists:\n  - name: release gate\n    items:\n      - Shipped\n")
		mustOK(t, h.opened(prState{Body: "## release gate\n\n- [x] Shipped\n", At: t0}))
		for _, name := range []string{authorList, reviewerList} {
			wantRun(t, h.run(name, hHead), "failure", "checkoff.yml is invalid", `"release gate" is reserved`)
		}
		if r, ok := h.latest("release gate", hHead); ok {
			t.Errorf("a check run named like the gate's was posted: %+v", r)
		}
	})
	t.Run("missing config means defaults", func(t *testing.T) {
		h := newHarness(t)
		mustOK(t, h.opened(prState{Body: body("xxxx", "...."), At: t0}))
		wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked")
		wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
	})
	t.Run("config is fetched again with If-None-Match", func(t *testing.T) {
		h := newHarness(t)
		h.setConfig("incomplete_conclusion: action_required\n")
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		wantRun(t, h.run(reviewerList, hHead), "action_required", "Reviewer Checklist: 0 of 4 ticked")
		s2 := prState{Body: body("xxxx", "x..."), At: t0.Add(time.Minute)}
		mustOK(t, h.edited(hReviewer, s.Body, s2))
		var got []string
		for _, c := range h.gh.Calls() {
			if c.OperationID == "repos/get-content" {
				got = append(got, fmt.Sprintf("conditional=%v %d", c.Conditional, c.Status))
			}
		}
		if want := []string{"conditional=false 200", "conditional=true 304"}; !slices.Equal(got, want) {
			t.Errorf("config reads %q, want %q", got, want)
		}
		wantRun(t, h.run(reviewerList, hHead), "action_required", "Reviewer Checklist: 1 of 4 ticked")
	})
	t.Run("skip_authors", func(t *testing.T) {
		h := newHarness(t)
		h.setConfig("skip_authors: [" + hAuthor + "]\n")
		mustOK(t, h.opened(prState{Body: "no checklist at all", At: t0}))
		for _, name := range []string{authorList, reviewerList} {
			wantRun(t, h.run(name, hHead), "success", "skipped", "@"+hAuthor+" is in skip_authors")
		}
	})
	t.Run("base branch outside branches", func(t *testing.T) {
		h := newHarness(t)
		h.setConfig("branches: [main, master]\n")
		mustOK(t, h.opened(prState{Body: body("....", "...."), At: t0}))
		for _, name := range []string{authorList, reviewerList} {
			wantRun(t, h.run(name, hHead), "neutral", "not enforced on "+hBase, "main, master")
		}
	})
}

// TestScenarioNoOpEdits: an edit outside the checklists costs GitHub
// nothing; one that changes boxes outside them but no result reads the
// config and writes nothing.
func TestScenarioNoOpEdits(t *testing.T) {
	h := newHarness(t)
	s := prState{Body: body("xxxx", "x..."), At: t0}
	mustOK(t, h.opened(s))
	before := len(h.gh.CheckRuns(hRepo))

	h.gh.ResetCalls()
	s2 := prState{Body: bodyWith("Adds a CSV export of the invoice log (finance asked for it).", "xxxx", "x..."), At: t0.Add(time.Minute)}
	mustOK(t, h.edited(hReviewer, s.Body, s2))
	if calls := h.gh.Calls(); len(calls) != 0 {
		t.Errorf("text-only edit made %d GitHub calls: %v", len(calls), h.calls().ops)
	}

	// A to-do list outside the checklists gains a ticked box: the config
	// must be read to know that, but no result changes.
	s3 := prState{Body: "- [x] tell finance\r\n" + s2.Body, At: t0.Add(2 * time.Minute)}
	mustOK(t, h.edited(hReviewer, s2.Body, s3))
	if c := h.calls(); c.writes != 0 || c.reads != 2 {
		t.Errorf("edit with no result change: calls %v, want the config read (repository, then shared)", c.ops)
	}
	if n := len(h.gh.CheckRuns(hRepo)); n != before {
		t.Errorf("check runs %d -> %d", before, n)
	}

	// The edit of a title (no changes.body) is not even looked at.
	mustOK(t, h.deliver("pull_request", h.prPayload("edited", hAuthor, prState{Body: s3.Body, At: t0.Add(3 * time.Minute)}, func(p map[string]any) {
		githubtest.Set(p, "changes", map[string]any{"title": map[string]any{"from": "Old title"}})
	})))
	if c := h.calls(); c.writes != 0 || c.reads != 2 {
		t.Errorf("title edit: calls %v", c.ops)
	}
}

// TestScenarioGitHubFailures: transient GitHub failures on check-run
// creation are retried inside the delivery's budget; persistent ones answer
// 500 so the delivery can be redelivered.
func TestScenarioGitHubFailures(t *testing.T) {
	for name, fault := range map[string]githubtest.Fault{
		"502":                  githubtest.ServerError(502),
		"429 with reset":       githubtest.RateLimit(429, time.Now().Add(time.Second)),
		"secondary rate limit": githubtest.SecondaryRateLimit(time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.gh.FailNext("checks/create", 2, fault)
			start := time.Now()
			mustOK(t, h.opened(prState{Body: body("xxxx", "...."), At: t0}))
			if took := time.Since(start); took > webhook.DefaultTimeout {
				t.Errorf("took %v, beyond the delivery budget", took)
			}
			if n := h.gh.Count("checks/create"); n != 4 {
				t.Errorf("checks/create attempts = %d, want 2 faulted + 2", n)
			}
			wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked")
			wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
		})
	}
	t.Run("persistent 5xx", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.gh.SetFault(func(c githubtest.Call, _ *http.Request) *githubtest.Fault {
			if c.OperationID == "checks/create" {
				f := githubtest.ServerError(503)
				return &f
			}
			return nil
		})
		s := prState{Body: body("xxxx", "...."), At: t0}
		h.setPull(s)
		payload := h.prPayload("opened", hAuthor, s, nil)
		if w := h.deliverID("pull_request", "d-503", payload); w.Code != http.StatusInternalServerError {
			t.Fatalf("answer %d, want 500", w.Code)
		}
		if n := h.gh.Count("checks/create"); n < 2 || n > 5 {
			t.Errorf("checks/create attempts = %d, want bounded retries", n)
		}
		if _, ok := h.latest(authorList, hHead); ok {
			t.Fatal("a check run exists though every create failed")
		}
		h.gh.SetFault(nil)
		mustOK(t, h.deliverID("pull_request", "d-503", payload))
		wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked")
	})
}

// TestScenarioRecheck: check_run rerequested, the Re-check button and
// check_suite rerequested fetch the pull request and post fresh runs.
func TestScenarioRecheck(t *testing.T) {
	for _, fixture := range []string{"check_run.rerequested", "check_run.requested_action", "check_suite.rerequested"} {
		t.Run(fixture, func(t *testing.T) {
			h := newHarness(t)
			// The ledger knows the reviewer ticked the first box; the PR now
			// sits at the new head, where no run exists yet.
			s := prState{Body: body("xxxx", "...."), At: t0}
			mustOK(t, h.opened(s))
			mustOK(t, h.edited(hReviewer, s.Body, prState{Body: body("xxxx", "x..."), At: t0.Add(time.Minute)}))
			h.setPull(prState{Body: body("xxxx", "x..."), Head: hNewHead, At: t0.Add(2 * time.Minute)})
			h.gh.ResetCalls()
			mustOK(t, h.deliver(githubtest.Event(fixture), githubtest.Payload(t, fixture, nil)))
			if n := h.gh.Count("pulls/get"); n != 1 {
				t.Errorf("pulls/get = %d, want 1", n)
			}
			wantRun(t, h.run(reviewerList, hNewHead), "failure", "Reviewer Checklist: 1 of 4 ticked", "ticked by @"+hReviewer)
			wantRun(t, h.run(authorList, hNewHead), "success", "Author Checklist: 4 of 4 ticked")
		})
	}
	t.Run("other requested action", func(t *testing.T) {
		h := newHarness(t)
		mustOK(t, h.deliver("check_run", githubtest.Payload(t, "check_run.requested_action", func(p map[string]any) {
			githubtest.Set(p, "requested_action.identifier", "something-else")
		})))
		if n := len(h.gh.Calls()); n != 0 {
			t.Errorf("unknown action made %d calls", n)
		}
	})
	// GitHub sets a re-run check's suite back to queued until the App
	// posts, so a closed or merged PR's re-run is answered too; a merged
	// one's verdict is recorded as well.
	t.Run("closed unmerged pull request", func(t *testing.T) {
		h := newHarness(t)
		pr := githubtest.PullRequest{Number: hPR, User: hAuthor, Body: body("....", "...."), BaseRef: hBase, HeadSHA: hNewHead, State: "closed"}
		h.gh.SetPull(hRepo, pr)
		mustOK(t, h.deliver("check_run", githubtest.Payload(t, "check_run.rerequested", nil)))
		wantRun(t, h.run(authorList, hNewHead), "failure", "Author Checklist: 0 of 4 ticked")
		wantRun(t, h.run(reviewerList, hNewHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
	})
	t.Run("merged pull request", func(t *testing.T) {
		h := newHarness(t)
		pr := githubtest.PullRequest{Number: hPR, User: hAuthor, Body: body("xxxx", "...."), BaseRef: hBase, HeadSHA: hNewHead,
			State: "closed", Merged: true, MergeCommitSHA: hMerge, MergedAt: t0, UpdatedAt: t0}
		h.gh.SetPull(hRepo, pr)
		mustOK(t, h.deliver("check_run", githubtest.Payload(t, "check_run.rerequested", nil)))
		// Ticked before any delivery reached checkoff: no record, no count.
		wantRun(t, h.run(authorList, hNewHead), "failure", "Author Checklist: 0 of 4 ticked", "untick and tick again")
		wantRun(t, h.run(reviewerList, hNewHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
		v, err := verdict.Get(context.Background(), h.st, hOwner, hName, hMerge)
		if err != nil || v.Complete || v.PR != hPR {
			t.Errorf("verdict after re-running a merged PR's check = %+v, %v; want #%d, incomplete", v, err, hPR)
		}
	})
}

// TestScenarioMergeGroup: a merge queue's checks_requested is answered
// with the real judgement of the pull request in the group, on the group's
// head. Before, every checklist got a blanket success that stayed on the
// commit once it landed.
func TestScenarioMergeGroup(t *testing.T) {
	group := func(h *harness) map[string]githubtest.CheckRun {
		h.t.Helper()
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hGroupSHA, Parents: []string{githubtest.FixtureBaseSHA}})
		mustOK(h.t, h.deliver("merge_group", githubtest.Payload(h.t, "merge_group.checks_requested", nil)))
		runs := h.runsOn(hGroupSHA)
		if len(runs) != 2 {
			h.t.Fatalf("runs on the group head: %v", runs)
		}
		return runs
	}
	t.Run("not checked off", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		runs := group(h)
		wantRun(t, runs[authorList], "success", "merge queue: Author Checklist: 4 of 4 ticked", "#12")
		wantRun(t, runs[reviewerList], "failure", "merge queue: Reviewer Checklist: 0 of 4 ticked", "#12")
	})
	t.Run("checked off", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		mustOK(t, h.edited(hReviewer, s.Body, prState{Body: body("xxxx", "xxxx"), At: t0.Add(time.Minute)}))
		runs := group(h)
		for _, name := range []string{authorList, reviewerList} {
			wantRun(t, runs[name], "success", "", "#12")
		}
	})
	t.Run("unknown pull request", func(t *testing.T) {
		h := newHarness(t)
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hGroupSHA, Parents: []string{githubtest.FixtureBaseSHA}})
		mustOK(t, h.deliver("merge_group", githubtest.Payload(t, "merge_group.checks_requested", func(p map[string]any) {
			githubtest.Set(p, "merge_group.head_ref", "refs/heads/gh-readonly-queue/dev/something-else")
		})))
		for _, name := range []string{authorList, reviewerList} {
			wantRun(t, h.runsOn(hGroupSHA)[name], "failure", "merge queue: pull request unknown")
		}
	})
}

// TestScenarioOwnBotIgnored: checkoff never reacts to its own events.
func TestScenarioOwnBotIgnored(t *testing.T) {
	h := newHarness(t)
	s := prState{Body: body("xxxx", "xxxx"), At: t0}
	for _, p := range [][]byte{
		h.prPayload("edited", hBot, s, func(p map[string]any) {
			githubtest.Set(p, "changes", map[string]any{"body": map[string]any{"from": body("....", "....")}})
		}),
		h.prPayload("opened", hBot, s, nil),
	} {
		w := h.deliver("pull_request", p)
		mustOK(t, w)
		if got := strings.TrimSpace(w.Body.String()); got != "ignored: own event" {
			t.Errorf("answer %q", got)
		}
	}
	if n := len(h.gh.Calls()); n != 0 {
		t.Errorf("own events made %d GitHub calls", n)
	}
	if recs := h.ledger(); len(recs) != 0 {
		t.Errorf("own events wrote the ledger: %v", ledgerState(recs))
	}
}

// TestScenarioSweep: the sweeper redelivers exactly the deliveries that
// failed server-side, recently, and were not delivered since, bounded per
// run.
func TestScenarioSweep(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	t.Run("which deliveries", func(t *testing.T) {
		h := newHarness(t)
		add := func(guid string, code int, ago time.Duration) githubtest.Delivery {
			return h.gh.AddDelivery(githubtest.Delivery{GUID: guid, StatusCode: code, DeliveredAt: now.Add(-ago), Action: "edited"})
		}
		failed := add("guid-failed", 502, 10*time.Minute)
		add("guid-recovered", 500, 20*time.Minute)
		add("guid-recovered", 200, 5*time.Minute)
		add("guid-rejected", 400, 3*time.Minute)
		add("guid-unauthorized", 401, 3*time.Minute)
		add("guid-old", 503, 48*time.Hour)
		add("guid-unreachable", 0, 40*time.Minute)
		unreachable := add("guid-unreachable", 0, time.Minute) // the newest attempt is the one redelivered
		for i := range 5 {
			add("guid-hopeless", 500, time.Duration(30+i)*time.Minute)
		}
		add("guid-ok", 200, 2*time.Minute)

		res, err := app.Sweep(ctx, h.clients.App(), app.SweepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Redelivered != 2 || res.Failed != 3 || res.GaveUp != 1 {
			t.Errorf("result %+v, want 2 redelivered of 3 failed, 1 given up", res)
		}
		var got []string
		for _, c := range h.gh.Calls() {
			if c.OperationID == "apps/redeliver-webhook-delivery" {
				got = append(got, c.Path)
			}
		}
		want := []string{
			fmt.Sprintf("/app/hook/deliveries/%d/attempts", unreachable.ID),
			fmt.Sprintf("/app/hook/deliveries/%d/attempts", failed.ID),
		}
		if !slices.Equal(got, want) {
			t.Errorf("redelivered %q, want %q", got, want)
		}
		// The redeliveries succeeded, so the next sweep has nothing to do.
		h.gh.ResetCalls()
		res, err = app.Sweep(ctx, h.clients.App(), app.SweepOptions{})
		if err != nil || res.Redelivered != 0 {
			t.Errorf("second sweep %+v, %v", res, err)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		h := newHarness(t)
		for i := range 150 {
			h.gh.AddDelivery(githubtest.Delivery{StatusCode: 502, DeliveredAt: now.Add(-time.Duration(i) * time.Second)})
		}
		res, err := app.Sweep(ctx, h.clients.App(), app.SweepOptions{MaxPages: 1, MaxRedeliveries: 7})
		if err != nil {
			t.Fatal(err)
		}
		if res.Scanned != 100 || res.Redelivered != 7 || h.gh.Count("apps/redeliver-webhook-delivery") != 7 ||
			h.gh.Count("apps/list-webhook-deliveries") != 1 {
			t.Errorf("result %+v, calls %v", res, h.calls().ops[:3])
		}
		h.gh.ResetCalls()
		res, err = app.Sweep(ctx, h.clients.App(), app.SweepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Scanned != 157 || res.Redelivered != 25 || h.gh.Count("apps/list-webhook-deliveries") != 2 {
			t.Errorf("default bounds: result %+v", res)
		}
	})
}

// TestScenarioLambda: a signed pull_request opened, wrapped the way API
// Gateway HTTP API v2 and a Function URL pass it to the function, posts the
// check runs through the same dispatcher.
func TestScenarioLambda(t *testing.T) {
	for name, file := range map[string]string{
		"API Gateway v2, plain body": "apigw-v2-webhook.json",
		"Function URL, base64 body":  "function-url-webhook.json",
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			s := prState{Body: body("xxxx", "...."), At: t0}
			h.setPull(s)
			ev := httpEvent(t, file, "pull_request", "d-lambda", h.prPayload("opened", hAuthor, s, nil), testSecret)
			out, err := (&webhook.Lambda{HTTP: h.d}).Invoke(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("response %s (%v)", out, err)
			}
			wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked")
			wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
		})
	}
}

// TestScenarioDryRun: without App credentials the check runs are printed,
// one JSON object a line, in the shape of the GitHub request body.
func TestScenarioDryRun(t *testing.T) {
	var out bytes.Buffer
	dry := &app.DryRun{Out: &out, Writers: []string{hReviewer}}
	h := newHarness(t, func(o *harnessOptions) { o.dryRun = dry })
	s := prState{Body: body("xxxx", "...."), At: t0}
	mustOK(t, h.deliver("pull_request", h.prPayload("opened", hAuthor, s, nil)))
	mustOK(t, h.edited(hReviewer, s.Body, prState{Body: body("xxxx", "xx.."), At: t0.Add(time.Minute)}))
	if n := len(h.gh.Calls()); n != 0 {
		t.Errorf("dry-run made %d GitHub calls", n)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("printed %d lines, want 2 per delivery:\n%s", len(lines), out.String())
	}
	type printed struct {
		DryRun string                       `json:"dry_run"`
		Body   github.CreateCheckRunOptions `json:"body"`
	}
	last := map[string]github.CreateCheckRunOptions{}
	for _, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var p printed
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		if p.DryRun != "POST /repos/"+hRepo+"/check-runs" || p.Body.HeadSHA != hHead || p.Body.GetStatus() != "completed" {
			t.Errorf("line %s", line)
		}
		last[p.Body.Name] = p.Body
	}
	if got := last[reviewerList]; got.GetConclusion() != "failure" || got.GetOutput().GetTitle() != "Reviewer Checklist: 2 of 4 ticked" ||
		len(got.Actions) != 1 || got.Actions[0].Identifier != app.RecheckAction {
		t.Errorf("reviewer run %+v", got)
	}
	if got := last[authorList]; got.GetConclusion() != "success" {
		t.Errorf("author run %+v", got)
	}
}

// TestScenarioWhoTicks covers ticks that must not count beyond the main
// story: a user GitHub does not know as a collaborator, a bot, and a
// reviewer's approval withdrawn or edited.
func TestScenarioWhoTicks(t *testing.T) {
	its := items(reviewerList)
	t.Run("not a collaborator", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		mustOK(t, h.edited("mallory-drive-by", s.Body, prState{Body: body("xxxx", "x..."), At: t0.Add(time.Minute)}))
		if line := itemLine(t, h.run(reviewerList, hHead), its[0]); !strings.Contains(line, "who lacks write access") {
			t.Errorf("outsider tick: %q", line)
		}
	})
	t.Run("bot", func(t *testing.T) {
		h := newHarness(t)
		h.gh.SetPermission(hRepo, "renovate[bot]", "write")
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		mustOK(t, h.edited("renovate[bot]", s.Body, prState{Body: body("xxxx", "x..."), At: t0.Add(time.Minute)}))
		if line := itemLine(t, h.run(reviewerList, hHead), its[0]); !strings.Contains(line, "a bot") {
			t.Errorf("bot tick: %q", line)
		}
		if n := h.gh.Count("repos/get-collaborator-permission-level"); n != 0 {
			t.Errorf("asked GitHub for a bot's permission %d times", n)
		}
	})
	reviewBody := func(ticks string) string {
		rb := "LGTM\r\n\r\n## Reviewer Checklist\r\n"
		for i, it := range its {
			box := " "
			if ticks[i] == 'x' {
				box = "x"
			}
			rb += "- [" + box + "] " + it + "\r\n"
		}
		return rb
	}
	// approve delivers the review with these ticks, as GitHub then holds it.
	approve := func(h *harness, action string, ticks string, at time.Time, s prState) {
		rb := reviewBody(ticks)
		h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: "APPROVED", Body: rb, SubmittedAt: at})
		mustOK(h.t, h.deliver("pull_request_review", h.reviewPayload(action, hReviewer, "approved", rb, at, s)))
	}
	t.Run("approval dismissed", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		approve(h, "submitted", "xxxx", t0.Add(time.Minute), s)
		wantRun(t, h.run(reviewerList, hHead), "success", "Reviewer Checklist: 4 of 4 ticked")
		mustOK(t, h.deliver("pull_request_review", h.reviewPayload("dismissed", hReviewer, "dismissed", "", t0.Add(time.Minute), s)))
		wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
	})
	t.Run("approval edited to untick", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		approve(h, "submitted", "xxxx", t0.Add(time.Minute), s)
		wantRun(t, h.run(reviewerList, hHead), "success", "Reviewer Checklist: 4 of 4 ticked")
		// GitHub keeps submitted_at when a review is edited.
		approve(h, "edited", "xx.x", t0.Add(time.Minute), s)
		rv := h.run(reviewerList, hHead)
		wantRun(t, rv, "failure", "Reviewer Checklist: 3 of 4 ticked")
		if line := itemLine(t, rv, its[2]); !strings.Contains(line, "⬜") {
			t.Errorf("unticked in the edited review: %q", line)
		}
		// Ticking it again in a later edit counts again.
		approve(h, "edited", "xxxx", t0.Add(time.Minute), s)
		wantRun(t, h.run(reviewerList, hHead), "success", "Reviewer Checklist: 4 of 4 ticked")
	})
	// Two quick edits delivered in the wrong order (or the first one
	// redelivered): the review's current body decides, not the payload's.
	t.Run("approval edits out of order", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		approve(h, "submitted", "xxxx", t0.Add(time.Minute), s)
		tickAll := h.reviewPayload("edited", hReviewer, "approved", reviewBody("xxxx"), t0.Add(time.Minute), s)
		approve(h, "edited", "xx.x", t0.Add(time.Minute), s) // the later edit, handled first
		wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 3 of 4 ticked")
		mustOK(t, h.deliver("pull_request_review", tickAll)) // the earlier edit, late
		rv := h.run(reviewerList, hHead)
		wantRun(t, rv, "failure", "Reviewer Checklist: 3 of 4 ticked")
		if line := itemLine(t, rv, its[2]); !strings.Contains(line, "⬜") {
			t.Errorf("a late edit brought back a box unticked since: %q", line)
		}
	})
	t.Run("approval edited after its dismissal", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		approve(h, "submitted", "xxxx", t0.Add(time.Minute), s)
		h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: "DISMISSED", Body: reviewBody("xxxx"), SubmittedAt: t0.Add(time.Minute)})
		mustOK(t, h.deliver("pull_request_review", h.reviewPayload("edited", hReviewer, "approved", reviewBody("xxxx"), t0.Add(time.Minute), s)))
		wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
	})
	// A dismissal takes back the review dismissed, not a later approval.
	t.Run("older approval dismissed", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		approve(h, "submitted", "xxxx", t0.Add(time.Minute), s)
		h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview + 1, User: hReviewer, State: "APPROVED", Body: reviewBody("xxxx"), SubmittedAt: t0.Add(2 * time.Minute)})
		mustOK(t, h.deliver("pull_request_review", h.reviewPayload("submitted", hReviewer, "approved", reviewBody("xxxx"), t0.Add(2*time.Minute), s, func(p map[string]any) {
			githubtest.Set(p, "review.id", githubtest.FixtureReview+1)
		})))
		mustOK(t, h.deliver("pull_request_review", h.reviewPayload("dismissed", hReviewer, "dismissed", "", t0.Add(time.Minute), s)))
		wantRun(t, h.run(reviewerList, hHead), "success", "Reviewer Checklist: 4 of 4 ticked")
	})
}

// TestScenarioBaseChange: retargeting a pull request re-evaluates it
// against the new base: a PR opened against a branch that is not enforced
// (neutral, which branch protection treats as passing) must not stay
// neutral once it targets an enforced branch.
func TestScenarioBaseChange(t *testing.T) {
	h := newHarness(t)
	h.setConfig("branches: [main]\n")
	h.gh.SetFile(hRepo, "main", configFile, "branches: [main]\n")
	h.gh.SetBranch(hRepo, "main", githubtest.FixtureBaseSHA)
	s := prState{Body: body("xxxx", "...."), At: t0}
	mustOK(t, h.opened(s))
	wantRun(t, h.run(reviewerList, hHead), "neutral", "not enforced on dev")
	mustOK(t, h.deliver("pull_request", h.prPayload("edited", hAuthor, prState{Body: s.Body, At: t0.Add(time.Minute)}, func(p map[string]any) {
		githubtest.Set(p, "pull_request.base.ref", "main")
		githubtest.Set(p, "changes", map[string]any{"base": map[string]any{
			"ref": map[string]any{"from": hBase}, "sha": map[string]any{"from": githubtest.FixtureBaseSHA}}})
	})))
	wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
	wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked")
}

// TestScenarioEditAfterMerge: a box ticked after the merge updates the
// verdict (the release gate reads the newest) and posts nothing.
func TestScenarioEditAfterMerge(t *testing.T) {
	h := newHarness(t)
	s := prState{Body: body("xxxx", "xxx."), At: t0}
	mustOK(t, h.opened(s))
	s1 := prState{Body: body("xxxx", "xxx."), At: t0.Add(time.Minute), Merged: true}
	h.setPull(s1)
	// The reviewer ticks the first three boxes before the merge.
	mustOK(t, h.edited(hReviewer, body("xxxx", "...."), prState{Body: s.Body, At: t0.Add(30 * time.Second)}))
	mustOK(t, h.deliver("pull_request", h.prPayload("closed", hReviewer, s1, nil)))
	ctx := context.Background()
	if v, err := verdict.Get(ctx, h.st, hOwner, hName, hMerge); err != nil || v.Complete {
		t.Fatalf("verdict at merge = %+v, %v; want incomplete", v, err)
	}
	runs := len(h.gh.CheckRuns(hRepo))
	s2 := prState{Body: body("xxxx", "xxxx"), At: t0.Add(2 * time.Minute), Merged: true}
	h.setPull(s2)
	mustOK(t, h.deliver("pull_request", h.prPayload("edited", hReviewer, s2, func(p map[string]any) {
		githubtest.Set(p, "changes", map[string]any{"body": map[string]any{"from": s1.Body}})
		githubtest.Set(p, "pull_request.merged", true)
		githubtest.Set(p, "pull_request.state", "closed")
		githubtest.Set(p, "pull_request.merge_commit_sha", hMerge)
	})))
	v, err := verdict.Get(ctx, h.st, hOwner, hName, hMerge)
	if err != nil || !v.Complete || !slices.Equal(v.Reviewers, []string{hReviewer}) {
		t.Errorf("verdict after the late tick = %+v, %v; want complete", v, err)
	}
	if n := len(h.gh.CheckRuns(hRepo)); n != runs {
		t.Errorf("check runs posted after the merge: %d -> %d", runs, n)
	}
}

// TestScenarioFailuresStillRecordWhatTakesCountsAway: a push and a review
// dismissal are what stop reviewer ticks from counting, so they are
// recorded before the config read, and a delivery that then fails (GitHub
// refuses the config read) still leaves them in the ledger: the next
// evaluation does not count the ticks they took away.
func TestScenarioFailuresStillRecordWhatTakesCountsAway(t *testing.T) {
	refuseConfig := func(h *harness) {
		h.gh.FailNext("repos/get-content", 1, githubtest.Fault{Status: http.StatusForbidden, Body: `{"message":"Resource not accessible by integration"}`})
	}
	recheck := func(h *harness) {
		mustOK(h.t, h.deliver("check_run", githubtest.Payload(h.t, "check_run.rerequested", nil)))
	}
	t.Run("push", func(t *testing.T) {
		h := newHarness(t)
		h.setConfig("reset_reviewer_on_push: true\n")
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		s1 := prState{Body: body("xxxx", "xx.."), At: t0.Add(time.Minute)}
		mustOK(t, h.edited(hReviewer, s.Body, s1))
		wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 2 of 4 ticked")

		s2 := prState{Body: s1.Body, Head: hNewHead, At: t0.Add(2 * time.Minute)}
		h.setPull(s2)
		refuseConfig(h)
		if w := h.deliver("pull_request", h.prPayload("synchronize", hAuthor, s2, nil)); w.Code != http.StatusInternalServerError {
			t.Fatalf("synchronize with the config refused: %d, want 500", w.Code)
		}
		recheck(h)
		wantRun(t, h.run(reviewerList, hNewHead), "failure", "Reviewer Checklist: 0 of 4 ticked", "before the latest push")
	})
	t.Run("dismissal", func(t *testing.T) {
		h := newHarness(t)
		s := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s))
		reviewAt := t0.Add(time.Minute)
		s.At = reviewAt
		h.setPull(s)
		h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: "APPROVED", SubmittedAt: reviewAt})
		rb := "LGTM\r\n\r\n## Reviewer Checklist\r\n"
		for _, it := range items(reviewerList) {
			rb += "- [x] " + it + "\r\n"
		}
		mustOK(t, h.deliver("pull_request_review", h.reviewPayload("submitted", hReviewer, "approved", rb, reviewAt, s)))
		wantRun(t, h.run(reviewerList, hHead), "success", "Reviewer Checklist: 4 of 4 ticked")

		s.At = t0.Add(2 * time.Minute)
		h.setPull(s)
		refuseConfig(h)
		if w := h.deliver("pull_request_review", h.reviewPayload("dismissed", hReviewer, "dismissed", rb, reviewAt, s)); w.Code != http.StatusInternalServerError {
			t.Fatalf("dismissal with the config refused: %d, want 500", w.Code)
		}
		recheck(h)
		wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
	})
}
