package ghclient

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v62/github"
)

// DefaultBaseURL is the REST API root of github.com.
const DefaultBaseURL = "https://api.github.com/"

// repoInstallationTTL bounds how long a repository's installation ID is
// trusted: an App can be uninstalled and installed again with a new ID,
// and a warm Lambda must notice.
const repoInstallationTTL = 10 * time.Minute

// maxIdleConnsPerHost is how many idle connections to the API host are
// kept for reuse: as many as the deliveries `checkoff serve` handles at once
// (its --max-concurrent default), each making its calls in sequence.
const maxIdleConnsPerHost = 64

// userAgent names checkoff to GitHub (it requires a User-Agent).
const userAgent = "checkoff"

// Config configures New.
type Config struct {
	AppID      int64
	PrivateKey []byte // PEM, PKCS#1 or PKCS#8 RSA
	// BaseURL is the REST API root: https://api.github.com/ (the default),
	// https://HOST/api/v3/ for GitHub Enterprise Server, or a test server.
	// It is used as given; nothing like /api/v3/ is appended.
	BaseURL string
	// Transport carries the requests, beneath the retry transport; nil means
	// a clone of http.DefaultTransport keeping up to 64 idle connections
	// per host.
	Transport http.RoundTripper
	Logger    *slog.Logger // nil discards
}

// Clients builds and caches GitHub clients for one App. It is safe for
// concurrent use and meant to live as long as the process (on Lambda:
// across warm invocations), so installation tokens are reused until near
// expiry.
type Clients struct {
	appID   int64
	key     *rsa.PrivateKey
	baseURL *url.URL
	tr      http.RoundTripper // retry transport shared by every client
	app     *github.Client
	now     func() time.Time

	mu       sync.Mutex
	installs map[int64]*github.Client
	repoIDs  map[string]repoInstallation // owner/repo, lower-cased
}

type repoInstallation struct {
	id      int64
	expires time.Time
}

// New parses the App's private key and prepares the app client. Installation
// clients are built on first use. Errors never quote the key.
func New(cfg Config) (*Clients, error) {
	if cfg.AppID <= 0 {
		return nil, fmt.Errorf("GitHub App ID must be positive, got %d", cfg.AppID)
	}
	key, err := parseKey(cfg.PrivateKey)
	if err != nil {
		return nil, err
	}
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	next := cfg.Transport
	if next == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Concurrent deliveries all talk to one host: Go's default of 2 idle
		// connections per host would close and re-dial (TLS) the rest.
		t.MaxIdleConnsPerHost = maxIdleConnsPerHost
		t.MaxIdleConns = max(t.MaxIdleConns, maxIdleConnsPerHost)
		next = t
	}
	c := &Clients{
		appID:    cfg.AppID,
		key:      key,
		baseURL:  base,
		tr:       Retry(next, cfg.Logger),
		now:      time.Now,
		installs: map[int64]*github.Client{},
		repoIDs:  map[string]repoInstallation{},
	}
	c.app = c.newClient(c.appsTransport())
	return c, nil
}

// parseKey parses a PEM RSA key. Its errors are fixed strings: the
// underlying parser errors are dropped so no key bytes can leak.
func parseKey(pemKey []byte) (*rsa.PrivateKey, error) {
	if len(pemKey) == 0 {
		return nil, errors.New("GitHub App private key is empty")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemKey)
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, jwt.ErrKeyMustBePEMEncoded):
		return nil, errors.New("GitHub App private key is not PEM-encoded")
	case errors.Is(err, jwt.ErrNotRSAPrivateKey):
		return nil, errors.New("GitHub App private key is not an RSA key")
	default:
		return nil, errors.New("GitHub App private key is not a valid PKCS#1 or PKCS#8 RSA key")
	}
}

// parseBaseURL checks an API root and gives it a trailing slash, which
// go-github requires.
func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url errors quote the input, which may hold credentials.
		return nil, errors.New("GitHub API URL is not a valid URL")
	}
	if u.User != nil {
		return nil, errors.New("GitHub API URL must not contain credentials")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q: want http(s)://host/path", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("GitHub API URL %q: must not have a query or fragment", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// appsTransport returns a fresh JWT transport. Every installation gets its
// own: ghinstallation's Transport writes fields of its AppsTransport while
// refreshing a token, so sharing one would race. The parsed key is shared.
func (c *Clients) appsTransport() *ghinstallation.AppsTransport {
	atr := ghinstallation.NewAppsTransportFromPrivateKey(c.tr, c.appID, c.key)
	atr.BaseURL = strings.TrimSuffix(c.baseURL.String(), "/")
	return atr
}

func (c *Clients) newClient(rt http.RoundTripper) *github.Client {
	gh := github.NewClient(&http.Client{Transport: rt})
	base := *c.baseURL
	gh.BaseURL = &base
	if c.baseURL.String() != DefaultBaseURL {
		// Uploads are unused by checkoff; on GHES they live beside the API.
		upload := *c.baseURL
		if p, ok := strings.CutSuffix(upload.Path, "/api/v3/"); ok {
			upload.Path = p + "/api/uploads/"
		}
		gh.UploadURL = &upload
	}
	gh.UserAgent = userAgent
	return gh
}

// App returns the client authenticated as the App itself (a JWT), for the
// /app/... endpoints and installation lookups.
func (c *Clients) App() *github.Client { return c.app }

// Installation returns the client of installation id, built on first use and
// reused afterwards; its token is fetched lazily and renewed a minute before
// it expires.
func (c *Clients) Installation(id int64) *github.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gh, ok := c.installs[id]; ok {
		return gh
	}
	itr := ghinstallation.NewFromAppsTransport(c.appsTransport(), id)
	itr.BaseURL = strings.TrimSuffix(c.baseURL.String(), "/")
	gh := c.newClient(itr)
	c.installs[id] = gh
	return gh
}

// RepoInstallation returns the ID of the App's installation on owner/repo
// (GET /repos/{owner}/{repo}/installation as the App). Answers are cached
// for a few minutes; failures are not cached.
func (c *Clients) RepoInstallation(ctx context.Context, owner, repo string) (int64, error) {
	key := strings.ToLower(owner + "/" + repo)
	c.mu.Lock()
	cached, ok := c.repoIDs[key]
	c.mu.Unlock()
	if ok && c.now().Before(cached.expires) {
		return cached.id, nil
	}
	id, err := c.lookupRepoInstallation(ctx, owner, repo)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.repoIDs[key] = repoInstallation{id: id, expires: c.now().Add(repoInstallationTTL)}
	c.mu.Unlock()
	return id, nil
}

func (c *Clients) lookupRepoInstallation(ctx context.Context, owner, repo string) (int64, error) {
	inst, _, err := c.app.Apps.FindRepositoryInstallation(ctx, owner, repo)
	if err != nil {
		return 0, fmt.Errorf("find installation of %s/%s: %w", owner, repo, err)
	}
	if inst.GetID() <= 0 {
		return 0, fmt.Errorf("find installation of %s/%s: response has no installation id", owner, repo)
	}
	return inst.GetID(), nil
}

// BotLogin returns the login of the App's bot user, "<slug>[bot]", from
// GET /app as the App (JWT). Every call is a request: callers look it up
// once, at start.
func (c *Clients) BotLogin(ctx context.Context) (string, error) {
	a, _, err := c.app.Apps.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("get the App: %w", err)
	}
	if a.GetSlug() == "" {
		return "", errors.New("get the App: response has no slug")
	}
	return a.GetSlug() + "[bot]", nil
}
