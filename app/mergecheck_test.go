package app

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/ghclient"
	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// recordingGate is a ReleaseGate that keeps the verdicts and re-runs it
// receives, and answers VerdictError.
type recordingGate struct {
	mu           sync.Mutex
	verdicts     []verdict.Verdict
	reruns       []verdict.Verdict
	VerdictError error
}

func (g *recordingGate) Verdict(_ context.Context, v verdict.Verdict) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.verdicts = append(g.verdicts, v)
	return g.VerdictError
}

func (g *recordingGate) Rerun(_ context.Context, v verdict.Verdict) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reruns = append(g.reruns, v)
	return g.VerdictError
}

// got is what RecheckMerge handed over: re-runs only, never plain verdicts.
func (g *recordingGate) got(t *testing.T) []verdict.Verdict {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.verdicts) > 0 {
		t.Errorf("RecheckMerge handed %d plain verdicts, want re-runs only", len(g.verdicts))
	}
	return append([]verdict.Verdict(nil), g.reruns...)
}

// SHAs of the merge-commit scenarios: dev's merge commit of #12, and
// another merge commit.
const (
	mcMerge = githubtest.FixtureMergeSHA
	mcOther = "7d3c1b9e5f7a3c1e9b7d5f3a1c9e7b5d3f1a9c7e"
)

// mergeCheckApp is an App with a release gate, over REST against a fake
// GitHub holding the fixture repository: #12 merged into dev as mcMerge.
func mergeCheckApp(t *testing.T, gate ReleaseGate) (*App, *githubtest.Server, store.Store) {
	t.Helper()
	s := githubtest.New(t)
	s.AddRepo(githubtest.Repo{FullName: githubtest.FixtureRepo, ID: githubtest.FixtureRepoID, DefaultBranch: "master", Installation: githubtest.FixtureInstallation})
	s.SetBranch(githubtest.FixtureRepo, "dev", githubtest.FixtureBaseSHA)
	s.SetPermission(githubtest.FixtureRepo, githubtest.FixtureAuthor, "write")
	s.SetPull(githubtest.FixtureRepo, githubtest.PullRequest{
		Number: githubtest.FixturePull, User: githubtest.FixtureAuthor, BaseRef: "dev",
		Body:    "## Author Checklist\n- [ ] Unit tests are updated\n",
		HeadSHA: githubtest.FixtureHeadSHA, Merged: true, MergeCommitSHA: mcMerge,
		UpdatedAt: time.Date(2024, 5, 6, 10, 0, 0, 0, time.UTC),
	})
	clients, err := ghclient.New(ghclient.Config{AppID: s.AppID, PrivateKey: s.PrivateKeyPEM(), BaseURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := New(Options{Store: st, Installations: clients, Gate: gate, BotLogin: "checkoff[bot]", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return a, s, st
}

// TestRecheckMerge: a re-run of the gate's check judges the PR merged as
// the commit again and hands the verdict to the gate, and nothing else.
func TestRecheckMerge(t *testing.T) {
	ctx := context.Background()
	owner, repo, _ := strings.Cut(githubtest.FixtureRepo, "/")
	inst := int64(githubtest.FixtureInstallation)
	gate := &recordingGate{}
	a, s, st := mergeCheckApp(t, gate)
	// GitHub lists these with the commit too; none is the PR merged as it.
	s.SetPull(githubtest.FixtureRepo, githubtest.PullRequest{ // dev -> master, open: its head is the merge commit
		Number: 13, User: githubtest.FixtureAuthor, BaseRef: "master", HeadRef: "dev", HeadSHA: mcMerge, MergeCommitSHA: mcOther,
	})
	s.SetPull(githubtest.FixtureRepo, githubtest.PullRequest{ // open, its test merge commit named as the commit
		Number: 14, User: githubtest.FixtureAuthor, BaseRef: "dev", HeadSHA: githubtest.FixtureNewHeadSHA, MergeCommitSHA: mcMerge,
	})
	s.SetPull(githubtest.FixtureRepo, githubtest.PullRequest{ // merged as another commit, carrying this one
		Number: 15, User: githubtest.FixtureAuthor, BaseRef: "master", HeadSHA: mcMerge, Commits: []string{mcMerge},
		Merged: true, MergeCommitSHA: mcOther,
	})

	if err := a.RecheckMerge(ctx, inst, owner, repo, mcMerge); err != nil {
		t.Fatal(err)
	}
	got := gate.got(t)
	if len(got) != 1 {
		t.Fatalf("gate got %d verdicts, want 1: %+v", len(got), got)
	}
	v := got[0]
	if v.PR != githubtest.FixturePull || v.MergeSHA != mcMerge || v.Base != "dev" || v.Complete || len(v.Holding) == 0 {
		t.Errorf("verdict = %+v; want #12 at the merge commit, incomplete with reasons", v)
	}
	stored, err := verdict.Get(ctx, st, owner, repo, mcMerge)
	if err != nil || stored.PR != v.PR || stored.Complete != v.Complete || !stored.At.Equal(v.At) {
		t.Errorf("stored verdict = %+v, %v; want the one handed to the gate", stored, err)
	}
	if runs := s.CheckRuns(githubtest.FixtureRepo); len(runs) != 0 {
		t.Errorf("posted %d check runs, want none: %+v", len(runs), runs)
	}
	if n := s.Count("repos/list-pull-requests-associated-with-commit"); n != 1 {
		t.Errorf("listed the commit's pull requests %d times", n)
	}
	for _, c := range s.Calls() {
		if c.Write && c.OperationID != "apps/create-installation-access-token" {
			t.Errorf("wrote to GitHub: %s %s", c.Method, c.OperationID)
		}
		if c.OperationID == "pulls/get" && !strings.HasSuffix(c.Path, "/pulls/12") {
			t.Errorf("fetched a PR that is not merged as the commit: %s", c.Path)
		}
	}
	if f := s.Failures(); len(f) > 0 {
		t.Errorf("fake GitHub rejected requests: %v", f)
	}
}

func TestRecheckMergeRefusals(t *testing.T) {
	ctx := context.Background()
	owner, repo, _ := strings.Cut(githubtest.FixtureRepo, "/")
	inst := int64(githubtest.FixtureInstallation)
	for name, tc := range map[string]struct {
		noGate    bool
		sha       string
		gateError error
		wantErr   string // "" for none
		wantIs    error
		verdicts  int // handed to the gate
		calls     bool
	}{
		"no gate configured": {noGate: true, sha: mcMerge},
		"not a commit SHA":   {sha: "main", wantErr: `"main" is not a commit SHA`},
		"short SHA":          {sha: mcMerge[:7], wantErr: "is not a commit SHA"},
		// The other commit is only the head of the open dev -> master PR.
		"no merged PR": {sha: mcOther, wantErr: "no merged pull request", wantIs: ErrNoMergedPR, calls: true},
		"gate fails": {sha: mcMerge, gateError: errors.New("codepipeline down"),
			wantErr: "release gate for acme/invoice-log-api#12: codepipeline down", verdicts: 1, calls: true},
	} {
		t.Run(name, func(t *testing.T) {
			gate := &recordingGate{VerdictError: tc.gateError}
			var g ReleaseGate = gate
			if tc.noGate {
				g = nil
			}
			a, s, _ := mergeCheckApp(t, g)
			s.SetPull(githubtest.FixtureRepo, githubtest.PullRequest{
				Number: 13, User: githubtest.FixtureAuthor, BaseRef: "master", HeadRef: "dev", HeadSHA: mcOther,
			})
			err := a.RecheckMerge(ctx, inst, owner, repo, tc.sha)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want it to say %q", err, tc.wantErr)
			case tc.wantIs != nil && !errors.Is(err, tc.wantIs):
				t.Errorf("err = %v, want errors.Is %v", err, tc.wantIs)
			}
			if n := len(gate.got(t)); n != tc.verdicts {
				t.Errorf("gate got %d verdicts, want %d", n, tc.verdicts)
			}
			if n := len(s.Calls()); (n > 0) != tc.calls {
				t.Errorf("%d GitHub calls, want any: %t", n, tc.calls)
			}
			if runs := s.CheckRuns(githubtest.FixtureRepo); len(runs) != 0 {
				t.Errorf("posted %d check runs", len(runs))
			}
		})
	}
}

func TestOwnCheckRun(t *testing.T) {
	for name, tc := range map[string]struct {
		botLogin, slug string
		own            bool
	}{
		"own slug":            {"checkoff[bot]", "checkoff", true},
		"case differs":        {"Checkoff[bot]", "checkoff", true},
		"another app":         {"checkoff[bot]", "release-bot", false},
		"no slug in payload":  {"checkoff[bot]", "", false},
		"bot login not known": {"", "release-bot", true},
	} {
		t.Run(name, func(t *testing.T) {
			a := &App{botLogin: tc.botLogin}
			if got := a.OwnCheckRun(tc.slug); got != tc.own {
				t.Errorf("OwnCheckRun = %t, want %t", got, tc.own)
			}
		})
	}
}
