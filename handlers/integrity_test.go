package handlers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// The adversarial scenarios of issue #9: each tries to get a green
// checklist or a complete merge verdict without the right people, through
// the whole stack (signed deliveries → Dispatcher → App → fake GitHub), and
// is named for the attack. docs/reliability.md's threat model lists them.

// reviewerBody is the default body with the author's boxes ticked and the
// Reviewer Checklist's items rewritten by mark (one function per item).
func reviewerBody(mark ...func(string) string) string {
	b := body("xxxx", "....")
	for i, it := range items(reviewerList) {
		if i < len(mark) && mark[i] != nil {
			b = strings.Replace(b, "- [ ] "+it+"\r\n", mark[i](it)+"\r\n", 1)
		}
	}
	return b
}

func na(it string) string        { return "- [ ] N/A: " + it }
func postMerge(it string) string { return "- [ ] POST-MERGE: " + it }
func struck(it string) string    { return "- [ ] ~~" + it + "~~" }
func ticked(it string) string    { return "- [x] " + it }

// TestAttackAuthorWaivesReviewerItems: the author marks three Reviewer
// Checklist items optional (N/A, POST-MERGE, strike-through) and a writer
// ticks the fourth. Before the fix the check was green "1 of 1" and the
// merge verdict complete: a waiver counts only when made by someone the
// checklist admits.
func TestAttackAuthorWaivesReviewerItems(t *testing.T) {
	h := newHarness(t)
	waived := reviewerBody(na, postMerge, struck)
	mustOK(t, h.opened(prState{Body: waived, At: t0}))
	s1 := prState{Body: reviewerBody(na, postMerge, struck, ticked), At: t0.Add(time.Minute)}
	mustOK(t, h.edited(hReviewer, waived, s1))
	rv := h.run(reviewerList, hHead)
	wantRun(t, rv, "failure", "Reviewer Checklist: 1 of 4 ticked")
	if line := itemLine(t, rv, items(reviewerList)[0]); !strings.Contains(line, "marked optional by @\u200b"+hAuthor+", the author") {
		t.Errorf("author's waiver: %q", line)
	}

	// Merged as it stands: the verdict holds the release.
	s2 := prState{Body: s1.Body, At: t0.Add(2 * time.Minute), Merged: true}
	h.setPull(s2)
	mustOK(t, h.deliver("pull_request", h.prPayload("closed", hReviewer, s2, nil)))
	if v, err := verdict.Get(context.Background(), h.st, hOwner, hName, hMerge); err != nil || v.Complete {
		t.Fatalf("verdict = %+v, %v; want incomplete", v, err)
	}
}

// TestAttackWaiverBySomeoneElse: waivers by a reader, and un-waiving, are
// recorded like ticks; a reviewer's own waivers plus ticks pass.
func TestAttackWaiverBySomeoneElse(t *testing.T) {
	t.Run("a reviewer's own waivers and ticks pass", func(t *testing.T) {
		h := newHarness(t)
		s0 := prState{Body: reviewerBody(), At: t0}
		mustOK(t, h.opened(s0))
		s1 := prState{Body: reviewerBody(na, struck, ticked, ticked), At: t0.Add(time.Minute)}
		mustOK(t, h.edited(hReviewer, s0.Body, s1))
		rv := h.run(reviewerList, hHead)
		wantRun(t, rv, "success", "Reviewer Checklist: 2 of 2 ticked")
		if line := itemLine(t, rv, items(reviewerList)[0]); !strings.Contains(line, "_(optional)_ — marked optional by @"+hReviewer) {
			t.Errorf("reviewer's waiver: %q", line)
		}
		// The author takes a waiver back and makes it again: now it is
		// the author's, and does not count.
		s2 := prState{Body: reviewerBody(nil, struck, ticked, ticked), At: t0.Add(2 * time.Minute)}
		mustOK(t, h.edited(hAuthor, s1.Body, s2))
		s3 := prState{Body: s1.Body, At: t0.Add(3 * time.Minute)}
		mustOK(t, h.edited(hAuthor, s2.Body, s3))
		wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 2 of 3 ticked")
	})
	t.Run("a reader's waiver", func(t *testing.T) {
		h := newHarness(t)
		s0 := prState{Body: reviewerBody(nil, ticked, ticked, ticked), At: t0}
		mustOK(t, h.opened(prState{Body: reviewerBody(), At: t0}))
		mustOK(t, h.edited(hReviewer, reviewerBody(), s0))
		s1 := prState{Body: reviewerBody(na, ticked, ticked, ticked), At: t0.Add(time.Minute)}
		mustOK(t, h.edited(hReader, s0.Body, s1))
		if line := itemLine(t, h.run(reviewerList, hHead), items(reviewerList)[0]); !strings.Contains(line, "who lacks write access") {
			t.Errorf("reader's waiver: %q", line)
		}
	})
}

// TestAttackLateSubmittedAfterDismissal: the dismissal of an approving
// review is delivered before the review's own "submitted". Before the fix
// the late "submitted" ticked the Reviewer Checklist from a dismissed
// review.
func TestAttackLateSubmittedAfterDismissal(t *testing.T) {
	for name, githubSays := range map[string]string{"GitHub lists it dismissed": "DISMISSED", "GitHub's list is behind": "APPROVED"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			s := prState{Body: body("xxxx", "...."), At: t0}
			mustOK(t, h.opened(s))
			rb := "LGTM\r\n\r\n## Reviewer Checklist\r\n"
			for _, it := range items(reviewerList) {
				rb += "- [x] " + it + "\r\n"
			}
			at := t0.Add(time.Minute)
			h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: githubSays, Body: rb, SubmittedAt: at})
			mustOK(t, h.deliver("pull_request_review", h.reviewPayload("dismissed", hReviewer, "dismissed", rb, at, s)))
			mustOK(t, h.deliver("pull_request_review", h.reviewPayload("submitted", hReviewer, "approved", rb, at, s)))
			wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
		})
	}
}

// TestAttackLateEditAfterRetarget: opened on dev (not enforced), retargeted
// to master (enforced), then an edit from before the retarget is
// delivered. Before the fix the late edit re-judged the PR on dev and left
// neutral (passing) checks; its own ticks must still count.
func TestAttackLateEditAfterRetarget(t *testing.T) {
	h := newHarness(t)
	h.setConfig("branches: [master]\n")
	h.gh.SetBranch(hRepo, "master", githubtest.FixtureBaseSHA)
	h.gh.SetFile(hRepo, "master", configFile, "branches: [master]\n")
	s0 := prState{Body: body("....", "...."), At: t0}
	mustOK(t, h.opened(s0))
	wantRun(t, h.run(reviewerList, hHead), "neutral", "not enforced on dev")

	late := prState{Body: body("xxxx", "...."), At: t0.Add(time.Minute)} // the author's edit, still on dev
	lateEdit := h.editPayload(hAuthor, s0.Body, late)
	retarget := h.prPayload("edited", hAuthor, prState{Body: late.Body, At: t0.Add(2 * time.Minute)}, func(p map[string]any) {
		githubtest.Set(p, "pull_request.base.ref", "master")
		githubtest.Set(p, "changes", map[string]any{"base": map[string]any{
			"ref": map[string]any{"from": hBase}, "sha": map[string]any{"from": githubtest.FixtureBaseSHA}}})
	})
	mustOK(t, h.deliver("pull_request", retarget))
	mustOK(t, h.deliver("pull_request", lateEdit))
	wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
	wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked")
}

// TestAttackMergedPRLoosensConfig: a PR rewrites .github/checkoff.yml to
// drop the Reviewer Checklist and is merged unreviewed. After the merge
// the base branch's tip holds its config; before the fix that config
// judged the merge complete and the release was approved.
func TestAttackMergedPRLoosensConfig(t *testing.T) {
	const loose = "checklists:\n  - name: Author Checklist\n    ticked_by: author\n"
	for name, merge := range map[string]githubtest.Commit{
		"merge commit": {SHA: hMerge, Parents: []string{githubtest.FixtureBaseSHA, hHead}, Committer: "web-flow", Verified: true},
		// A rebase merge lands the PR's commits on the base: the merge
		// commit's first parent is then one of them, holding the change.
		"rebase merge": {SHA: hMerge, Parents: []string{"7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"}, Committer: "web-flow", Verified: true},
	} {
		t.Run(name, func(t *testing.T) {
			g := newGateHarness(t)
			g.gh.AddCommit(hRepo, githubtest.Commit{SHA: "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a", Parents: []string{githubtest.FixtureBaseSHA}, Author: hAuthor})
			g.gh.AddCommit(hRepo, merge)
			g.gh.SetFile(hRepo, "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a", configFile, loose)
			s := prState{Body: body("xxxx", "...."), At: t0}
			mustOK(t, g.opened(s))
			wantRun(t, g.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked")
			// Merged by an admin past branch protection; dev now holds the
			// PR's config.
			g.setConfig(loose)
			mustOK(t, g.merge(prState{Body: s.Body, At: t0.Add(time.Minute), Merged: true}))
			v, err := verdict.Get(context.Background(), g.st, hOwner, hName, hMerge)
			if err != nil || v.Complete {
				t.Fatalf("verdict = %+v, %v; want incomplete under the config from before the merge", v, err)
			}
			for _, r := range g.cp.Results(gPipeline) {
				if r.Status == "Approved" {
					t.Fatalf("pipeline approved a merge its own config loosened: %+v", r)
				}
			}
			// A re-run of the Release Gate judges the same way.
			mustOK(t, g.deliver("check_run", gateRerun(t, hMerge, promotionRef(), nil)))
			if v, _ := verdict.Get(context.Background(), g.st, hOwner, hName, hMerge); v.Complete {
				t.Fatalf("re-run verdict complete under the merged config")
			}
		})
	}
}

// TestAttackTicksSurvivePush: by default a push resets reviewer ticks,
// waivers and approving reviews; GitHub's own "Update branch" merge does
// not, and a merge an author makes by hand does.
func TestAttackTicksSurvivePush(t *testing.T) {
	const updateSHA = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
	const baseTip = "b45eb45eb45eb45eb45eb45eb45eb45eb45eb45e"
	setup := func(t *testing.T) (*harness, prState) {
		h := newHarness(t)
		s0 := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s0))
		s1 := prState{Body: reviewerBody(na, ticked, ticked, ticked), At: t0.Add(time.Minute)}
		mustOK(t, h.edited(hReviewer, s0.Body, s1))
		wantRun(t, h.run(reviewerList, hHead), "success", "Reviewer Checklist: 3 of 3 ticked")
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: baseTip, Parents: []string{githubtest.FixtureBaseSHA}, Author: "dana-elsewhere"})
		h.gh.SetBranch(hRepo, hBase, baseTip)
		return h, s1
	}
	push := func(h *harness, head, who string, s prState) {
		h.t.Helper()
		s2 := prState{Body: s.Body, Head: head, At: t0.Add(2 * time.Minute)}
		h.setPull(s2)
		mustOK(h.t, h.deliver("pull_request", h.prPayload("synchronize", who, s2, func(p map[string]any) {
			githubtest.Set(p, "before", hHead)
			githubtest.Set(p, "after", head)
		})))
	}
	t.Run("a push resets ticks and waivers", func(t *testing.T) {
		h, s := setup(t)
		push(h, hNewHead, hAuthor, s)
		rv := h.run(reviewerList, hNewHead)
		wantRun(t, rv, "failure", "Reviewer Checklist: 0 of 4 ticked")
		if line := itemLine(t, rv, items(reviewerList)[0]); !strings.Contains(line, "before the latest push") {
			t.Errorf("waiver after the push: %q", line)
		}
	})
	t.Run("Update branch keeps them", func(t *testing.T) {
		h, s := setup(t)
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: updateSHA, Parents: []string{hHead, baseTip}, Author: hReviewer,
			Committer: "web-flow", Verified: true, Message: "Merge branch 'dev' into feature/invoice-csv-export"})
		push(h, updateSHA, hReviewer, s)
		wantRun(t, h.run(reviewerList, updateSHA), "success", "Reviewer Checklist: 3 of 3 ticked")
	})
	t.Run("a merge made by hand resets them", func(t *testing.T) {
		h, s := setup(t)
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: updateSHA, Parents: []string{hHead, baseTip}, Author: hAuthor,
			Message: "Merge branch 'dev' into feature/invoice-csv-export"})
		push(h, updateSHA, hAuthor, s)
		wantRun(t, h.run(reviewerList, updateSHA), "failure", "Reviewer Checklist: 0 of 4 ticked")
	})
	t.Run("an approval of an older commit", func(t *testing.T) {
		h := newHarness(t)
		s0 := prState{Body: body("xxxx", "...."), At: t0}
		mustOK(t, h.opened(s0))
		s1 := prState{Body: s0.Body, Head: hNewHead, At: t0.Add(time.Minute)}
		h.setPull(s1)
		mustOK(t, h.deliver("pull_request", h.prPayload("synchronize", hAuthor, s1, nil)))
		// A review of the old head, submitted after the push.
		rb := "LGTM\r\n\r\n## Reviewer Checklist\r\n"
		for _, it := range items(reviewerList) {
			rb += "- [x] " + it + "\r\n"
		}
		at := t0.Add(2 * time.Minute)
		h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: "APPROVED", Body: rb, CommitID: hHead, SubmittedAt: at})
		mustOK(t, h.deliver("pull_request_review", h.reviewPayload("submitted", hReviewer, "approved", rb, at, s1, func(p map[string]any) {
			githubtest.Set(p, "review.commit_id", hHead)
		})))
		rv := h.run(reviewerList, hNewHead)
		wantRun(t, rv, "failure", "Reviewer Checklist: 0 of 4 ticked")
		if line := itemLine(t, rv, items(reviewerList)[0]); !strings.Contains(line, "review of an older commit") {
			t.Errorf("stale approval: %q", line)
		}
	})
	t.Run("false keeps the old rule", func(t *testing.T) {
		h, s := setup(t)
		h.setConfig("reset_reviewer_on_push: false\n")
		push(h, hNewHead, hAuthor, s)
		// hNewHead's author is the PR's author: the reviewer stays independent.
		wantRun(t, h.run(reviewerList, hNewHead), "success", "Reviewer Checklist: 3 of 3 ticked")
	})
}

// TestAttackConfigRefNotEscaped: a base branch named release+1 was read as
// "release 1", got 404 and fell back to the defaults. The branch's own
// config must be read, as refs/heads/<name>.
func TestAttackConfigRefNotEscaped(t *testing.T) {
	for _, branch := range []string{"release+1", "feat#x", "hotfix/50%"} {
		t.Run(branch, func(t *testing.T) {
			h := newHarness(t)
			h.gh.SetBranch(hRepo, branch, githubtest.FixtureBaseSHA)
			h.gh.SetFile(hRepo, branch, configFile, "checklists:\n  - name: Security Checklist\n    ticked_by: reviewer\n")
			mustOK(t, h.deliver("pull_request", h.prPayload("opened", hAuthor, prState{Body: body("xxxx", "...."), At: t0}, func(p map[string]any) {
				githubtest.Set(p, "pull_request.base.ref", branch)
			})))
			wantRun(t, h.run("Security Checklist", hHead), "failure", `Security Checklist: section "Security Checklist" not found`)
			if _, ok := h.latest(authorList, hHead); ok {
				t.Errorf("judged under the defaults, not %s's config", branch)
			}
			for _, c := range h.gh.Calls() {
				if c.OperationID == "repos/get-content" && !strings.Contains(c.RawQuery, "ref=refs%2Fheads%2F") {
					t.Errorf("config read by %q, not as a full branch ref", c.RawQuery)
				}
			}
		})
	}
}

// TestAttackRecreatedRepoInheritsTicks: the ledger is keyed by repository
// ID, so a repository deleted and created again under the same name (a new
// ID) starts with no records, and a rename keeps them.
func TestAttackRecreatedRepoInheritsTicks(t *testing.T) {
	h := newHarness(t)
	s0 := prState{Body: body("xxxx", "...."), At: t0}
	mustOK(t, h.opened(s0))
	s1 := prState{Body: body("xxxx", "xxxx"), At: t0.Add(time.Minute)}
	mustOK(t, h.edited(hReviewer, s0.Body, s1))
	wantRun(t, h.run(reviewerList, hHead), "success", "Reviewer Checklist: 4 of 4 ticked")
	// The same name, a new repository: its #12 body says ticked, but
	// nobody ticked anything in it.
	recreated := func(p map[string]any) {
		githubtest.Set(p, "repository.id", githubtest.FixtureRepoID+1)
		githubtest.Set(p, "pull_request.base.repo.id", githubtest.FixtureRepoID+1)
		githubtest.Set(p, "pull_request.head.repo.id", githubtest.FixtureRepoID+1)
	}
	mustOK(t, h.deliver("pull_request", h.prPayload("reopened", hAuthor, prState{Body: s1.Body, At: t0.Add(2 * time.Minute)}, recreated)))
	wantRun(t, h.run(reviewerList, hHead), "failure", "Reviewer Checklist: 0 of 4 ticked", "no record of who ticked it")
}
