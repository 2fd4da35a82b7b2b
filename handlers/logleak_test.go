package handlers

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/ghclient"
	"github.com/checkoff-app/checkoff/app/secrets"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/webhook"
)

// The log-leak test runs the scenario story, the fault suite's failures
// and the error paths with every logger at debug level — the App's, the
// dispatcher's, ghclient's retry transport, slog's default and the standard
// log package — once as text and once as JSON, and scans everything
// written for the App's private key, the webhook secret, installation
// tokens, JWTs and Authorization headers.

// logCapture is a goroutine-safe sink for every log line of a run.
type logCapture struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

var (
	tokenPattern  = regexp.MustCompile(`gh[sp]_[A-Za-z0-9]{16,}`)
	jwtPattern    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.`)
	headerPattern = regexp.MustCompile(`(?i)authorization|bearer\s+[a-z0-9]|token\s+gh`)
)

// leaksIn lists every secret found in out: the webhook secret (raw, hex),
// any 16-character piece of the key's PEM body, an installation token, a
// JWT, or an Authorization header.
func leaksIn(out string, keyPEM []byte) []string {
	var found []string
	for _, s := range []string{testSecret, hex.EncodeToString([]byte(testSecret))} {
		if strings.Contains(out, s) {
			found = append(found, "webhook secret")
		}
	}
	for _, line := range strings.Split(string(keyPEM), "\n") {
		if strings.HasPrefix(line, "-----") {
			continue
		}
		for i := 0; i+16 <= len(line); i += 8 {
			if strings.Contains(out, line[i:i+16]) {
				found = append(found, "private key material "+line[i:i+16])
				break
			}
		}
	}
	for _, re := range []*regexp.Regexp{tokenPattern, jwtPattern, headerPattern} {
		if m := re.FindString(out); m != "" {
			found = append(found, fmt.Sprintf("%q (matches %s)", m, re))
		}
	}
	return found
}

// TestLeakDetector makes sure the scan finds each kind of secret.
func TestLeakDetector(t *testing.T) {
	gh := githubtest.New(t)
	key := gh.PrivateKeyPEM()
	body := strings.Split(string(key), "\n")[3]
	tok := gh.InstallationToken(99)
	for name, s := range map[string]string{
		"secret":      "err=" + testSecret,
		"hex secret":  hex.EncodeToString([]byte(testSecret)),
		"key":         "key=" + body[10:40],
		"token":       `"url":"x","tok":"` + tok + `"`,
		"jwt":         gh.AppJWT(),
		"auth header": "Authorization: x",
	} {
		if len(leaksIn(s, key)) == 0 {
			t.Errorf("%s not detected in %q", name, s)
		}
	}
	if f := leaksIn(`level=INFO msg="delivery handled" delivery=d-1 took=1ms`, key); len(f) > 0 {
		t.Errorf("false positive: %v", f)
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			out := &logCapture{}
			opts := &slog.HandlerOptions{Level: slog.LevelDebug, AddSource: true}
			var handler slog.Handler = slog.NewTextHandler(out, opts)
			if format == "json" {
				handler = slog.NewJSONHandler(out, opts)
			}
			logger := slog.New(handler)
			prevDefault, prevWriter, prevFlags := slog.Default(), log.Writer(), log.Flags()
			slog.SetDefault(logger) // also routes the standard log package here
			t.Cleanup(func() {
				slog.SetDefault(prevDefault)
				log.SetOutput(prevWriter)
				log.SetFlags(prevFlags)
			})

			runLeakScenarios(t, logger)

			text := out.String()
			for _, want := range []string{"delivery handled", "webhook rejected", "handler failed", "retrying GitHub request", "posted check runs"} {
				if !strings.Contains(text, want) {
					t.Errorf("no %q line: the run did not cover that path (or its log was not captured)", want)
				}
			}
			gh := githubtest.New(t)
			if found := leaksIn(text, gh.PrivateKeyPEM()); len(found) > 0 {
				t.Errorf("secrets in %d bytes of %s logs: %v", len(text), format, found)
			}
			t.Logf("%s: scanned %d log lines (%d bytes)", format, strings.Count(text, "\n"), len(text))
			if format == "text" && os.Getenv("CHECKOFF_DUMP_LOGS") != "" { // to see what was scanned
				t.Log(text)
			}
		})
	}
}

// runLeakScenarios drives everything that logs, with logger everywhere.
func runLeakScenarios(t *testing.T, logger *slog.Logger) {
	h := newHarness(t)
	var err error
	h.clients, err = ghclient.New(ghclient.Config{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: h.gh.URL, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h.app, err = app.New(app.Options{Store: h.st, Installations: h.clients, Logger: logger, BotLogin: hBot})
	if err != nil {
		t.Fatal(err)
	}
	h.d = webhook.NewDispatcher(webhook.Options{Secret: []byte(testSecret), Handlers: All(h.app), Deliveries: app.Deliveries{Store: h.st},
		Logger: logger, BotLogin: hBot, Timeout: faultBudget})
	ctx := context.Background()

	// The story, in order.
	for i, step := range faultStory() {
		h.deliverID(step.event, fmt.Sprintf("leak-%d", i), step.set(h))
	}
	// The story again on a fresh PR state, with GitHub failing a third of
	// requests (retries, rate limits, resets, budget exhaustion), and a
	// sweep.
	h.gh.SetFault(newFaultInjector(7, 0.3).fault)
	for i, step := range faultStory() {
		// The same bodies again would be replays, answered from the
		// delivery marks: a field nothing reads makes them new deliveries.
		h.deliverID(step.event, fmt.Sprintf("leak-fault-%d", i), variant(t, step.set(h), "leak_round", "fault"))
	}
	h.gh.SetFault(nil)
	h.gh.AddDelivery(githubtest.Delivery{GUID: "leak-fault-0", StatusCode: 502, Payload: []byte(`{}`)})
	if _, err := app.Sweep(ctx, h.clients.App(), app.SweepOptions{}); err != nil {
		logger.Error("sweep failed", "err", err)
	}

	// Ingress rejections and no-ops.
	pl := githubtest.Payload(t, "pull_request.opened", nil)
	for _, r := range []*http.Request{
		func() *http.Request {
			r := delivery("pull_request", "bad-sig", pl)
			r.Header.Set("X-Hub-Signature-256", sign("wrong", pl))
			return r
		}(),
		func() *http.Request {
			r := delivery("pull_request", "no-sig", pl)
			r.Header.Del("X-Hub-Signature-256")
			return r
		}(),
		func() *http.Request {
			r := delivery("pull_request", "form", pl)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}(),
		delivery("pull_request", "bad-json", []byte(`{"action":`)),
		delivery("pull_request", strings.Repeat("x", 300), pl),
		delivery("ping", "ping-1", githubtest.Payload(t, "ping", nil)),
		delivery("installation", "inst-1", githubtest.Payload(t, "installation.created", nil)),
		delivery("watch", "unknown-1", pl),
	} {
		h.d.ServeHTTP(httptest.NewRecorder(), r)
	}

	// GitHub 401 everywhere (key revoked, App deleted): the installation
	// token request, the App's own calls. The fake GitHub would fail the
	// test on a credential it rejects, so a plain server answers here.
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`)
	}))
	t.Cleanup(unauthorized.Close)
	revoked, err := ghclient.New(ghclient.Config{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: unauthorized.URL + "/", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	revokedApp, err := app.New(app.Options{Store: h.st, Installations: revoked, Logger: logger, BotLogin: hBot})
	if err != nil {
		t.Fatal(err)
	}
	d401 := webhook.NewDispatcher(webhook.Options{Secret: []byte(testSecret), Handlers: All(revokedApp), Logger: logger, Timeout: faultBudget})
	d401.ServeHTTP(httptest.NewRecorder(), delivery("pull_request", "leak-401",
		h.editPayload(hReviewer, body("xxxx", "...."), prState{Body: body("xxxx", "x..."), At: t0.Add(time.Hour)})))
	if _, err := app.Sweep(ctx, revoked.App(), app.SweepOptions{}); err != nil {
		logger.Error("sweep failed", "err", err)
	}
	if _, err := revoked.RepoInstallation(ctx, hOwner, hName); err != nil {
		logger.Error("installation lookup failed", "err", err)
	}

	// The Lambda adapter: a forged request and the schedule.
	lam := &webhook.Lambda{HTTP: h.d, Logger: logger, Schedule: func(ctx context.Context) error {
		res, err := app.Sweep(ctx, h.clients.App(), app.SweepOptions{})
		webhook.LoggerFrom(ctx).Info("sweep", "scanned", res.Scanned, "redelivered", res.Redelivered)
		return err
	}}
	ev, _ := json.Marshal(map[string]any{"version": "2.0", "rawPath": "/webhook", "body": string(pl),
		"headers":        map[string]string{"content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": "lam-1", "x-hub-signature-256": sign("forged", pl)},
		"requestContext": map[string]any{"http": map[string]any{"method": "POST", "path": "/webhook"}}})
	if _, err := lam.Invoke(ctx, ev); err != nil {
		logger.Error("invoke failed", "err", err)
	}
	sched, _ := json.Marshal(map[string]any{"id": "e1", "detail-type": webhook.DetailTypeScheduled, "source": "aws.events", "detail": map[string]any{}})
	if _, err := lam.Invoke(ctx, sched); err != nil {
		logger.Error("invoke failed", "err", err)
	}

	// Secrets from SSM that fail to load, logged as init does.
	for _, answer := range []string{
		`{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/checkoff/checkoff is not authorized to perform: ssm:GetParameters"}`,
		`{"Parameters":[{"Name":"/checkoff/key","Type":"String","Value":` + jsonString(string(h.gh.PrivateKeyPEM())) + `},{"Name":"/checkoff/secret","Type":"SecureString","Value":"` + testSecret + `"}],"InvalidParameters":[]}`,
		`{"Parameters":[{"Name":"/checkoff/key","Type":"SecureString","Value":"not a key ` + testSecret + `"},{"Name":"/checkoff/secret","Type":"SecureString","Value":"` + testSecret + `"}],"InvalidParameters":[]}`,
	} {
		_, err := secrets.Sources{AppID: 1001, PrivateKeyParameter: "/checkoff/key", WebhookSecretParameter: "/checkoff/secret"}.
			Load(ctx, fakeSSMClient(t, answer))
		if err == nil {
			t.Fatalf("SSM answer %.60s... loaded without error", answer)
		}
		logger.Error("init failed", "err", err)
	}
	// A key that loads but does not parse.
	if _, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKey: []byte("-----BEGIN RSA PRIVATE KEY-----\n" + testSecret + "\n-----END RSA PRIVATE KEY-----\n")}); err != nil {
		logger.Error("init failed", "err", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fakeSSMClient is an SSM client whose every GetParameters call gets
// answer (an AWS JSON error when it has __type).
func fakeSSMClient(t *testing.T, answer string) *ssm.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if strings.Contains(answer, "__type") {
			w.WriteHeader(http.StatusBadRequest)
		}
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return ssm.New(ssm.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLEAKTEST", "leak-test-secret", ""),
		RetryMaxAttempts: 1,
	})
}
