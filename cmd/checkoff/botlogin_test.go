package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

const botTestSecret = "bot-login-secret"

// credEnv is the environment of `serve` with App credentials against gh.
func credEnv(t *testing.T, gh *githubtest.Server) map[string]string {
	return map[string]string{
		"CHECKOFF_DATA_DIR":     t.TempDir(),
		"GITHUB_APP_ID":         strconv.FormatInt(gh.AppID, 10),
		"GITHUB_PRIVATE_KEY":    string(gh.PrivateKeyPEM()),
		"GITHUB_WEBHOOK_SECRET": botTestSecret,
		"GITHUB_API_URL":        gh.URL,
	}
}

// buildWith builds the runtime from env and returns it with its log.
func buildWith(t *testing.T, env map[string]string) (*runtime, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	rt, err := buildFromEnv(context.Background(), env, runtimeOptions{
		logger: slog.New(slog.NewTextHandler(logs, nil)),
		dryOut: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatalf("buildRuntime: %v\nlog:\n%s", err, logs)
	}
	t.Cleanup(func() { rt.closeStore() })
	return rt, logs
}

// deliverAs sends pull_request.opened from sender through the dispatcher
// and returns the answer.
func deliverAs(t *testing.T, rt *runtime, delivery, sender string) *httptest.ResponseRecorder {
	t.Helper()
	body := githubtest.Payload(t, "pull_request.opened", func(p map[string]any) {
		if sender != githubtest.FixtureAuthor {
			githubtest.Set(p, "sender.login", sender)
			githubtest.Set(p, "sender.type", "Bot")
		}
	})
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/test")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", signature(botTestSecret, body))
	w := httptest.NewRecorder()
	rt.dispatcher.ServeHTTP(w, req)
	return w
}

// TestBotLoginDerived: with App credentials and no CHECKOFF_BOT_LOGIN,
// init asks GET /app once, as the App (a Bearer JWT for its App ID), and
// the dispatcher then ignores deliveries sent by "<slug>[bot]" while
// handling everyone else's.
func TestBotLoginDerived(t *testing.T) {
	gh := fixtureGitHub(t)
	gh.AppSlug = "checkoff-staging"
	var mu sync.Mutex
	var auth []string
	gh.SetFault(func(c githubtest.Call, r *http.Request) *githubtest.Fault {
		if c.OperationID == "apps/get-authenticated" {
			mu.Lock()
			auth = append(auth, r.Header.Get("Authorization"))
			mu.Unlock()
		}
		return nil
	})
	rt, logs := buildWith(t, credEnv(t, gh))

	if rt.botLogin != "checkoff-staging[bot]" {
		t.Fatalf("bot login %q, want checkoff-staging[bot]; log:\n%s", rt.botLogin, logs)
	}
	if n := gh.Count("apps/get-authenticated"); n != 1 {
		t.Errorf("GET /app called %d times at init, want 1", n)
	}
	if len(auth) != 1 {
		t.Fatalf("saw %d GET /app requests", len(auth))
	}
	raw, ok := strings.CutPrefix(auth[0], "Bearer ")
	var claims jwt.RegisteredClaims
	if !ok {
		t.Errorf("GET /app Authorization %q: want a Bearer app JWT", strings.SplitN(auth[0], " ", 2)[0])
	} else if _, _, err := jwt.NewParser().ParseUnverified(raw, &claims); err != nil || claims.Issuer != strconv.FormatInt(gh.AppID, 10) {
		t.Errorf("GET /app JWT: issuer %q, err %v; want issuer %d", claims.Issuer, err, gh.AppID)
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("warning on a successful lookup:\n%s", logs)
	}

	gh.ResetCalls()
	w := deliverAs(t, rt, "own-1", "checkoff-staging[bot]")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "ignored: own event") {
		t.Errorf("delivery from the App's bot: %d %q, want 200 ignored", w.Code, w.Body)
	}
	if calls := gh.Calls(); len(calls) != 0 {
		t.Errorf("ignored delivery made %d GitHub calls: %+v", len(calls), calls)
	}
	w = deliverAs(t, rt, "human-1", githubtest.FixtureAuthor)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "ignored") {
		t.Errorf("delivery from %s: %d %q, want handled", githubtest.FixtureAuthor, w.Code, w.Body)
	}
	if n := gh.Count("checks/create"); n == 0 {
		t.Error("delivery from a person posted no check run")
	}
}

// TestBotLoginFromEnv: an explicit CHECKOFF_BOT_LOGIN wins and init makes
// no GitHub call at all; in dry-run (no credentials) nothing is asked
// either, and without the variable there is no bot login.
func TestBotLoginFromEnv(t *testing.T) {
	gh := fixtureGitHub(t)
	env := credEnv(t, gh)
	env["CHECKOFF_BOT_LOGIN"] = "my-fork[bot]"
	rt, _ := buildWith(t, env)
	if rt.botLogin != "my-fork[bot]" {
		t.Errorf("bot login %q, want the variable's my-fork[bot]", rt.botLogin)
	}
	if calls := gh.Calls(); len(calls) != 0 {
		t.Errorf("init made %d GitHub calls with CHECKOFF_BOT_LOGIN set: %+v", len(calls), calls)
	}
	if w := deliverAs(t, rt, "own-1", "my-fork[bot]"); !strings.Contains(w.Body.String(), "ignored: own event") {
		t.Errorf("delivery from my-fork[bot]: %d %q, want ignored", w.Code, w.Body)
	}

	for name, env := range map[string]map[string]string{
		"dry-run":                     {"CHECKOFF_DATA_DIR": t.TempDir()},
		"dry-run with the variable":   {"CHECKOFF_DATA_DIR": t.TempDir(), "CHECKOFF_BOT_LOGIN": "my-fork[bot]"},
		"dry-run pointed at the fake": {"CHECKOFF_DATA_DIR": t.TempDir(), "GITHUB_API_URL": gh.URL},
	} {
		t.Run(name, func(t *testing.T) {
			gh.ResetCalls()
			rt, _ := buildWith(t, env)
			if !rt.dryRun {
				t.Fatal("not dry-run")
			}
			if rt.botLogin != env["CHECKOFF_BOT_LOGIN"] {
				t.Errorf("bot login %q, want %q", rt.botLogin, env["CHECKOFF_BOT_LOGIN"])
			}
			if calls := gh.Calls(); len(calls) != 0 {
				t.Errorf("dry-run init made %d GitHub calls: %+v", len(calls), calls)
			}
		})
	}
}

// TestBotLoginLookupFails: when GET /app fails (5xx after the retries,
// GitHub unreachable, or too slow) init still succeeds, within the lookup's
// bound, with no bot login and one warning that names the fallback and
// quotes no secret.
func TestBotLoginLookupFails(t *testing.T) {
	for name, tc := range map[string]struct {
		fault       *githubtest.Fault // GET /app's answer
		unreachable bool              // nothing listens at GITHUB_API_URL
	}{
		"5xx":         {fault: &githubtest.Fault{Status: http.StatusInternalServerError, Body: `{"message":"Server Error"}`}},
		"too slow":    {fault: &githubtest.Fault{Delay: time.Minute}},
		"unreachable": {unreachable: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			gh := fixtureGitHub(t)
			env := credEnv(t, gh)
			var asked atomic.Int32
			gh.SetFault(func(c githubtest.Call, _ *http.Request) *githubtest.Fault {
				if c.OperationID == "apps/get-authenticated" {
					asked.Add(1)
				}
				return tc.fault
			})
			if tc.unreachable {
				env["GITHUB_API_URL"] = closedURL(t)
			}
			start := time.Now()
			rt, logs := buildWith(t, env)
			if took := time.Since(start); took > botLoginTimeout+2*time.Second {
				t.Errorf("init took %s: the lookup is not bounded by %s", took, botLoginTimeout)
			}
			if rt.botLogin != "" {
				t.Errorf("bot login %q after a failed lookup, want none", rt.botLogin)
			}
			if n := asked.Load(); (n > 0) == tc.unreachable {
				t.Errorf("fake saw GET /app %d times", n)
			}
			out := logs.String()
			var warned []string
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "bot login") && strings.Contains(line, "level=WARN") {
					warned = append(warned, line)
				}
			}
			if len(warned) != 1 || !strings.Contains(warned[0], "could not derive the App's bot login") ||
				!strings.Contains(warned[0], "CHECKOFF_BOT_LOGIN") {
				t.Errorf("want one warning about the bot login naming CHECKOFF_BOT_LOGIN, got:\n%s", out)
			}
			for _, secret := range []string{botTestSecret, "PRIVATE KEY", "Bearer", "eyJ"} {
				if strings.Contains(out, secret) {
					t.Errorf("log carries %q:\n%s", secret, out)
				}
			}
			if rt.dispatcher == nil || rt.app == nil {
				t.Error("runtime incomplete after a failed lookup")
			}
		})
	}
}

// closedURL is an API root on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

// TestBotLoginOneShotSkipsLookup: gate and redeliver handle no webhooks, so
// they have no own events to filter and ask GitHub nothing at start.
func TestBotLoginOneShotSkipsLookup(t *testing.T) {
	gh := fixtureGitHub(t)
	env := credEnv(t, gh)
	rt, err := buildFromEnv(context.Background(), env, runtimeOptions{
		logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		dryOut:  &bytes.Buffer{},
		oneShot: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.closeStore() })
	if calls := gh.Calls(); len(calls) != 0 {
		t.Errorf("one-shot init made %d GitHub calls: %+v", len(calls), calls)
	}
}
