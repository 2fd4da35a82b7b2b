package githubtest_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

const (
	repoOwner = "acme"
	repoName  = "invoice-log-api"
	fullName  = repoOwner + "/" + repoName
	install   = int64(4242)
)

var (
	shaBase = strings.Repeat("a", 40)
	shaPR1  = strings.Repeat("b", 40)
	shaPR2  = strings.Repeat("c", 40)
	shaMrg  = strings.Repeat("d", 40)
)

// clients wires go-github through ghinstallation to the fake, the way
// checkoff's production code does: an app client (JWT) and an installation
// client (token).
func clients(t *testing.T, s *githubtest.Server) (app, inst *github.Client) {
	t.Helper()
	base, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, s.AppID, s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	atr.BaseURL = strings.TrimSuffix(s.URL, "/")
	itr := ghinstallation.NewFromAppsTransport(atr, install)
	itr.BaseURL = atr.BaseURL
	app = github.NewClient(&http.Client{Transport: atr})
	app.BaseURL = base
	inst = github.NewClient(&http.Client{Transport: itr})
	inst.BaseURL = base
	return app, inst
}

func newFake(t *testing.T) *githubtest.Server {
	s := githubtest.New(t)
	s.AddRepo(githubtest.Repo{FullName: fullName, Installation: install})
	// main: base <- merge(PR #7); PR #7 commits pr1 <- pr2 on base.
	s.AddCommit(fullName, githubtest.Commit{SHA: shaBase, Message: "Initial", Author: "alice"})
	s.AddCommit(fullName, githubtest.Commit{SHA: shaPR1, Parents: []string{shaBase}, Message: "Add invoice export", Author: "alice"})
	s.AddCommit(fullName, githubtest.Commit{SHA: shaPR2, Parents: []string{shaPR1}, Message: "Fix rounding", Author: "alice"})
	s.AddCommit(fullName, githubtest.Commit{SHA: shaMrg, Parents: []string{shaBase, shaPR2}, Message: "Merge pull request #7", Author: "bob"})
	s.SetBranch(fullName, "main", shaMrg)
	s.SetPull(fullName, githubtest.PullRequest{
		Number: 7, User: "alice", Title: "Invoice export", Body: "## Author Checklist\n- [x] Tests\n",
		BaseRef: "main", BaseSHA: shaBase, HeadRef: "invoice-export", HeadSHA: shaPR2,
		Commits: []string{shaPR1, shaPR2}, Merged: true, MergeCommitSHA: shaMrg, MergedBy: "bob",
	})
	return s
}

func TestGoGitHubCheckRuns(t *testing.T) {
	s := newFake(t)
	_, gh := clients(t, s)
	ctx := context.Background()
	run, _, err := gh.Checks.CreateCheckRun(ctx, repoOwner, repoName, github.CreateCheckRunOptions{
		Name: "Reviewer Checklist", HeadSHA: shaPR2, Status: github.String("in_progress"),
		Output:  &github.CheckRunOutput{Title: github.String("Reviewer Checklist: 0 of 2 ticked"), Summary: github.String("- [ ] Read the code")},
		Actions: []*github.CheckRunAction{{Label: "Re-check", Description: "Evaluate the checklists again", Identifier: "recheck"}},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if run.GetID() == 0 || run.GetStatus() != "in_progress" || run.GetApp().GetID() != s.AppID {
		t.Errorf("created run = %+v", run)
	}
	_, _, err = gh.Checks.UpdateCheckRun(ctx, repoOwner, repoName, run.GetID(), github.UpdateCheckRunOptions{
		Name: "Reviewer Checklist", Conclusion: github.String("success"),
		CompletedAt: &github.Timestamp{Time: time.Now()},
		Output:      &github.CheckRunOutput{Title: github.String("Reviewer Checklist: 2 of 2 ticked"), Summary: github.String("done")},
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, repoOwner, repoName, shaPR2, &github.ListCheckRunsOptions{CheckName: github.String("Reviewer Checklist")})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if list.GetTotal() != 1 || list.CheckRuns[0].GetConclusion() != "success" || list.CheckRuns[0].GetOutput().GetTitle() != "Reviewer Checklist: 2 of 2 ticked" {
		t.Errorf("listed = %+v", list.CheckRuns)
	}
	stored := s.CheckRuns(fullName)
	if len(stored) != 1 || stored[0].Updates != 1 || stored[0].Actions[0].Identifier != "recheck" {
		t.Errorf("stored = %+v", stored)
	}
	// ghinstallation caches its token: one token for all the calls.
	if s.TokensIssued() != 1 || s.Count("apps/create-installation-access-token") != 1 {
		t.Errorf("tokens issued = %d, want 1", s.TokensIssued())
	}
}

func TestGoGitHubContentsWithETag(t *testing.T) {
	s := newFake(t)
	_, gh := clients(t, s)
	ctx := context.Background()
	cfg := "checklists:\n  - name: Author Checklist\n    ticked_by: author\n" + strings.Repeat("# padding to wrap base64 lines\n", 5)
	s.SetFile(fullName, "main", ".github/checkoff.yml", cfg)
	file, _, resp, err := gh.Repositories.GetContents(ctx, repoOwner, repoName, ".github/checkoff.yml", &github.RepositoryContentGetOptions{Ref: "main"})
	if err != nil {
		t.Fatalf("get contents: %v", err)
	}
	got, err := file.GetContent()
	if err != nil || got != cfg {
		t.Fatalf("content = %q, %v; want %q", got, err, cfg)
	}
	etag := resp.Header.Get("ETag")

	conditional := func() int {
		req, err := gh.NewRequest("GET", "repos/"+fullName+"/contents/.github/checkoff.yml?ref=main", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("If-None-Match", etag)
		resp, err := gh.Do(ctx, req, nil)
		if resp == nil {
			t.Fatalf("conditional get: %v", err)
		}
		return resp.StatusCode
	}
	if got := conditional(); got != http.StatusNotModified {
		t.Errorf("unchanged file: %d, want 304", got)
	}
	s.SetFile(fullName, "main", ".github/checkoff.yml", "checklists: []\n")
	if got := conditional(); got != http.StatusOK {
		t.Errorf("changed file: %d, want 200", got)
	}

	_, _, resp, err = gh.Repositories.GetContents(ctx, repoOwner, repoName, ".github/missing.yml", &github.RepositoryContentGetOptions{Ref: "main"})
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing file: %v", err)
	}
	// The config is read at the base SHA too: a SHA finds the branch's files.
	_, _, _, err = gh.Repositories.GetContents(ctx, repoOwner, repoName, ".github/checkoff.yml", &github.RepositoryContentGetOptions{Ref: shaMrg})
	if err != nil {
		t.Errorf("contents at the branch head SHA: %v", err)
	}
}

func TestGoGitHubPermissionPullsReviews(t *testing.T) {
	s := newFake(t)
	_, gh := clients(t, s)
	ctx := context.Background()
	roles := map[string]string{"ana": "admin", "max": "maintain", "wes": "write", "tri": "triage", "rea": "read", "non": "none"}
	perms := map[string]string{"ana": "admin", "max": "write", "wes": "write", "tri": "read", "rea": "read", "non": "none"}
	for login, role := range roles {
		s.SetPermission(fullName, login, role)
	}
	for login, role := range roles {
		p, _, err := gh.Repositories.GetPermissionLevel(ctx, repoOwner, repoName, login)
		if err != nil {
			t.Fatalf("%s: %v", login, err)
		}
		if p.GetPermission() != perms[login] || p.GetUser().GetRoleName() != role || p.GetUser().GetLogin() != login {
			t.Errorf("%s: permission %q role %q, want %q %q", login, p.GetPermission(), p.GetUser().GetRoleName(), perms[login], role)
		}
	}
	if _, resp, _ := gh.Repositories.GetPermissionLevel(ctx, repoOwner, repoName, "stranger"); resp.StatusCode != 404 {
		t.Errorf("unknown user: %d, want 404", resp.StatusCode)
	}

	pr, _, err := gh.PullRequests.Get(ctx, repoOwner, repoName, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !pr.GetMerged() || pr.GetMergeCommitSHA() != shaMrg || pr.GetHead().GetSHA() != shaPR2 || pr.GetUser().GetLogin() != "alice" || pr.GetBody() == "" {
		t.Errorf("pull = %+v", pr)
	}
	s.SetReview(fullName, 7, githubtest.Review{User: "bob", State: "APPROVED", Body: "- [x] Read the code"})
	s.SetReview(fullName, 7, githubtest.Review{User: "bob", State: "PENDING"})
	reviews, _, err := gh.PullRequests.ListReviews(ctx, repoOwner, repoName, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reviews) != 1 || reviews[0].GetState() != "APPROVED" || reviews[0].GetCommitID() != shaPR2 || reviews[0].GetUser().GetLogin() != "bob" {
		t.Errorf("reviews = %+v, want the approval only (pending reviews are private)", reviews)
	}

	comment, _, err := gh.Issues.CreateComment(ctx, repoOwner, repoName, 7, &github.IssueComment{Body: github.String("Holding the release: 1 box unticked")})
	if err != nil {
		t.Fatal(err)
	}
	if comment.GetUser().GetLogin() != "checkoff[bot]" || len(s.Comments(fullName, 7)) != 1 {
		t.Errorf("comment = %+v", comment)
	}
}

func TestGoGitHubCompareAndCommitPulls(t *testing.T) {
	s := newFake(t)
	_, gh := clients(t, s)
	ctx := context.Background()
	cmp, _, err := gh.Repositories.CompareCommits(ctx, repoOwner, repoName, shaBase, "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	for _, c := range cmp.Commits {
		shas = append(shas, c.GetSHA()[:1])
	}
	if strings.Join(shas, "") != "bcd" || cmp.GetStatus() != "ahead" || cmp.GetAheadBy() != 3 || cmp.GetMergeBaseCommit().GetSHA() != shaBase {
		t.Errorf("compare = %s status %s ahead %d merge base %s", shas, cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetMergeBaseCommit().GetSHA())
	}
	if cmp.Commits[2].GetCommit().GetMessage() != "Merge pull request #7" || len(cmp.Commits[2].Parents) != 2 {
		t.Errorf("merge commit = %+v", cmp.Commits[2])
	}
	page2, resp, err := gh.Repositories.CompareCommits(ctx, repoOwner, repoName, shaBase, "main", &github.ListOptions{PerPage: 2, Page: 2})
	if err != nil || len(page2.Commits) != 1 || resp.PrevPage != 1 {
		t.Errorf("page 2 = %d commits, prev %d, %v", len(page2.Commits), resp.PrevPage, err)
	}

	for _, sha := range []string{shaMrg, shaPR1} {
		prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, repoOwner, repoName, sha, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(prs) != 1 || prs[0].GetNumber() != 7 || prs[0].GetMergedAt().IsZero() {
			t.Errorf("pulls for %s = %+v", sha[:7], prs)
		}
	}
	prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, repoOwner, repoName, shaBase, nil)
	if err != nil || len(prs) != 0 {
		t.Errorf("pulls for a direct push = %v, %v; want none", prs, err)
	}
}

func TestGoGitHubDeliveriesPaging(t *testing.T) {
	s := newFake(t)
	app, _ := clients(t, s)
	ctx := context.Background()
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	codes := []int{200, 503, 200, 0, 200}
	for i, code := range codes {
		s.AddDelivery(githubtest.Delivery{DeliveredAt: start.Add(time.Duration(i) * time.Minute), StatusCode: code,
			Event: "pull_request", Action: "edited", InstallationID: install, RepositoryID: 1})
	}
	var seen []*github.HookDelivery
	opts := &github.ListCursorOptions{PerPage: 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("cursor never ended")
		}
		page, resp, err := app.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, page...)
		if resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	if len(seen) != 5 {
		t.Fatalf("listed %d deliveries, want 5", len(seen))
	}
	for i, d := range seen {
		want := codes[len(codes)-1-i] // newest first
		if d.GetStatusCode() != want || d.GetGUID() == "" || d.GetEvent() != "pull_request" {
			t.Errorf("delivery %d = code %d guid %q, want code %d", i, d.GetStatusCode(), d.GetGUID(), want)
		}
	}
	failed := seen[3] // the 503
	one, _, err := app.Apps.GetHookDelivery(ctx, failed.GetID())
	if err != nil || one.GetStatus() != "Invalid HTTP Response: 503" || one.GetRequest() == nil {
		t.Errorf("get delivery = %+v, %v", one, err)
	}
	_, _, err = app.Apps.RedeliverHookDelivery(ctx, failed.GetID())
	var accepted *github.AcceptedError
	if !errors.As(err, &accepted) {
		t.Fatalf("redeliver: %v, want go-github's AcceptedError for 202", err)
	}
	all := s.Deliveries()
	if len(all) != 6 || !all[0].Redelivery || all[0].GUID != failed.GetGUID() || all[0].StatusCode != 200 {
		t.Errorf("after redelivery newest = %+v", all[0])
	}

	got, _, err := app.Apps.Get(ctx, "")
	if err != nil || got.GetID() != s.AppID || got.GetSlug() != "checkoff" {
		t.Errorf("app = %+v, %v", got, err)
	}
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, repoOwner, repoName)
	if err != nil || inst.GetID() != install {
		t.Errorf("installation = %+v, %v", inst, err)
	}
}

func TestGoGitHubSeesInjectedFaults(t *testing.T) {
	s := newFake(t)
	_, gh := clients(t, s)
	ctx := context.Background()
	s.FailNext("pulls/get", 1, githubtest.ServerError(http.StatusBadGateway))
	_, resp, err := gh.PullRequests.Get(ctx, repoOwner, repoName, 7)
	if err == nil || resp.StatusCode != http.StatusBadGateway {
		t.Errorf("502: %v", err)
	}
	if _, _, err := gh.PullRequests.Get(ctx, repoOwner, repoName, 7); err != nil {
		t.Errorf("after the fault: %v", err)
	}
	// Last: go-github refuses further calls until Retry-After has passed.
	s.FailNext("pulls/get", 1, githubtest.SecondaryRateLimit(7*time.Second))
	_, _, err = gh.PullRequests.Get(ctx, repoOwner, repoName, 7)
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 7*time.Second {
		t.Errorf("secondary rate limit: %v, want AbuseRateLimitError with Retry-After 7s", err)
	}
	if n := s.Count("pulls/get"); n != 3 {
		t.Errorf("pulls/get calls = %d, want 3", n)
	}
}
