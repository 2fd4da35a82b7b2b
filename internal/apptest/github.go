// Package apptest holds a plain struct fake of app.GitHub, in the style of
// policy-bot's pulltest: fields say what GitHub answers (XValue) or fails
// with (XError), and the check runs the App posts are recorded. App-layer
// tests use it with storetest.Memory: no HTTP, no disk.
//
// Entry point: GitHub.
package apptest

import (
	"context"
	"fmt"
	"sync"

	"github.com/checkoff-app/checkoff/app"
)

// GitHub is a fake app.GitHub for one repository. Zero values answer like
// a repository with no config, no commits and no collaborators.
type GitHub struct {
	// ConfigValue is .github/checkoff.yml by ref (refs/heads/<branch> or a
	// SHA); a ref not in it has no file.
	ConfigValue map[string]string
	ConfigError error
	// SharedConfigValue, when SharedConfig is set, is the owner's shared
	// .github/checkoff.yml (in the OWNER/.github repository).
	SharedConfig      bool
	SharedConfigValue string
	// CommitsValue lists, by head SHA, the commits a compare against the
	// base returns; CommitsIncomplete marks the list cut short.
	CommitsValue      map[string][]app.Commit
	CommitsIncomplete bool
	CommitsError      error
	// PermissionValue by login; a login not in it has "none".
	PermissionValue  map[string]string
	PermissionError  error
	PullRequestValue map[int]app.PRState
	PullRequestError error
	// PullsWithCommitValue by commit SHA.
	PullsWithCommitValue map[string][]app.PRState
	// FilesValue are the paths the pull request changes; FilesIncomplete
	// marks the list cut at GitHub's limit.
	FilesValue      []string
	FilesIncomplete bool
	FilesError      error
	// ChangedFilesValue, by head, are the files a push to it changed.
	ChangedFilesValue   map[string][]string
	ReviewValue         map[int64]app.Review
	ReviewError         error
	CreateCheckRunError error

	mu    sync.Mutex
	runs  []app.CheckRun
	calls map[string]int
}

var _ app.GitHub = (*GitHub)(nil)

func (g *GitHub) count(op string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls == nil {
		g.calls = map[string]int{}
	}
	g.calls[op]++
}

// Calls is how often the App called op ("Config", "Commits", ...).
func (g *GitHub) Calls(op string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[op]
}

// CheckRuns are the runs posted, in order.
func (g *GitHub) CheckRuns() []app.CheckRun {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]app.CheckRun(nil), g.runs...)
}

// Latest is the newest run named name on sha, and whether there is one.
func (g *GitHub) Latest(name, sha string) (app.CheckRun, bool) {
	var out app.CheckRun
	found := false
	for _, r := range g.CheckRuns() {
		if r.Name == name && r.HeadSHA == sha {
			out, found = r, true
		}
	}
	return out, found
}

// Config answers ConfigValue[ref] (not found when absent), the shared
// config for the OWNER/.github repository, or ConfigError.
func (g *GitHub) Config(_ context.Context, _, repo, ref string) ([]byte, bool, error) {
	g.count("Config")
	if g.ConfigError != nil {
		return nil, false, g.ConfigError
	}
	if repo == ".github" {
		return []byte(g.SharedConfigValue), g.SharedConfig, nil
	}
	data, ok := g.ConfigValue[ref]
	return []byte(data), ok, nil
}

// Commits answers CommitsValue[head], or CommitsError.
func (g *GitHub) Commits(_ context.Context, _, _, _, head string) ([]app.Commit, bool, error) {
	g.count("Commits")
	if g.CommitsError != nil {
		return nil, false, g.CommitsError
	}
	return g.CommitsValue[head], !g.CommitsIncomplete, nil
}

// Permission answers PermissionValue[user] ("none" when absent), or
// PermissionError.
func (g *GitHub) Permission(_ context.Context, _, _, user string) (string, error) {
	g.count("Permission")
	if g.PermissionError != nil {
		return "", g.PermissionError
	}
	if p, ok := g.PermissionValue[user]; ok {
		return p, nil
	}
	return "none", nil
}

// CreateCheckRun records run, or fails with CreateCheckRunError.
func (g *GitHub) CreateCheckRun(_ context.Context, _, _ string, run app.CheckRun) error {
	g.count("CreateCheckRun")
	if g.CreateCheckRunError != nil {
		return g.CreateCheckRunError
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.runs = append(g.runs, run)
	return nil
}

// PullRequest answers PullRequestValue[number] (404 when absent), or
// PullRequestError.
func (g *GitHub) PullRequest(_ context.Context, owner, repo string, number int) (app.PRState, error) {
	g.count("PullRequest")
	if g.PullRequestError != nil {
		return app.PRState{}, g.PullRequestError
	}
	pr, ok := g.PullRequestValue[number]
	if !ok {
		return app.PRState{}, fmt.Errorf("get pull request %s/%s#%d: 404 Not Found", owner, repo, number)
	}
	return pr, nil
}

// PullRequestsWithCommit answers PullsWithCommitValue[sha].
func (g *GitHub) PullRequestsWithCommit(_ context.Context, _, _, sha string) ([]app.PRState, error) {
	g.count("PullRequestsWithCommit")
	return g.PullsWithCommitValue[sha], nil
}

// ChangedFiles answers ChangedFilesValue[head].
func (g *GitHub) ChangedFiles(_ context.Context, _, _, _, head string) ([]string, bool, error) {
	g.count("ChangedFiles")
	return g.ChangedFilesValue[head], true, nil
}

// Files answers FilesValue, or FilesError.
func (g *GitHub) Files(context.Context, string, string, int) ([]string, bool, error) {
	g.count("Files")
	if g.FilesError != nil {
		return nil, false, g.FilesError
	}
	return g.FilesValue, !g.FilesIncomplete, nil
}

// Review answers ReviewValue[id] (nil when absent), or ReviewError.
func (g *GitHub) Review(_ context.Context, _, _ string, _ int, id int64) (*app.Review, error) {
	g.count("Review")
	if g.ReviewError != nil {
		return nil, g.ReviewError
	}
	r, ok := g.ReviewValue[id]
	if !ok {
		return nil, nil
	}
	return &r, nil
}
