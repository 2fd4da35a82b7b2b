package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/apptest"
	"github.com/checkoff-app/checkoff/internal/storetest"
)

// App-layer tests: every event the App handles, over the struct fake of
// GitHub and the in-memory store, without HTTP. The webhook scenarios run
// the same rules end to end.

const (
	base    = "1111111111111111111111111111111111111111"
	head    = "2222222222222222222222222222222222222222"
	newHead = "3333333333333333333333333333333333333333"
	merge   = "4444444444444444444444444444444444444444"
	baseTip = "5555555555555555555555555555555555555555"
	group   = "6666666666666666666666666666666666666666"
)

var (
	t0      = time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC)
	alice   = app.Actor{Login: "alice"} // the author
	bob     = app.Actor{Login: "bob"}   // a writer who reviews
	carol   = app.Actor{Login: "carol"} // read access only
	dave    = app.Actor{Login: "dave"}  // a writer who commits to the PR
	reviewN = int64(77)
)

// cfg has an author checklist and a reviewer checklist of two items each.
const cfg = `checklists:
  - name: Author
    ticked_by: author
  - name: Review
    ticked_by: reviewer
`

func body(author, reviewer string) string {
	box := func(s string, i int) string {
		if i < len(s) && s[i] == 'x' {
			return "x"
		}
		return " "
	}
	return "## Author\n- [" + box(author, 0) + "] Tested\n- [" + box(author, 1) + "] Documented\n\n" +
		"## Review\n- [" + box(reviewer, 0) + "] Read the diff\n- [" + box(reviewer, 1) + "] Ran it\n"
}

type rig struct {
	gh   *apptest.GitHub
	st   *storetest.Memory
	gate *recordingGate
	app  *app.App
}

type recordingGate struct{ verdicts, reruns []verdict.Verdict }

func (g *recordingGate) Verdict(_ context.Context, v verdict.Verdict) error {
	g.verdicts = append(g.verdicts, v)
	return nil
}

func (g *recordingGate) Rerun(_ context.Context, v verdict.Verdict) error {
	g.reruns = append(g.reruns, v)
	return nil
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{
		gh: &apptest.GitHub{
			ConfigValue:     map[string]string{"refs/heads/dev": cfg, base: cfg},
			PermissionValue: map[string]string{"alice": "write", "bob": "write", "carol": "read", "dave": "write"},
			CommitsValue: map[string][]app.Commit{
				head:    {{SHA: head, Parents: []string{base}, Author: "alice", Committer: "alice"}},
				newHead: {{SHA: head, Parents: []string{base}, Author: "alice"}, {SHA: newHead, Parents: []string{head}, Author: "dave"}},
				merge:   {{SHA: head, Parents: []string{base}, Author: "alice"}, {SHA: merge, Parents: []string{base, head}, Committer: "web-flow", Verified: true}},
			},
		},
		st:   storetest.NewMemory(),
		gate: &recordingGate{},
	}
	var err error
	r.app, err = app.New(app.Options{Store: r.st, GitHub: func(int64) app.GitHub { return r.gh }, Gate: r.gate, Now: func() time.Time { return t0.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pr(b string, at time.Duration) app.PRState {
	return app.PRState{Installation: 1, Owner: "acme", Repo: "api", RepoID: 9, Number: 5, HeadSHA: head, Base: "dev", BaseSHA: base,
		Author: "alice", Body: b, UpdatedAt: t0.Add(at)}
}

func (r *rig) want(t *testing.T, name, sha, conclusion, title string) app.CheckRun {
	t.Helper()
	run, ok := r.gh.Latest(name, sha)
	if !ok {
		t.Fatalf("no %s run on %s", name, sha[:7])
	}
	if run.Conclusion != conclusion || (title != "" && run.Title != title) {
		t.Fatalf("%s: %s %q, want %s %q\n%s", name, run.Conclusion, run.Title, conclusion, title, run.Summary)
	}
	return run
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpened(t *testing.T) {
	r := newRig(t)
	must(t, r.app.Opened(context.Background(), pr(body("xx", ".."), 0), alice))
	r.want(t, "Author", head, "success", "Author: 2 of 2 ticked")
	r.want(t, "Review", head, "failure", "Review: 0 of 2 ticked")
	if n := r.gh.Calls("Commits"); n != 1 {
		t.Errorf("head read %d times, want once", n)
	}
}

func TestEdited(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		by         app.Actor
		to         string
		conclusion string
		reason     string
	}{
		"a writer ticks":              {bob, body("xx", "xx"), "success", ""},
		"the author ticks":            {alice, body("xx", "xx"), "failure", "the author"},
		"a reader ticks":              {carol, body("xx", "xx"), "failure", "lacks write access"},
		"the author waives":           {alice, strings.Replace(body("xx", ".."), "] Read the diff", "] N/A: Read the diff", 1), "failure", "marked optional by @\u200balice"},
		"a writer waives and ticks":   {bob, strings.Replace(body("xx", ".x"), "] Read the diff", "] ~~Read the diff~~", 1), "success", ""},
		"a text edit changes nothing": {alice, "Intro\n\n" + body("xx", ".."), "failure", ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			must(t, r.app.Opened(ctx, pr(body("xx", ".."), 0), alice))
			before := len(r.gh.CheckRuns())
			must(t, r.app.Edited(ctx, pr(tc.to, time.Minute), body("xx", ".."), tc.by))
			run := r.want(t, "Review", head, tc.conclusion, "")
			if tc.reason != "" && !strings.Contains(run.Summary, tc.reason) {
				t.Errorf("summary lacks %q:\n%s", tc.reason, run.Summary)
			}
			if name == "a text edit changes nothing" && len(r.gh.CheckRuns()) != before {
				t.Errorf("a text edit posted %d runs", len(r.gh.CheckRuns())-before)
			}
		})
	}
}

// approve delivers bob's approving review of commit with both reviewer boxes
// ticked in its body, GitHub listing it in state listed ("" = not listed).
func (r *rig) approve(t *testing.T, listed, commit string) error {
	t.Helper()
	rv := app.Review{ID: reviewN, User: bob, State: "APPROVED", Body: "## Review\n- [x] Read the diff\n- [x] Ran it\n", CommitID: commit, SubmittedAt: t0.Add(time.Minute)}
	r.gh.ReviewValue = map[int64]app.Review{}
	if listed != "" {
		cur := rv
		cur.State = listed
		r.gh.ReviewValue[reviewN] = cur
	}
	return r.app.ReviewSubmitted(context.Background(), pr(body("xx", ".."), time.Minute), rv)
}

func TestReviewSubmitted(t *testing.T) {
	t.Run("approved and listed", func(t *testing.T) {
		r := newRig(t)
		must(t, r.approve(t, "APPROVED", head))
		r.want(t, "Review", head, "success", "Review: 2 of 2 ticked")
	})
	t.Run("dismissed since", func(t *testing.T) {
		r := newRig(t)
		must(t, r.approve(t, "DISMISSED", head))
		r.want(t, "Review", head, "failure", "Review: 0 of 2 ticked")
	})
	t.Run("not listed yet", func(t *testing.T) {
		r := newRig(t)
		if err := r.approve(t, "", head); err == nil {
			t.Fatal("a review GitHub does not list was taken on the delivery's word")
		}
		if recs, _ := r.st.Query(context.Background(), "ticks#id:9#5"); len(recs) != 0 {
			t.Errorf("recorded %d records for a review not listed", len(recs))
		}
	})
	t.Run("of an older commit", func(t *testing.T) {
		r := newRig(t)
		must(t, r.approve(t, "APPROVED", baseTip))
		r.want(t, "Review", head, "failure", "Review: 0 of 2 ticked")
	})
}

func TestReviewEditedAndDismissed(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	must(t, r.approve(t, "APPROVED", head))
	// bob unticks one box in an edit.
	edited := app.Review{ID: reviewN, User: bob, State: "APPROVED", Body: "## Review\n- [x] Read the diff\n- [ ] Ran it\n", CommitID: head}
	r.gh.ReviewValue[reviewN] = edited
	must(t, r.app.ReviewEdited(ctx, pr(body("xx", ".."), 2*time.Minute), edited))
	r.want(t, "Review", head, "failure", "Review: 1 of 2 ticked")
	// Dismissed: its ticks are withdrawn, and a late "submitted" of the
	// same review brings nothing back.
	must(t, r.app.ReviewDismissed(ctx, pr(body("xx", ".."), 3*time.Minute), edited))
	r.want(t, "Review", head, "failure", "Review: 0 of 2 ticked")
	must(t, r.approve(t, "APPROVED", head))
	r.want(t, "Review", head, "failure", "Review: 0 of 2 ticked")
}

func TestPushed(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *rig {
		r := newRig(t)
		must(t, r.app.Opened(ctx, pr(body("xx", ".."), 0), alice))
		must(t, r.app.Edited(ctx, pr(body("xx", "xx"), time.Minute), body("xx", ".."), bob))
		r.want(t, "Review", head, "success", "")
		return r
	}
	t.Run("a push resets reviewer ticks", func(t *testing.T) {
		r := setup(t)
		p := pr(body("xx", "xx"), 2*time.Minute)
		p.HeadSHA = newHead
		must(t, r.app.Pushed(ctx, p, alice))
		run := r.want(t, "Review", newHead, "failure", "Review: 0 of 2 ticked")
		if !strings.Contains(run.Summary, "before the latest push") {
			t.Errorf("summary:\n%s", run.Summary)
		}
	})
	t.Run("Update branch keeps them", func(t *testing.T) {
		r := setup(t)
		r.gh.CommitsValue[newHead] = []app.Commit{{SHA: head, Parents: []string{base}, Author: "alice"},
			{SHA: newHead, Parents: []string{head, baseTip}, Author: "bob", Committer: "web-flow", Verified: true}}
		p := pr(body("xx", "xx"), 2*time.Minute)
		p.HeadSHA = newHead
		must(t, r.app.Pushed(ctx, p, bob))
		r.want(t, "Review", newHead, "success", "")
	})
	t.Run("the config cannot be read: the push is still recorded", func(t *testing.T) {
		r := setup(t)
		r.gh.ConfigError = errors.New("502 Bad Gateway")
		p := pr(body("xx", "xx"), 2*time.Minute)
		p.HeadSHA = newHead
		if err := r.app.Pushed(ctx, p, alice); err == nil {
			t.Fatal("no error with the config unreadable")
		}
		r.gh.ConfigError = nil
		r.gh.PullRequestValue = map[int]app.PRState{5: p}
		must(t, r.app.Recheck(ctx, 1, "acme", "api", []int{5}))
		r.want(t, "Review", newHead, "failure", "Review: 0 of 2 ticked")
	})
}

func TestRecheck(t *testing.T) {
	r := newRig(t)
	r.gh.PullRequestValue = map[int]app.PRState{5: pr(body("xx", ".."), 0)}
	must(t, r.app.Recheck(context.Background(), 1, "acme", "api", []int{5}))
	r.want(t, "Author", head, "failure", "Author: 0 of 2 ticked") // nobody recorded the author's ticks
	r.gh.PullRequestError = errors.New("404")
	if err := r.app.Recheck(context.Background(), 1, "acme", "api", []int{5}); err == nil {
		t.Error("a PR that cannot be fetched is no error")
	}
}

func TestMergeGroup(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	must(t, r.app.Opened(ctx, pr(body("xx", ".."), 0), alice))
	r.gh.PullRequestValue = map[int]app.PRState{5: pr(body("xx", ".."), 0)}
	must(t, r.app.MergeGroup(ctx, app.MergeGroup{Installation: 1, Owner: "acme", Repo: "api", HeadSHA: group,
		HeadRef: "refs/heads/gh-readonly-queue/dev/pr-5-" + head, Base: "dev"}))
	r.want(t, "Author", group, "success", "merge queue: Author: 2 of 2 ticked")
	r.want(t, "Review", group, "failure", "merge queue: Review: 0 of 2 ticked")
}

func TestMerged(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	must(t, r.app.Opened(ctx, pr(body("xx", ".."), 0), alice))
	must(t, r.app.Edited(ctx, pr(body("xx", "xx"), time.Minute), body("xx", ".."), bob))
	// After the merge, dev holds a config that drops the reviewer checklist;
	// the merge is judged under the base from before it.
	r.gh.ConfigValue["refs/heads/dev"] = "checklists:\n  - name: Author\n    ticked_by: author\n"
	m := pr(body("xx", "xx"), 2*time.Minute)
	m.Merged, m.MergeSHA = true, merge
	runs := len(r.gh.CheckRuns())
	must(t, r.app.Evaluate(ctx, m))
	if len(r.gate.verdicts) != 1 || !r.gate.verdicts[0].Complete || r.gate.verdicts[0].MergeSHA != merge {
		t.Fatalf("gate got %+v", r.gate.verdicts)
	}
	if len(r.gh.CheckRuns()) != runs {
		t.Errorf("a merge posted check runs")
	}
	v, err := verdict.Get(ctx, r.st, "acme", "api", merge)
	if err != nil || !v.Complete || len(v.Reviewers) != 1 || v.Reviewers[0] != "bob" {
		t.Errorf("stored verdict %+v, %v", v, err)
	}
	// A re-run of the gate's check re-judges the merge and hands it on.
	r.gh.PullRequestValue = map[int]app.PRState{5: m}
	r.gh.PullsWithCommitValue = map[string][]app.PRState{merge: {m}}
	must(t, r.app.RecheckMerge(ctx, 1, "acme", "api", merge))
	if len(r.gate.reruns) != 1 || !r.gate.reruns[0].Complete {
		t.Errorf("reruns %+v", r.gate.reruns)
	}
}

// TestSharedConfig: a repository without .github/checkoff.yml is judged
// under its owner's shared one (OWNER/.github), and a repository file
// replaces it whole; the summary says which applied.
func TestSharedConfig(t *testing.T) {
	ctx := context.Background()
	shared := "checklists:\n  - name: Security\n    ticked_by: reviewer\n"
	for name, tc := range map[string]struct {
		repoFile   bool
		shared     bool
		wantRun    string
		wantSource string
	}{
		"repository file":       {repoFile: true, shared: true, wantRun: "Review", wantSource: "the repository's `.github/checkoff.yml`"},
		"shared file":           {shared: true, wantRun: "Security", wantSource: "acme/.github (no repository file)"},
		"neither: the defaults": {wantRun: "Reviewer Checklist", wantSource: "built-in defaults"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			if !tc.repoFile {
				delete(r.gh.ConfigValue, "refs/heads/dev")
			}
			r.gh.SharedConfig, r.gh.SharedConfigValue = tc.shared, shared
			must(t, r.app.Opened(ctx, pr(body("xx", ".."), 0), alice))
			run := r.want(t, tc.wantRun, head, "failure", "")
			if !strings.Contains(run.Summary, tc.wantSource) {
				t.Errorf("summary does not say %q:\n%s", tc.wantSource, run.Summary)
			}
			if len(r.gh.CheckRuns()) != map[string]int{"Review": 2, "Security": 1, "Reviewer Checklist": 2}[tc.wantRun] {
				t.Errorf("runs %d", len(r.gh.CheckRuns()))
			}
		})
	}
}

// TestPathScoped: a checklist with paths applies only when the PR changes a
// matching file (else its run passes, "not required"), and a push resets
// its reviewer ticks only when the push changes a matching file.
func TestPathScoped(t *testing.T) {
	ctx := context.Background()
	const scoped = `checklists:
  - name: Review
    ticked_by: reviewer
  - name: Docs
    ticked_by: reviewer
    paths: ["docs/**"]
`
	docsBody := body("xx", "..") + "\n## Docs\n- [ ] Spelling checked\n"
	ticked := strings.Replace(body("xx", "xx"), "", "", 1) + "\n## Docs\n- [x] Spelling checked\n"
	setup := func(t *testing.T, files []string) *rig {
		r := newRig(t)
		r.gh.ConfigValue["refs/heads/dev"] = scoped
		r.gh.FilesValue = files
		must(t, r.app.Opened(ctx, pr(docsBody, 0), alice))
		return r
	}
	t.Run("no changed file matches", func(t *testing.T) {
		r := setup(t, []string{"src/export.go"})
		r.want(t, "Docs", head, "success", "not required: no changed file matches")
		r.want(t, "Review", head, "failure", "")
	})
	t.Run("a changed file matches", func(t *testing.T) {
		r := setup(t, []string{"src/export.go", "docs/csv.md"})
		r.want(t, "Docs", head, "failure", "Docs: 0 of 1 ticked")
	})
	t.Run("the files cannot all be listed", func(t *testing.T) {
		r := newRig(t)
		r.gh.ConfigValue["refs/heads/dev"] = scoped
		r.gh.FilesValue, r.gh.FilesIncomplete = []string{"src/export.go"}, true
		must(t, r.app.Opened(ctx, pr(docsBody, 0), alice))
		r.want(t, "Docs", head, "failure", "Docs: 0 of 1 ticked")
	})
	for name, tc := range map[string]struct {
		pushed []string
		docs   string
	}{
		"a push that changes no matching file keeps its ticks": {[]string{"src/export.go"}, "success"},
		"a push that changes a matching file resets them":      {[]string{"docs/csv.md"}, "failure"},
	} {
		t.Run(name, func(t *testing.T) {
			r := setup(t, []string{"src/export.go", "docs/csv.md"})
			must(t, r.app.Edited(ctx, pr(ticked, time.Minute), docsBody, bob))
			r.want(t, "Docs", head, "success", "")
			r.gh.ChangedFilesValue = map[string][]string{newHead: tc.pushed}
			p := pr(ticked, 2*time.Minute)
			p.HeadSHA = newHead
			must(t, r.app.PushedFrom(ctx, p, alice, head))
			r.want(t, "Docs", newHead, tc.docs, "")
			r.want(t, "Review", newHead, "failure", "Review: 0 of 2 ticked") // not path-scoped: every push resets it
		})
	}
	t.Run("a push whose previous head is unknown resets them", func(t *testing.T) {
		r := setup(t, []string{"docs/csv.md"})
		must(t, r.app.Edited(ctx, pr(ticked, time.Minute), docsBody, bob))
		p := pr(ticked, 2*time.Minute)
		p.HeadSHA = newHead
		must(t, r.app.Pushed(ctx, p, alice))
		r.want(t, "Docs", newHead, "failure", "")
	})
}

// TestBotAuthoredPR: a PR a coding agent opened has its assignees as
// authors: an assignee's ticks count for the author checklist, not the
// reviewer one; with no assignee the author checklist says to assign one.
func TestBotAuthoredPR(t *testing.T) {
	ctx := context.Background()
	agent := func(b string, at time.Duration, assignees ...string) app.PRState {
		p := pr(b, at)
		p.Author, p.AuthorBot, p.Assignees = "copilot-swe-agent[bot]", true, assignees
		return p
	}
	t.Run("assigned", func(t *testing.T) {
		r := newRig(t)
		must(t, r.app.Opened(ctx, agent(body("..", ".."), 0, "alice"), app.Actor{Login: "copilot-swe-agent[bot]", Bot: true}))
		must(t, r.app.Edited(ctx, agent(body("xx", "xx"), time.Minute, "alice"), body("..", ".."), alice))
		r.want(t, "Author", head, "success", "Author: 2 of 2 ticked")
		run := r.want(t, "Review", head, "failure", "Review: 0 of 2 ticked")
		if !strings.Contains(run.Summary, "alice, the author") {
			t.Errorf("assignee's reviewer tick:\n%s", run.Summary)
		}
	})
	t.Run("the agent ticks its own boxes", func(t *testing.T) {
		r := newRig(t)
		must(t, r.app.Opened(ctx, agent(body("xx", ".."), 0, "alice"), app.Actor{Login: "copilot-swe-agent[bot]", Bot: true}))
		r.want(t, "Author", head, "failure", "Author: 0 of 2 ticked")
	})
	t.Run("no assignee", func(t *testing.T) {
		r := newRig(t)
		must(t, r.app.Opened(ctx, agent(body("..", ".."), 0), app.Actor{Login: "copilot-swe-agent[bot]", Bot: true}))
		must(t, r.app.Edited(ctx, agent(body("xx", ".."), time.Minute), body("..", ".."), alice))
		run := r.want(t, "Author", head, "failure", "Author: 0 of 2 ticked")
		if !strings.Contains(run.Summary, "assign the person responsible") {
			t.Errorf("summary:\n%s", run.Summary)
		}
	})
}

// TestEveryRunLinksTheRules: runs built outside the checklist results (not
// enforced, skipped, not required) link details_url too.
func TestEveryRunLinksTheRules(t *testing.T) {
	ctx := context.Background()
	for name, config := range map[string]string{
		"not enforced": "branches: [main]\ndetails_url: https://wiki.example.com/checklists\n",
		"skipped":      "skip_authors: [alice]\ndetails_url: https://wiki.example.com/checklists\n",
		"not required": "checklists:\n  - name: Docs\n    paths: [\"docs/**\"]\ndetails_url: https://wiki.example.com/checklists\n",
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			r.gh.ConfigValue["refs/heads/dev"] = config
			r.gh.FilesValue = []string{"src/a.go"}
			must(t, r.app.Opened(ctx, pr(body("xx", ".."), 0), alice))
			for _, run := range r.gh.CheckRuns() {
				if run.DetailsURL != "https://wiki.example.com/checklists" {
					t.Errorf("%s (%s): details %q", run.Name, run.Title, run.DetailsURL)
				}
			}
		})
	}
}

// TestPickNHolds: a merged PR whose pick-N group is not picked is held with
// one reason for the group, not one per choice.
func TestPickNHolds(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.gh.ConfigValue[base] = "checklists:\n  - name: Type\n    select: 1\n"
	m := pr("## Type\n- [ ] Feature\n- [ ] Fix\n- [ ] Chore\n", 0)
	m.Merged, m.MergeSHA = true, merge
	must(t, r.app.Evaluate(ctx, m))
	v := r.gate.verdicts[0]
	if v.Complete || len(v.Holding) != 1 || v.Holding[0] != "Type: pick exactly 1, 0 ticked" {
		t.Errorf("holding %q", v.Holding)
	}
}

// TestReviewEditedNotListed: an edit of a review GitHub does not list
// (its list lagging) takes the review's ticks away, but not for good: once
// listed, the review counts again. Only a dismissal is for good.
func TestReviewEditedNotListed(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	// A clock that moves: the edits happen one after another.
	clock := t0.Add(time.Hour)
	a, err := app.New(app.Options{Store: r.st, GitHub: func(int64) app.GitHub { return r.gh }, Now: func() time.Time {
		clock = clock.Add(time.Minute)
		return clock
	}})
	must(t, err)
	r.app = a
	must(t, r.approve(t, "APPROVED", head))
	r.want(t, "Review", head, "success", "Review: 2 of 2 ticked")
	rv := r.gh.ReviewValue[reviewN]
	delete(r.gh.ReviewValue, reviewN)
	must(t, r.app.ReviewEdited(ctx, pr(body("xx", ".."), 2*time.Minute), rv))
	r.want(t, "Review", head, "failure", "Review: 0 of 2 ticked")
	r.gh.ReviewValue[reviewN] = rv
	must(t, r.app.ReviewEdited(ctx, pr(body("xx", ".."), 3*time.Minute), rv))
	r.want(t, "Review", head, "success", "Review: 2 of 2 ticked")
}
