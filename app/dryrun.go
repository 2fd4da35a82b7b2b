package app

import (
	"context"
	"encoding/json"
	"errors"
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

var _ GitHub = (*DryRun)(nil)

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
func (d *DryRun) CreateCheckRun(_ context.Context, owner, repo string, run CheckRun) error {
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
func (d *DryRun) Commits(context.Context, string, string, string, string) ([]Commit, bool, error) {
	return nil, true, nil
}

// ChangedFiles cannot be answered offline: a push resets every
// path-scoped checklist.
func (d *DryRun) ChangedFiles(context.Context, string, string, string, string) ([]string, bool, error) {
	return nil, false, nil
}

// Files cannot be answered offline: every path-scoped checklist applies.
func (d *DryRun) Files(context.Context, string, string, int) ([]string, bool, error) {
	return nil, false, nil
}

// PullRequest cannot be answered offline.
func (d *DryRun) PullRequest(_ context.Context, owner, repo string, number int) (PRState, error) {
	return PRState{}, fmt.Errorf("dry-run: cannot fetch %s/%s#%d without GitHub credentials", owner, repo, number)
}

// Review is the review as delivered: offline, the payload is all there is
// to know, so Review reports none and the App takes the delivery's word.
func (d *DryRun) Review(context.Context, string, string, int, int64) (*Review, error) {
	return nil, errOffline
}

// PullRequestsWithCommit cannot be answered offline.
func (d *DryRun) PullRequestsWithCommit(_ context.Context, owner, repo, sha string) ([]PRState, error) {
	return nil, fmt.Errorf("dry-run: cannot list the pull requests of %s/%s@%s without GitHub credentials", owner, repo, sha)
}

// errOffline is a GitHub answer dry-run cannot give; where the delivery
// itself says enough, the App goes on with it.
var errOffline = errors.New("dry-run: GitHub is not reachable without credentials")
