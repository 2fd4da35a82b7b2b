package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/checkoff-app/checkoff/checklist"
)

// GateCheckName is the name of the check run the release gate posts on
// merge commits. release.CheckName is the same name: package webhook routes
// a re-run by it without depending on package release.
const GateCheckName = checklist.ReleaseGateName

// ErrNoMergedPR means a commit is not the merge commit of any merged pull
// request of the repository.
var ErrNoMergedPR = errors.New("no merged pull request has it as merge commit")

// commitSHA matches a full git commit id (SHA-1, or SHA-256 repositories).
var commitSHA = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// OwnCheckRun reports whether a check run made by the App appSlug was
// made by this App. GitHub sends a
// run's rerequested and requested_action only to the App that created it,
// so this is a second line of defence: an App's bot login is its slug
// followed by "[bot]". Without a configured bot login every run counts as
// the App's own.
func (a *App) OwnCheckRun(appSlug string) bool {
	if a.botLogin == "" {
		return true
	}
	return appSlug != "" && strings.EqualFold(appSlug+"[bot]", a.botLogin)
}

// HasReleaseGate reports whether the App hands verdicts to a release gate.
func (a *App) HasReleaseGate() bool { return a.gate != nil }

// RecheckMerge answers a re-run of the release gate's check run on the
// merge commit sha. Each pull request merged as sha is judged again (its
// newest body, the ledger, the base branch's config and permissions as they
// are now); the verdict is recorded and handed to the gate, which re-posts
// its check run (even when unchanged: see ReleaseGate.Rerun) and reconciles
// the pipeline. No checklist check run is
// posted: the PR is merged. Without a release gate it only logs.
//
// The gate posts its check only on merge commits, so a commit that is no
// merged PR's merge commit is an error wrapping ErrNoMergedPR: GitHub may
// not have associated a fresh merge with its PR yet (a redelivery retries),
// or the run was not the gate's.
func (a *App) RecheckMerge(ctx context.Context, installation int64, owner, repo, sha string) error {
	if a.gate == nil {
		a.logger(ctx).Info("release gate re-run requested, but no release gate is configured; nothing to do",
			"repo", owner+"/"+repo, "commit", sha)
		return nil
	}
	if !commitSHA.MatchString(sha) {
		return fmt.Errorf("re-run %s on %s/%s: %q is not a commit SHA", GateCheckName, owner, repo, sha)
	}
	gh := a.github(installation)
	listed, err := gh.PullRequestsWithCommit(ctx, owner, repo, sha)
	if err != nil {
		return err
	}
	// GitHub lists open PRs too (with a test merge commit, or a head that
	// is this commit, as a dev -> master PR has), and PRs whose commits
	// include it: only the PR merged as this commit is behind the gate's run.
	var numbers []int
	for _, pr := range listed {
		if !strings.EqualFold(pr.Owner, owner) || !strings.EqualFold(pr.Repo, repo) {
			continue // a fork's PR, or another repository's
		}
		if pr.Merged && pr.MergeSHA == sha {
			numbers = append(numbers, pr.Number)
		}
	}
	if len(numbers) == 0 {
		return fmt.Errorf("re-run %s on %s/%s@%s: %w", GateCheckName, owner, repo, sha, ErrNoMergedPR)
	}
	var errs []error
	for _, n := range numbers {
		if err := a.rejudgeMerged(ctx, installation, owner, repo, n, sha); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rejudgeMerged judges merged PR number again, as EvaluateMerged does
// for the gate (the PR fetched in full, the ledger, the config), and hands
// the recorded verdict to the gate.
func (a *App) rejudgeMerged(ctx context.Context, installation int64, owner, repo string, number int, sha string) error {
	v, err := a.EvaluateMerged(ctx, installation, owner, repo, number)
	if err != nil {
		return err
	}
	if v.MergeSHA != sha {
		return fmt.Errorf("re-run %s on %s/%s@%s: #%d was merged as %s", GateCheckName, owner, repo, sha, number, v.MergeSHA)
	}
	a.logger(ctx).Info("judged merge again for a release gate re-run", "pr", fmt.Sprintf("%s/%s#%d", owner, repo, number),
		"merge_sha", sha, "complete", v.Complete)
	if err := a.gate.Rerun(ctx, v); err != nil {
		return fmt.Errorf("release gate for %s/%s#%d: %w", owner, repo, number, err)
	}
	return nil
}
