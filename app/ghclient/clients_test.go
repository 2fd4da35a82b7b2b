package ghclient

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

const testAppID = 4242

// testKey is generated once: RSA key generation is slow under -race.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func pkcs1PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey())})
}

func pkcs8PEM(t *testing.T) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// fakeGitHub is the slice of the GitHub API ghclient talks to. It checks the
// App JWT (signature, issuer, lifetime) and installation tokens the way
// GitHub does, and can fail the token endpoint a few times.
type fakeGitHub struct {
	t      *testing.T
	prefix string // "/api/v3" for GHES

	mu             sync.Mutex
	TokenFailures  int // answer the next token requests with 502
	APIFailures    int // answer the next installation API requests with 503
	tokenCalls     map[int64]int
	repoCalls      int
	paths          []string
	issued         map[string]int64 // installation token -> installation
	jwts           []string
	Installations  map[string]int64 // owner/repo -> installation
	TokenExpiresIn time.Duration
}

func newFakeGitHub(t *testing.T, prefix string) (*httptest.Server, *fakeGitHub) {
	f := &fakeGitHub{
		t: t, prefix: prefix,
		tokenCalls:     map[int64]int{},
		issued:         map[string]int64{},
		Installations:  map[string]int64{"octo/widgets": 77},
		TokenExpiresIn: time.Hour,
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv, f
}

var (
	tokenPath = regexp.MustCompile(`^/app/installations/(\d+)/access_tokens$`)
	repoInst  = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/installation$`)
	pullPath  = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/pulls/(\d+)$`)
)

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	path, ok := strings.CutPrefix(r.URL.Path, f.prefix)
	if !ok {
		f.t.Errorf("%s %s: not under the API root %q", r.Method, r.URL.Path, f.prefix)
		http.NotFound(w, r)
		return
	}
	if ua := r.Header.Get("User-Agent"); ua == "" {
		f.t.Errorf("%s %s: no User-Agent (GitHub rejects those)", r.Method, path)
	}
	switch {
	case r.Method == http.MethodPost && tokenPath.MatchString(path):
		if !f.checkJWT(w, r) {
			return
		}
		id, _ := strconv.ParseInt(tokenPath.FindStringSubmatch(path)[1], 10, 64)
		f.tokenCalls[id]++
		if f.TokenFailures > 0 {
			f.TokenFailures--
			http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
			return
		}
		b := make([]byte, 16)
		rand.Read(b)
		tok := "ghs_" + hex.EncodeToString(b)
		f.issued[tok] = id
		writeJSON(w, http.StatusCreated, map[string]any{
			"token":      tok,
			"expires_at": time.Now().Add(f.TokenExpiresIn).UTC().Format(time.RFC3339),
		})
	case r.Method == http.MethodGet && repoInst.MatchString(path):
		if !f.checkJWT(w, r) {
			return
		}
		f.repoCalls++
		m := repoInst.FindStringSubmatch(path)
		id, ok := f.Installations[strings.ToLower(m[1]+"/"+m[2])]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "app_id": testAppID})
	case r.Method == http.MethodGet && path == "/app/hook/deliveries":
		if !f.checkJWT(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, []any{})
	case r.Method == http.MethodGet && pullPath.MatchString(path):
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "token ")
		if _, known := f.issued[tok]; !ok || !known {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
			return
		}
		if f.APIFailures > 0 {
			f.APIFailures--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		n, _ := strconv.Atoi(pullPath.FindStringSubmatch(path)[3])
		writeJSON(w, http.StatusOK, map[string]any{"number": n})
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
}

// checkJWT validates an App JWT as GitHub does: RS256 by the App's key,
// issuer the App ID, issued in the past, at most ten minutes long.
func (f *fakeGitHub) checkJWT(w http.ResponseWriter, r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
		if tok.Method != jwt.SigningMethodRS256 {
			return nil, fmt.Errorf("alg %v", tok.Header["alg"])
		}
		return &testKey().PublicKey, nil
	})
	switch {
	case !ok || err != nil:
		f.t.Errorf("%s %s: bad App JWT: %v", r.Method, r.URL.Path, err)
	case claims.Issuer != strconv.Itoa(testAppID):
		f.t.Errorf("JWT issuer %q, want %d", claims.Issuer, testAppID)
	case claims.IssuedAt == nil || claims.ExpiresAt == nil || claims.IssuedAt.After(time.Now()) ||
		claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute:
		f.t.Errorf("JWT lifetime %v..%v not accepted by GitHub", claims.IssuedAt, claims.ExpiresAt)
	default:
		f.jwts = append(f.jwts, raw)
		return true
	}
	writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "A JSON web token could not be decoded"})
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeGitHub) snapshot() (tokenCalls map[int64]int, repoCalls int, paths []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tc := map[int64]int{}
	for k, v := range f.tokenCalls {
		tc[k] = v
	}
	return tc, f.repoCalls, append([]string(nil), f.paths...)
}

func newTestClients(t *testing.T, baseURL string, logger *slog.Logger) *Clients {
	t.Helper()
	c, err := New(Config{AppID: testAppID, PrivateKey: pkcs1PEM(), BaseURL: baseURL, Logger: logger})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestInstallationClientCachedWithItsToken(t *testing.T) {
	srv, gh := newFakeGitHub(t, "")
	c := newTestClients(t, srv.URL+"/", nil)
	ctx := context.Background()

	a := c.Installation(7)
	if b := c.Installation(7); a != b {
		t.Error("Installation(7) built a second client")
	}
	if c.Installation(8) == a {
		t.Error("installations 7 and 8 share a client")
	}
	for n := 1; n <= 2; n++ {
		pr, _, err := c.Installation(7).PullRequests.Get(ctx, "octo", "widgets", n)
		if err != nil {
			t.Fatalf("get PR %d: %v", n, err)
		}
		if pr.GetNumber() != n {
			t.Errorf("PR %d came back as %d", n, pr.GetNumber())
		}
	}
	calls, _, paths := gh.snapshot()
	if calls[7] != 1 {
		t.Errorf("token endpoint hit %d times for two calls, want 1", calls[7])
	}
	if calls[8] != 0 {
		t.Errorf("installation 8 fetched a token without being used")
	}
	want := []string{"POST /app/installations/7/access_tokens", "GET /repos/octo/widgets/pulls/1", "GET /repos/octo/widgets/pulls/2"}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("requests %q, want %q", paths, want)
	}
}

func TestInstallationTokenRenewedNearExpiry(t *testing.T) {
	srv, gh := newFakeGitHub(t, "")
	// ghinstallation renews a minute before expiry: a token that expires
	// within the minute is renewed on every use.
	gh.TokenExpiresIn = 30 * time.Second
	c := newTestClients(t, srv.URL, nil)
	for n := 1; n <= 2; n++ {
		if _, _, err := c.Installation(7).PullRequests.Get(context.Background(), "octo", "widgets", n); err != nil {
			t.Fatal(err)
		}
	}
	if calls, _, _ := gh.snapshot(); calls[7] != 2 {
		t.Errorf("token endpoint hit %d times, want 2 (renewed)", calls[7])
	}
}

func TestInstallationConcurrent(t *testing.T) {
	srv, gh := newFakeGitHub(t, "")
	c := newTestClients(t, srv.URL, nil)
	var wg sync.WaitGroup
	clients := make([]any, 16)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gh := c.Installation(5)
			clients[i] = gh
			if _, _, err := gh.PullRequests.Get(context.Background(), "octo", "widgets", i+1); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range clients {
		if clients[i] != clients[0] {
			t.Fatalf("goroutine %d got a different client", i)
		}
	}
	if calls, _, _ := gh.snapshot(); calls[5] != 1 {
		t.Errorf("token endpoint hit %d times by concurrent callers, want 1", calls[5])
	}
}

func TestTokenFetchIsRetried(t *testing.T) {
	srv, gh := newFakeGitHub(t, "")
	gh.TokenFailures = 1
	gh.APIFailures = 1
	c := newTestClients(t, srv.URL, nil)
	if _, _, err := c.Installation(9).PullRequests.Get(context.Background(), "octo", "widgets", 3); err != nil {
		t.Fatalf("get PR through a 502 token fetch and a 503: %v", err)
	}
	_, _, paths := gh.snapshot()
	want := []string{
		"POST /app/installations/9/access_tokens", "POST /app/installations/9/access_tokens",
		"GET /repos/octo/widgets/pulls/3", "GET /repos/octo/widgets/pulls/3",
	}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("requests %q, want %q", paths, want)
	}
}

func TestAppClient(t *testing.T) {
	srv, gh := newFakeGitHub(t, "")
	c := newTestClients(t, srv.URL, nil)
	if _, _, err := c.App().Apps.ListHookDeliveries(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, paths := gh.snapshot(); fmt.Sprint(paths) != "[GET /app/hook/deliveries]" {
		t.Errorf("requests %q, want the deliveries at the API root", paths)
	}
}

func TestGHESBaseURL(t *testing.T) {
	srv, gh := newFakeGitHub(t, "/api/v3")
	c := newTestClients(t, srv.URL+"/api/v3", nil) // no trailing slash
	ctx := context.Background()
	if _, _, err := c.Installation(7).PullRequests.Get(ctx, "octo", "widgets", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RepoInstallation(ctx, "octo", "widgets"); err != nil {
		t.Fatal(err)
	}
	_, _, paths := gh.snapshot()
	want := []string{
		"POST /api/v3/app/installations/7/access_tokens",
		"GET /api/v3/repos/octo/widgets/pulls/1",
		"GET /api/v3/repos/octo/widgets/installation",
	}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("requests %q, want %q", paths, want)
	}
	if got := c.App().UploadURL.String(); got != srv.URL+"/api/uploads/" {
		t.Errorf("upload URL %q, want the GHES uploads root", got)
	}
}

func TestDefaultBaseURL(t *testing.T) {
	c := newTestClients(t, "", nil)
	for name, gh := range map[string]string{
		"app":          c.App().BaseURL.String(),
		"installation": c.Installation(1).BaseURL.String(),
	} {
		if gh != DefaultBaseURL {
			t.Errorf("%s client base %q, want %q", name, gh, DefaultBaseURL)
		}
	}
}

func TestRepoInstallation(t *testing.T) {
	srv, gh := newFakeGitHub(t, "")
	c := newTestClients(t, srv.URL, nil)
	now := time.Now()
	c.now = func() time.Time { return now }
	ctx := context.Background()

	for _, name := range []string{"widgets", "Widgets"} {
		id, err := c.RepoInstallation(ctx, "octo", name)
		if err != nil || id != 77 {
			t.Fatalf("RepoInstallation(octo/%s) = %d, %v; want 77", name, id, err)
		}
	}
	if _, n, _ := gh.snapshot(); n != 1 {
		t.Errorf("looked up %d times, want 1 (cached, case-insensitive)", n)
	}

	// Reinstalled: a new ID shows once the cached one is stale.
	gh.mu.Lock()
	gh.Installations["octo/widgets"] = 78
	gh.mu.Unlock()
	now = now.Add(repoInstallationTTL + time.Second)
	if id, err := c.RepoInstallation(ctx, "octo", "widgets"); err != nil || id != 78 {
		t.Errorf("after the TTL got %d, %v; want 78", id, err)
	}

	// Not installed: an error, and not cached.
	for range 2 {
		_, err := c.RepoInstallation(ctx, "octo", "gadgets")
		if err == nil || !strings.Contains(err.Error(), "find installation of octo/gadgets") || !strings.Contains(err.Error(), "404") {
			t.Errorf("err %v, want a 404 naming the repo", err)
		}
	}
	if _, n, _ := gh.snapshot(); n != 4 {
		t.Errorf("looked up %d times, want 4 (failures are not cached)", n)
	}
}

func TestNewRejects(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	good := pkcs1PEM()
	truncated := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey())[:300]})

	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"no app id":       {Config{PrivateKey: good}, "App ID must be positive"},
		"no key":          {Config{AppID: 1}, "private key is empty"},
		"not PEM":         {Config{AppID: 1, PrivateKey: []byte("hunter2-not-a-key")}, "not PEM-encoded"},
		"truncated key":   {Config{AppID: 1, PrivateKey: truncated}, "not a valid PKCS#1 or PKCS#8 RSA key"},
		"EC key":          {Config{AppID: 1, PrivateKey: ecPEM}, "not an RSA key"},
		"ftp URL":         {Config{AppID: 1, PrivateKey: good, BaseURL: "ftp://example.com/"}, "want http(s)://host/path"},
		"relative URL":    {Config{AppID: 1, PrivateKey: good, BaseURL: "api.github.com"}, "want http(s)://host/path"},
		"unparsable URL":  {Config{AppID: 1, PrivateKey: good, BaseURL: "http://hunter2:%zz@x/"}, "not a valid URL"},
		"URL credentials": {Config{AppID: 1, PrivateKey: good, BaseURL: "https://me:hunter2@ghe.example.com/api/v3/"}, "must not contain credentials"},
		"URL query":       {Config{AppID: 1, PrivateKey: good, BaseURL: "https://ghe.example.com/api/v3/?x=1"}, "must not have a query"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if err == nil {
				t.Fatalf("New = %v, want an error", c)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to say %q", msg, tc.want)
			}
			if strings.Contains(msg, "hunter2") || leaksPEM(msg, tc.cfg.PrivateKey) || leaksPEM(msg, good) {
				t.Errorf("error %q quotes secret material", msg)
			}
		})
	}
}

func TestNewAcceptsPKCS8(t *testing.T) {
	srv, _ := newFakeGitHub(t, "")
	c, err := New(Config{AppID: testAppID, PrivateKey: pkcs8PEM(t), BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// The fake verifies the JWT signature with the public key.
	if _, _, err := c.App().Apps.ListHookDeliveries(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// leaksPEM reports whether s holds any base64 line (16+ chars) of key.
func leaksPEM(s string, key []byte) bool {
	for _, line := range strings.Split(string(key), "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			for i := 0; i+16 <= len(line); i += 8 {
				if strings.Contains(s, line[i:i+16]) {
					return true
				}
			}
		}
	}
	return false
}

func TestLogsCarryNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, gh := newFakeGitHub(t, "")
	gh.TokenFailures = 1
	gh.APIFailures = 1
	c := newTestClients(t, srv.URL, logger)
	ctx := context.Background()
	if _, _, err := c.Installation(3).PullRequests.Get(ctx, "octo", "widgets", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RepoInstallation(ctx, "octo", "nope"); err == nil {
		t.Fatal("want a 404")
	}
	logs := buf.String()
	if strings.Count(logs, "retrying GitHub request") != 2 {
		t.Fatalf("want two retry lines (token fetch, API call); logs:\n%s", logs)
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	var secrets []string
	for tok := range gh.issued {
		secrets = append(secrets, tok)
	}
	for _, j := range gh.jwts {
		secrets = append(secrets, j, strings.Split(j, ".")[2])
	}
	if len(secrets) < 3 {
		t.Fatalf("fake saw %d secrets, want a token and JWTs", len(secrets))
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a log line holds a token or JWT:\n%s", logs)
		}
	}
	if leaksPEM(logs, pkcs1PEM()) || strings.Contains(logs, "Bearer") || strings.Contains(logs, "token ghs_") {
		t.Errorf("a log line holds key or credential material:\n%s", logs)
	}
}
