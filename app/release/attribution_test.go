package release

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// rebase lands #number by rebase merge: two new commits on dev, the last
// one its merge_commit_sha; GitHub lists the PR for both.
func (e *env) rebase(number int, complete bool) (verdict.Verdict, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r1, r2 := e.sha(), e.sha()
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: r1, Parents: []string{e.head}, Message: "first"})
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: r2, Parents: []string{r1}, Message: "second"})
	e.head = r2
	e.gh.SetBranch(repoName, "dev", r2)
	head := e.sha()
	e.gh.SetPull(repoName, githubtest.PullRequest{Number: number, User: "dana", BaseRef: "dev", HeadSHA: head,
		Commits: []string{r1, r2}, Merged: true, MergeCommitSHA: r2})
	e.at = e.at.Add(time.Minute)
	return e.verdict(number, r2, head, complete), []string{r1, r2}
}

// forcePush points dev at sha, as `git push --force` does.
func (e *env) forcePush(sha string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.head = sha
	e.gh.SetBranch(repoName, "dev", sha)
}

// TestForcePushToAMergedPRsCommit: a commit is covered by a merged PR only
// when it reached the branch through that PR's merge. The PR's original
// commits, force-pushed onto the branch after the PR was merged another way,
// reach it without a pull request: GitHub still lists the PR for them, and
// the gate used to approve them as "#20" (issue 16, item 1).
func TestForcePushToAMergedPRsCommit(t *testing.T) {
	tests := map[string]struct {
		// land merges #20 (checked off) and returns its verdict and the
		// commit then force-pushed to dev.
		land func(e *env) (verdict.Verdict, string)
		// direct are the commits the rejection names besides the pushed one.
		direct func(v verdict.Verdict) []string
	}{
		"squash merged, then dev force-pushed to the PR's original commit": {land: func(e *env) (verdict.Verdict, string) {
			v := e.squash(20, true)
			return v, v.HeadSHA
		}},
		"merge commit, then dev force-pushed back to the PR's own commit": {land: func(e *env) (verdict.Verdict, string) {
			v := e.merge(20, true)
			return v, v.HeadSHA
		}},
		"rebase merged, then dev force-pushed back to the first rebased commit": {land: func(e *env) (verdict.Verdict, string) {
			v, rebased := e.rebase(20, true)
			return v, rebased[0]
		}},
		"squash merged, then a commit on top of the PR's original commit force-pushed": {land: func(e *env) (verdict.Verdict, string) {
			v := e.squash(20, true)
			e.mu.Lock()
			defer e.mu.Unlock()
			top := e.sha()
			e.gh.AddCommit(repoName, githubtest.Commit{SHA: top, Parents: []string{v.HeadSHA}, Message: "more", Author: "mallory"})
			return v, top
		}, direct: func(v verdict.Verdict) []string { return []string{v.HeadSHA} }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			v, pushed := tc.land(e)
			if err := e.deliver(v); err != nil {
				t.Fatal(err)
			}
			exec1 := e.release()
			must(t, Approved)(e.started(exec1))

			e.forcePush(pushed)
			exec2 := e.release()
			out := must(t, Rejected)(e.started(exec2))
			e.wantResults("Approved "+exec1, "Rejected "+exec2)
			named := []string{pushed}
			if tc.direct != nil {
				named = append(tc.direct(v), named...)
			}
			s := e.results()[1].Summary
			for _, sha := range named {
				if !strings.Contains(s, sha[:7]) || !strings.Contains(s, "without a pull request") {
					t.Errorf("summary %q does not name the force-pushed commit %s", s, sha[:7])
				}
			}
			if fmt.Sprint(out.PRs) != "[]" {
				t.Errorf("the force-pushed commit was attributed to %v", out.PRs)
			}
		})
	}
}

// TestDirectPushAPRAlsoCarried: a commit pushed straight to dev that a PR
// merged later also carried (GitHub lists the PR for it) reached dev before
// that merge, not through it: it is a direct push.
func TestDirectPushAPRAlsoCarried(t *testing.T) {
	e := newEnv(t, envOptions{})
	pushed := e.push()
	e.mu.Lock()
	own, merge := e.sha(), e.sha()
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: own, Parents: []string{pushed}, Message: "Change for #21"})
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: merge, Parents: []string{pushed, own}, Message: "Merge pull request #21"})
	e.head = merge
	e.gh.SetBranch(repoName, "dev", merge)
	e.gh.SetPull(repoName, githubtest.PullRequest{Number: 21, User: "dana", BaseRef: "dev", HeadSHA: own,
		Commits: []string{pushed, own}, Merged: true, MergeCommitSHA: merge})
	e.at = e.at.Add(time.Minute)
	v := e.verdict(21, merge, own, true)
	e.mu.Unlock()
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	out := must(t, Rejected)(e.started(exec))
	if s := e.results()[0].Summary; !strings.Contains(s, "commit "+pushed[:7]+" reached dev without a pull request") {
		t.Errorf("summary %q", s)
	}
	if fmt.Sprint(out.PRs) != "[21]" {
		t.Errorf("PRs %v: #21's own commit and merge are covered by it", out.PRs)
	}
}

// TestRebasedCommitsLandThroughTheirPR: every commit of a rebase merge is
// covered by its PR, in one release and across releases of its commits.
func TestRebasedCommitsLandThroughTheirPR(t *testing.T) {
	e := newEnv(t, envOptions{})
	v12 := e.merge(12, true)
	if err := e.deliver(v12); err != nil {
		t.Fatal(err)
	}
	v13, _ := e.rebase(13, true)
	if err := e.deliver(v13); err != nil {
		t.Fatal(err)
	}
	v14 := e.squash(14, true)
	if err := e.deliver(v14); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	out := must(t, Approved)(e.started(exec))
	if fmt.Sprint(out.PRs) != "[12 13 14]" {
		t.Errorf("PRs %v", out.PRs)
	}
}
