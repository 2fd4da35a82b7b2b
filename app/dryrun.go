package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-github/v62/github"
)

// DryRun stands in for GitHub when checkoff runs without App credentials
// (`checkoff serve` on a fresh machine): it reads the config from a local
// file, takes write permission from a fixed list, and prints the check runs
// it would post instead of posting them.
type DryRun struct {
	Out        io.Writer // where the check runs are printed, one JSON object a line
	ConfigData []byte    // the .github/checkoff.yml to use; nil means defaults
	Writers    []string  // logins treated as having write access

	mu sync.Mutex // serialises writes to Out
}

var _ gitHub = (*DryRun)(nil)

// Config returns ConfigData for every repository and ref.
func (d *DryRun) Config(context.Context, string, string, string) ([]byte, bool, error) {
	return d.ConfigData, d.ConfigData != nil, nil
}

// Permission is "write" for the logins in Writers and "none" otherwise.
func (d *DryRun) Permission(_ context.Context, _, _, user string) (string, error) {
	if slices.ContainsFunc(d.Writers, func(w string) bool { return strings.EqualFold(w, user) }) {
		return "write", nil
	}
	return "none", nil
}

// CreateCheckRun prints the request GitHub would get.
func (d *DryRun) CreateCheckRun(_ context.Context, owner, repo string, run checkRun) error {
	line, err := json.Marshal(struct {
		DryRun string                       `json:"dry_run"`
		Body   github.CreateCheckRunOptions `json:"body"`
	}{DryRun: fmt.Sprintf("POST /repos/%s/%s/check-runs", owner, repo), Body: run.options()})
	if err != nil {
		return fmt.Errorf("encode dry-run check run: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := fmt.Fprintf(d.Out, "%s\n", line); err != nil {
		return fmt.Errorf("print dry-run check run: %w", err)
	}
	return nil
}

// Commits knows no commits offline: the author (and whoever pushed) are
// the only contributors dry-run knows.
func (d *DryRun) Commits(context.Context, string, string, string, string) ([]commit, bool, error) {
	return nil, true, nil
}

// PullRequest cannot be answered offline.
func (d *DryRun) PullRequest(_ context.Context, owner, repo string, number int) (*github.PullRequest, error) {
	return nil, fmt.Errorf("dry-run: cannot fetch %s/%s#%d without GitHub credentials", owner, repo, number)
}

// CurrentReview is the review as delivered: offline, the payload is all
// there is to know.
func (d *DryRun) CurrentReview(_ context.Context, _, _ string, _ int, review *github.PullRequestReview) (*github.PullRequestReview, error) {
	return review, nil
}

// PullRequestsWithCommit cannot be answered offline.
func (d *DryRun) PullRequestsWithCommit(_ context.Context, owner, repo, sha string) ([]*github.PullRequest, error) {
	return nil, fmt.Errorf("dry-run: cannot list the pull requests of %s/%s@%s without GitHub credentials", owner, repo, sha)
}
