package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
)

// GitHub is everything the App asks of GitHub for one installation, in
// checkoff's own types. The REST implementation (RESTGitHub) and DryRun
// satisfy it; tests use a struct fake (internal/apptest).
type GitHub interface {
	// Config returns the repository config file at ref (a full ref name,
	// refs/heads/<branch>, a commit SHA, or "" for the default branch);
	// found is false when the file (or the repository) does not exist.
	Config(ctx context.Context, owner, repo, ref string) (data []byte, found bool, err error)
	// Commits lists the commits reachable from head and not from base (a
	// branch name or SHA), oldest first, with their parents and people;
	// complete is false when there were more than checkoff reads.
	Commits(ctx context.Context, owner, repo, base, head string) (commits []Commit, complete bool, err error)
	// Permission returns the collaborator permission of user: admin,
	// write, read or none (GitHub folds maintain into write).
	Permission(ctx context.Context, owner, repo, user string) (string, error)
	// CreateCheckRun posts a completed check run.
	CreateCheckRun(ctx context.Context, owner, repo string, run CheckRun) error
	// PullRequest fetches a pull request's state (for events that carry
	// only its number). Its Installation is left 0.
	PullRequest(ctx context.Context, owner, repo string, number int) (PRState, error)
	// PullRequestsWithCommit lists the pull requests GitHub associates
	// with a commit (for a re-run of the release gate's check on a merge
	// commit); Owner and Repo are each PR's base repository.
	PullRequestsWithCommit(ctx context.Context, owner, repo, sha string) ([]PRState, error)
	// ChangedFiles lists the paths changed between two commits (a push's
	// before and after); complete is false when GitHub's list (300 files)
	// was cut short.
	ChangedFiles(ctx context.Context, owner, repo, base, head string) (files []string, complete bool, err error)
	// Files lists the paths a pull request changes (GitHub lists 3,000 at
	// most); complete is false when there were more.
	Files(ctx context.Context, owner, repo string, number int) (files []string, complete bool, err error)
	// Review returns review id of a pull request as it stands now, or nil
	// when GitHub does not list it: deliveries of a review's edits may
	// arrive in any order, and only its newest state is the reviewer's word.
	Review(ctx context.Context, owner, repo string, number int, id int64) (*Review, error)
}

// Review is a pull request review as checkoff reads it.
type Review struct {
	ID          int64
	User        Actor
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING (any case)
	Body        string
	CommitID    string // the commit the review is of
	SubmittedAt time.Time
}

// Approved reports whether the review approves.
func (r Review) Approved() bool { return strings.EqualFold(r.State, "approved") }

// Dismissed reports whether the review was dismissed.
func (r Review) Dismissed() bool { return strings.EqualFold(r.State, "dismissed") }

// ReviewFrom converts a go-github review (a webhook's or a REST answer).
func ReviewFrom(r *github.PullRequestReview) Review {
	return Review{
		ID: r.GetID(), User: ActorOf(r.GetUser()), State: r.GetState(), Body: r.GetBody(),
		CommitID: r.GetCommitID(), SubmittedAt: r.GetSubmittedAt().Time,
	}
}

// configPath is where a repository keeps its checkoff configuration.
const configPath = ".github/checkoff.yml"

// orgConfigRepo is the owner's shared configuration repository: its
// .github/checkoff.yml applies to every repository that has none.
const orgConfigRepo = ".github"

// commit is what checkoff reads of a git commit.
type Commit struct {
	SHA       string
	Parents   []string
	Author    string // GitHub login, lower case; "" when not linked to an account
	AuthorBot bool
	Committer string // likewise; "web-flow" for commits GitHub made
	CommitBot bool
	Verified  bool // GitHub verified its signature
}

// webFlow is the committer GitHub records for commits it makes itself
// (web edits, "Update branch" merges), signed with GitHub's key.
const webFlow = "web-flow"

// branchRef is the full ref of a branch, so a tag of the same name cannot
// stand in for it.
func branchRef(branch string) string { return "refs/heads/" + branch }

// restCaches are shared by every installation's restGitHub, so they live
// as long as the App (on Lambda: across warm invocations).
type restCaches struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	config map[string]cachedFile // owner/repo@ref
	perm   map[string]cachedPerm // owner/repo:user
}

type cachedFile struct {
	etag  string
	data  []byte
	found bool
}

type cachedPerm struct {
	perm    string
	expires time.Time
}

func newRESTCaches(ttl time.Duration, now func() time.Time) *restCaches {
	return &restCaches{ttl: ttl, now: now, config: map[string]cachedFile{}, perm: map[string]cachedPerm{}}
}

// maxCacheEntries bounds each cache: a long-lived server must not grow
// without limit; dropping everything is crude but the entries are cheap to
// fetch again.
const maxCacheEntries = 4096

// restGitHub is gitHub over go-github with an installation client.
type restGitHub struct {
	client *github.Client
	caches *restCaches
}

var _ GitHub = (*restGitHub)(nil)

// Config fetches the file with If-None-Match, so an unchanged config costs
// a 304 that does not count against the rate limit.
func (g *restGitHub) Config(ctx context.Context, owner, repo, ref string) ([]byte, bool, error) {
	key := owner + "/" + repo + "@" + ref
	g.caches.mu.Lock()
	cached, ok := g.caches.config[key]
	g.caches.mu.Unlock()

	u := fmt.Sprintf("repos/%s/%s/contents/%s", owner, repo, configPath)
	if ref != "" {
		u += "?ref=" + url.QueryEscape(ref)
	}
	req, err := g.client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("build config request: %w", err)
	}
	if ok && cached.etag != "" {
		req.Header.Set("If-None-Match", cached.etag)
	}
	var file github.RepositoryContent
	resp, err := g.client.Do(ctx, req, &file)
	switch {
	case resp != nil && resp.StatusCode == http.StatusNotModified && ok:
		return cached.data, cached.found, nil
	case resp != nil && resp.StatusCode == http.StatusNotFound:
		g.storeConfig(key, cachedFile{etag: resp.Header.Get("ETag")})
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("get %s of %s/%s@%s: %w", configPath, owner, repo, ref, err)
	}
	if file.GetType() != "file" {
		return nil, false, fmt.Errorf("get %s of %s/%s@%s: not a file (%s)", configPath, owner, repo, ref, file.GetType())
	}
	data, err := file.GetContent()
	if err != nil {
		return nil, false, fmt.Errorf("decode %s of %s/%s@%s: %w", configPath, owner, repo, ref, err)
	}
	g.storeConfig(key, cachedFile{etag: resp.Header.Get("ETag"), data: []byte(data), found: true})
	return []byte(data), true, nil
}

func (g *restGitHub) storeConfig(key string, f cachedFile) {
	g.caches.mu.Lock()
	defer g.caches.mu.Unlock()
	if len(g.caches.config) >= maxCacheEntries {
		clear(g.caches.config)
	}
	g.caches.config[key] = f
}

// Permission is cached for the App's PermissionTTL.
func (g *restGitHub) Permission(ctx context.Context, owner, repo, user string) (string, error) {
	key := strings.ToLower(owner + "/" + repo + ":" + user)
	now := g.caches.now()
	g.caches.mu.Lock()
	c, ok := g.caches.perm[key]
	g.caches.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.perm, nil
	}
	level, resp, err := g.client.Repositories.GetPermissionLevel(ctx, owner, repo, user)
	if err != nil {
		// GitHub answers 404 for a login that is not a collaborator of a
		// private repo's org; that is "none", not a failure.
		var er *github.ErrorResponse
		if errors.As(err, &er) && resp != nil && resp.StatusCode == http.StatusNotFound {
			level = &github.RepositoryPermissionLevel{Permission: github.String("none")}
		} else {
			return "", fmt.Errorf("get permission of %s on %s/%s: %w", user, owner, repo, err)
		}
	}
	perm := level.GetPermission()
	g.caches.mu.Lock()
	if len(g.caches.perm) >= maxCacheEntries {
		clear(g.caches.perm)
	}
	g.caches.perm[key] = cachedPerm{perm: perm, expires: now.Add(g.caches.ttl)}
	g.caches.mu.Unlock()
	return perm, nil
}

func (g *restGitHub) CreateCheckRun(ctx context.Context, owner, repo string, run CheckRun) error {
	// go-github's CreateCheckRun decodes the created run, which checkoff
	// never reads: that decode was a tenth of a delivery's CPU. The
	// answer is read to its end (io.Discard) so the connection is reused.
	req, err := g.client.NewRequest(http.MethodPost, "repos/"+url.PathEscape(owner)+"/"+url.PathEscape(repo)+"/check-runs", run.options())
	if err != nil {
		return fmt.Errorf("create check run %q on %s: %w", run.Name, run.HeadSHA, err)
	}
	if _, err := g.client.Do(ctx, req, io.Discard); err != nil {
		return fmt.Errorf("create check run %q on %s: %w", run.Name, run.HeadSHA, err)
	}
	return nil
}

func (g *restGitHub) PullRequest(ctx context.Context, owner, repo string, number int) (PRState, error) {
	pr, _, err := g.client.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return PRState{}, fmt.Errorf("get pull request %s/%s#%d: %w", owner, repo, number, err)
	}
	return PRFrom(0, &github.Repository{Owner: &github.User{Login: &owner}, Name: &repo}, pr), nil
}

// commitPRPages bounds the pages (of 100) read when listing a commit's pull
// requests: a merge commit belongs to its own PR and to the few promotion
// PRs that carried it on, never to hundreds.
const commitPRPages = 3

func (g *restGitHub) PullRequestsWithCommit(ctx context.Context, owner, repo, sha string) ([]PRState, error) {
	var out []PRState
	opts := &github.ListOptions{PerPage: 100}
	for page := 0; page < commitPRPages; page++ {
		prs, resp, err := g.client.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, opts)
		if err != nil {
			return nil, fmt.Errorf("list pull requests of %s/%s@%s: %w", owner, repo, sha, err)
		}
		for _, pr := range prs {
			base := pr.GetBase().GetRepo()
			r := &github.Repository{Owner: &github.User{Login: &owner}, Name: &repo}
			if base != nil && base.GetName() != "" {
				r = base
			}
			p := PRFrom(0, r, pr)
			// The list gives merged_at, not merged: a merged PR is one with both.
			p.Merged = pr.MergedAt != nil
			out = append(out, p)
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// reviewPages bounds the pages (of 100) read to find a review: a pull
// request with over a thousand reviews is not one checkoff can judge.
const reviewPages = 10

func (g *restGitHub) Review(ctx context.Context, owner, repo string, number int, id int64) (*Review, error) {
	opts := &github.ListOptions{PerPage: 100}
	for page := 0; page < reviewPages; page++ {
		rs, resp, err := g.client.PullRequests.ListReviews(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list reviews of %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, r := range rs {
			if r.GetID() == id {
				rv := ReviewFrom(r)
				return &rv, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
	return nil, fmt.Errorf("list reviews of %s/%s#%d: review %d not in the first %d", owner, repo, number, id, reviewPages*100)
}

// commitPages bounds the pages (of 100) read to list a pull request's
// commits: GitHub's own pull request commit list stops at 250, and a PR of
// thousands of commits is judged with its contributors unknown (fail
// closed) rather than read for minutes.
const commitPages = 10

func (g *restGitHub) Commits(ctx context.Context, owner, repo, base, head string) ([]Commit, bool, error) {
	var out []Commit
	opts := &github.ListOptions{PerPage: 100}
	for page := 0; page < commitPages; page++ {
		cmp, resp, err := g.client.Repositories.CompareCommits(ctx, owner, repo, base, head, opts) // escapes both
		if err != nil {
			return nil, false, fmt.Errorf("compare %s...%s of %s/%s: %w", base, head, owner, repo, err)
		}
		for _, c := range cmp.Commits {
			out = append(out, commitFrom(c))
		}
		if resp == nil || resp.NextPage == 0 {
			return out, true, nil
		}
		opts.Page = resp.NextPage
	}
	return out, false, nil
}

func commitFrom(c *github.RepositoryCommit) Commit {
	out := Commit{
		SHA:       c.GetSHA(),
		Author:    strings.ToLower(c.GetAuthor().GetLogin()),
		AuthorBot: isBot(c.GetAuthor()),
		Committer: strings.ToLower(c.GetCommitter().GetLogin()),
		CommitBot: isBot(c.GetCommitter()),
		Verified:  c.GetCommit().GetVerification().GetVerified(),
	}
	for _, p := range c.Parents {
		out.Parents = append(out.Parents, p.GetSHA())
	}
	return out
}

// filePages bounds the pages (of 100) of a pull request's files: GitHub
// lists 3,000 files at most.
const filePages = 30

func (g *restGitHub) Files(ctx context.Context, owner, repo string, number int) ([]string, bool, error) {
	var out []string
	opts := &github.ListOptions{PerPage: 100}
	for page := 0; page < filePages; page++ {
		files, resp, err := g.client.PullRequests.ListFiles(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, false, fmt.Errorf("list files of %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, f := range files {
			out = append(out, f.GetFilename())
		}
		if resp == nil || resp.NextPage == 0 {
			return out, len(out) < 3000, nil
		}
		opts.Page = resp.NextPage
	}
	return out, false, nil
}

// maxCompareFiles is how many files GitHub lists in a comparison.
const maxCompareFiles = 300

func (g *restGitHub) ChangedFiles(ctx context.Context, owner, repo, base, head string) ([]string, bool, error) {
	cmp, _, err := g.client.Repositories.CompareCommits(ctx, owner, repo, base, head, &github.ListOptions{PerPage: 1})
	if err != nil {
		return nil, false, fmt.Errorf("compare %s...%s of %s/%s: %w", base, head, owner, repo, err)
	}
	var out []string
	for _, f := range cmp.Files {
		out = append(out, f.GetFilename())
	}
	return out, len(out) < maxCompareFiles, nil
}
