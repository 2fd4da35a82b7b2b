package handlers

import (
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// The independent-review scenarios of issue #14: people who wrote the
// change cannot tick its Reviewer Checklist.

// dave pushes commits to the PR's branch; erin is a writer who did not.
const (
	hCommitter = "dave-commits"
	hOutsider  = "erin-reviews"
	hCoHead    = "d00dd00dd00dd00dd00dd00dd00dd00dd00dd00d"
)

func newContribHarness(t *testing.T) (*harness, prState) {
	t.Helper()
	h := newHarness(t)
	h.gh.SetPermission(hRepo, hCommitter, "write")
	h.gh.SetPermission(hRepo, hOutsider, "write")
	s := prState{Body: body("xxxx", "...."), At: t0}
	mustOK(t, h.opened(s))
	return h, s
}

// pushBy delivers a synchronize by who, moving the head to head.
func (h *harness) pushBy(who, head string, s prState, at time.Time) prState {
	h.t.Helper()
	s2 := prState{Body: s.Body, Head: head, At: at}
	h.setPull(s2)
	mustOK(h.t, h.deliver("pull_request", h.prPayload("synchronize", who, s2, nil)))
	return s2
}

func TestContributorsCannotReview(t *testing.T) {
	its := items(reviewerList)
	t.Run("a second committer's ticks do not count", func(t *testing.T) {
		h, s := newContribHarness(t)
		// dave's commit lands on the branch (pushed by the author).
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hCoHead, Parents: []string{hHead}, Author: hCommitter})
		s = h.pushBy(hAuthor, hCoHead, s, t0.Add(time.Minute))
		s2 := prState{Body: body("xxxx", "xxxx"), Head: hCoHead, At: t0.Add(2 * time.Minute)}
		mustOK(t, h.edited(hCommitter, s.Body, s2))
		rv := h.run(reviewerList, hCoHead)
		wantRun(t, rv, "failure", "Reviewer Checklist: 0 of 4 ticked")
		if line := itemLine(t, rv, its[0]); !strings.Contains(line, hCommitter+", who contributed to this PR") {
			t.Errorf("committer's tick: %q", line)
		}
	})
	t.Run("a non-contributor writer's ticks count", func(t *testing.T) {
		h, s := newContribHarness(t)
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hCoHead, Parents: []string{hHead}, Author: hCommitter})
		s = h.pushBy(hAuthor, hCoHead, s, t0.Add(time.Minute))
		mustOK(t, h.edited(hOutsider, s.Body, prState{Body: body("xxxx", "xxxx"), Head: hCoHead, At: t0.Add(2 * time.Minute)}))
		wantRun(t, h.run(reviewerList, hCoHead), "success", "Reviewer Checklist: 4 of 4 ticked")
	})
	t.Run("the person who pushed is a contributor", func(t *testing.T) {
		h, s := newContribHarness(t)
		// The author's commit, pushed by dave.
		s = h.pushBy(hCommitter, hNewHead, s, t0.Add(time.Minute))
		mustOK(t, h.edited(hCommitter, s.Body, prState{Body: body("xxxx", "xxxx"), Head: hNewHead, At: t0.Add(2 * time.Minute)}))
		wantRun(t, h.run(reviewerList, hNewHead), "failure", "Reviewer Checklist: 0 of 4 ticked", "who contributed to this PR")
	})
	t.Run("an Update branch by the reviewer still counts", func(t *testing.T) {
		h, s := newContribHarness(t)
		const baseTip = "b45eb45eb45eb45eb45eb45eb45eb45eb45eb45e"
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: baseTip, Parents: []string{githubtest.FixtureBaseSHA}, Author: "dana-elsewhere"})
		h.gh.SetBranch(hRepo, hBase, baseTip)
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hCoHead, Parents: []string{hHead, baseTip}, Author: hReviewer, Committer: "web-flow", Verified: true})
		s = h.pushBy(hReviewer, hCoHead, s, t0.Add(time.Minute))
		mustOK(t, h.edited(hReviewer, s.Body, prState{Body: body("xxxx", "xxxx"), Head: hCoHead, At: t0.Add(2 * time.Minute)}))
		wantRun(t, h.run(reviewerList, hCoHead), "success", "Reviewer Checklist: 4 of 4 ticked")
	})
	t.Run("allow_contributors restores the old rule", func(t *testing.T) {
		h, s := newContribHarness(t)
		h.setConfig("checklists:\n  - name: Reviewer Checklist\n    ticked_by: reviewer\n    allow_contributors: true\n")
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hCoHead, Parents: []string{hHead}, Author: hCommitter})
		s = h.pushBy(hAuthor, hCoHead, s, t0.Add(time.Minute))
		mustOK(t, h.edited(hCommitter, s.Body, prState{Body: body("xxxx", "xxxx"), Head: hCoHead, At: t0.Add(2 * time.Minute)}))
		wantRun(t, h.run(reviewerList, hCoHead), "success", "Reviewer Checklist: 4 of 4 ticked")
	})
	t.Run("a reviewer who pushes after ticking stops counting", func(t *testing.T) {
		h, s := newContribHarness(t)
		h.setConfig("reset_reviewer_on_push: false\n") // even without the reset
		s1 := prState{Body: body("xxxx", "xxxx"), At: t0.Add(time.Minute)}
		mustOK(t, h.edited(hReviewer, s.Body, s1))
		wantRun(t, h.run(reviewerList, hHead), "success", "Reviewer Checklist: 4 of 4 ticked")
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hCoHead, Parents: []string{hHead}, Author: hReviewer})
		h.pushBy(hReviewer, hCoHead, s1, t0.Add(2*time.Minute))
		rv := h.run(reviewerList, hCoHead)
		wantRun(t, rv, "failure", "Reviewer Checklist: 0 of 4 ticked")
		if line := itemLine(t, rv, its[0]); !strings.Contains(line, hReviewer+", who contributed to this PR") {
			t.Errorf("reviewer who pushed: %q", line)
		}
	})
	t.Run("contributors are read once per head", func(t *testing.T) {
		h, s := newContribHarness(t)
		h.gh.ResetCalls()
		s1 := prState{Body: body("xxxx", "xx.."), At: t0.Add(time.Minute)}
		mustOK(t, h.edited(hReviewer, s.Body, s1))
		mustOK(t, h.edited(hReviewer, s1.Body, prState{Body: body("xxxx", "xxxx"), At: t0.Add(2 * time.Minute)}))
		if n := h.gh.Count("repos/compare-commits-with-basehead"); n != 0 {
			t.Errorf("%d compare calls for ticks at a head already read", n)
		}
	})
}
