package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/githubtest"
	"github.com/checkoff-app/checkoff/app/store"
)

// reviewPayload builds pull_request_review submitted: who approved (or
// commented, per state) with reviewBody, on #12 in state s.
func (h *harness) reviewPayload(action, who, state, reviewBody string, at time.Time, s prState) []byte {
	h.t.Helper()
	return githubtest.Payload(h.t, "pull_request_review."+action, func(p map[string]any) {
		setPRFields(p, s)
		sender(p, who)
		githubtest.Set(p, "review.user.login", who)
		githubtest.Set(p, "review.state", state)
		githubtest.Set(p, "review.body", reviewBody)
		githubtest.Set(p, "review.submitted_at", stamp(at))
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
		"Items count only when ticked by a reviewer with write access who is not the author.")
	if line := itemLine(t, h.run(reviewerList, hHead), reviewerItems[0]); !strings.Contains(line, "⬜") || !strings.Contains(line, "not ticked") {
		t.Errorf("unticked reviewer item: %q", line)
	}
	c := h.calls()
	// Cold: an installation token, the config (absent: 404), two check runs.
	if c.checkRuns != 2 || h.gh.Count("apps/create-installation-access-token") != 1 ||
		h.gh.Count("repos/get-content") != 1 || h.gh.Count("repos/get-collaborator-permission-level") != 0 || c.writes != 3 {
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
	if line := itemLine(t, rv, reviewerItems[2]); !strings.Contains(line, "⚠️") || !strings.Contains(line, "ticked by the author") {
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

	// 5. The repository turns on reset_reviewer_on_push, then the author
	// pushes: the reviewer's ticks stop counting on the new head.
	h.setConfig("reset_reviewer_on_push: true\n")
	h.gh.ResetCalls()
	s = prState{Body: s.Body, Head: hNewHead, At: t0.Add(4 * time.Minute)}
	h.setPull(s)
	mustOK(t, h.deliver("pull_request", h.prPayload("synchronize", hAuthor, s, nil)))
	rv = h.run(reviewerList, hNewHead)
	wantRun(t, rv, "failure", "Reviewer Checklist: 0 of 4 ticked")
	for _, it := range reviewerItems[:2] {
		if line := itemLine(t, rv, it); !strings.Contains(line, "ticked before the latest push") {
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
	h.gh.SetReview(hRepo, hPR, githubtest.Review{User: hReviewer, State: "APPROVED", SubmittedAt: reviewAt})
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

	// 7. Merge: a verdict is recorded for the release gate; nothing posted.
	h.gh.ResetCalls()
	s.At = t0.Add(6 * time.Minute)
	s.Merged = true
	h.setPull(s)
	mustOK(t, h.deliver("pull_request", h.prPayload("closed", hReviewer, s, nil)))
	v, err := app.GetVerdict(ctx, h.st, hOwner, hName, hMerge)
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
	v, err := app.GetVerdict(context.Background(), h.st, hOwner, hName, hMerge)
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
