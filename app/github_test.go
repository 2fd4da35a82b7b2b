package app

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/ghclient"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// fakeClock is a settable clock for the permission cache.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// restAgainstFake is the REST gitHub of the fixture repository's
// installation, over ghclient, against a fake GitHub.
func restAgainstFake(t *testing.T, clock *fakeClock) (*githubtest.Server, GitHub) {
	t.Helper()
	s := githubtest.New(t)
	s.AddRepo(githubtest.Repo{FullName: githubtest.FixtureRepo, Installation: githubtest.FixtureInstallation})
	clients, err := ghclient.New(ghclient.Config{AppID: s.AppID, PrivateKey: s.PrivateKeyPEM(), BaseURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	st := newRESTCaches(3*time.Minute, clock.Now)
	return s, &restGitHub{client: clients.Installation(githubtest.FixtureInstallation), caches: st}
}

func TestRESTConfigETag(t *testing.T) {
	ctx := context.Background()
	s, gh := restAgainstFake(t, &fakeClock{now: time.Now()})
	owner, repo, _ := strings.Cut(githubtest.FixtureRepo, "/")
	read := func() (string, bool) {
		t.Helper()
		data, found, err := gh.Config(ctx, owner, repo, "dev")
		if err != nil {
			t.Fatal(err)
		}
		return string(data), found
	}
	lastCall := func() githubtest.Call {
		calls := s.Calls()
		return calls[len(calls)-1]
	}
	if data, found := read(); found || data != "" {
		t.Fatalf("missing file: %q, %v", data, found)
	}
	if c := lastCall(); c.Status != 404 {
		t.Errorf("missing file answered %d", c.Status)
	}
	s.SetFile(githubtest.FixtureRepo, "dev", configPath, "branches: [dev]\n")
	if data, found := read(); !found || data != "branches: [dev]\n" {
		t.Fatalf("new file: %q, %v", data, found)
	}
	if data, found := read(); !found || data != "branches: [dev]\n" {
		t.Fatalf("cached file: %q, %v", data, found)
	}
	if c := lastCall(); !c.Conditional || c.Status != 304 {
		t.Errorf("second read: conditional=%v status %d, want a 304", c.Conditional, c.Status)
	}
	s.SetFile(githubtest.FixtureRepo, "dev", configPath, "branches: [dev, main]\n")
	if data, _ := read(); data != "branches: [dev, main]\n" {
		t.Errorf("changed file read as %q", data)
	}
	if c := lastCall(); !c.Conditional || c.Status != 200 {
		t.Errorf("changed file: conditional=%v status %d, want 200", c.Conditional, c.Status)
	}
	s.DeleteFile(githubtest.FixtureRepo, "dev", configPath)
	if _, found := read(); found {
		t.Error("deleted file still found")
	}
}

func TestRESTPermissionCache(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	s, gh := restAgainstFake(t, clock)
	owner, repo, _ := strings.Cut(githubtest.FixtureRepo, "/")
	s.SetPermission(githubtest.FixtureRepo, "bob", "maintain")
	perm := func(user string) string {
		t.Helper()
		p, err := gh.Permission(ctx, owner, repo, user)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	calls := func() int { return s.Count("repos/get-collaborator-permission-level") }
	if p := perm("bob"); p != "write" {
		t.Errorf("maintain reads as %q, want write", p)
	}
	clock.Add(2 * time.Minute)
	if p := perm("BOB"); p != "write" || calls() != 1 {
		t.Errorf("within the TTL: %q after %d calls", p, calls())
	}
	// Access revoked: it stops counting once the entry expires.
	s.SetPermission(githubtest.FixtureRepo, "bob", "read")
	clock.Add(2 * time.Minute)
	if p := perm("bob"); p != "read" || calls() != 2 {
		t.Errorf("after the TTL: %q after %d calls", p, calls())
	}
	// Someone GitHub does not know as a collaborator: 404 means none.
	if p := perm("mallory"); p != "none" {
		t.Errorf("unknown user: %q", p)
	}
	// A failure is an error, and is not cached.
	s.SetFault(func(c githubtest.Call, _ *http.Request) *githubtest.Fault {
		if c.OperationID == "repos/get-collaborator-permission-level" {
			f := githubtest.ServerError(502)
			return &f
		}
		return nil
	})
	s.SetPermission(githubtest.FixtureRepo, "carol", "write")
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond) // no time for retries
	defer cancel()
	if p, err := gh.Permission(cctx, owner, repo, "carol"); err == nil {
		t.Errorf("a 502 gave permission %q", p)
	}
	s.SetFault(nil)
	if p := perm("carol"); p != "write" {
		t.Errorf("after the failure: %q", p)
	}
}
