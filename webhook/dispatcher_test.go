package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

const testSecret = "s3cr3t-webhook-key-never-logged"

// fakeHandler counts calls and records what it was given.
type fakeHandler struct {
	events []string

	HandleError error                           // returned by Handle
	HandleFunc  func(ctx context.Context) error // when set, replaces HandleError

	mu           sync.Mutex
	Calls        int
	LastEvent    string
	LastDelivery string
	LastPR       *PullRequest
	LastDeadline time.Time
	HadDeadline  bool
}

func (h *fakeHandler) Handles() []string { return h.events }

func (h *fakeHandler) Handle(ctx context.Context, ev *Event) error {
	h.mu.Lock()
	h.Calls++
	h.LastEvent, h.LastDelivery = ev.Name, ev.Delivery
	h.LastPR = ev.PullRequest
	h.LastDeadline, h.HadDeadline = ctx.Deadline()
	fn, err := h.HandleFunc, h.HandleError
	h.mu.Unlock()
	if fn != nil {
		return fn(ctx)
	}
	return err
}

func (h *fakeHandler) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Calls
}

// fakeDeliveries is an in-memory Deliveries that counts calls.
type fakeDeliveries struct {
	SeenError error
	DoneError error

	mu        sync.Mutex
	done      map[string]bool
	SeenCalls int
	DoneCalls int
}

func (f *fakeDeliveries) Seen(_ context.Context, ids ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.SeenCalls += len(ids) // keys looked up, however batched
	if f.SeenError != nil {
		return "", f.SeenError
	}
	for _, id := range ids {
		if f.done[id] {
			return id, nil
		}
	}
	return "", nil
}

func (f *fakeDeliveries) Done(_ context.Context, ids ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.DoneCalls += len(ids) // marks asked for, however batched
	if f.DoneError != nil {
		return f.DoneError
	}
	if f.done == nil {
		f.done = make(map[string]bool)
	}
	for _, id := range ids {
		f.done[id] = true
	}
	return nil
}

func (f *fakeDeliveries) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.SeenCalls + f.DoneCalls
}

func mac(h func() hash.Hash, key, body []byte) string {
	m := hmac.New(h, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func sign(secret string, body []byte) string {
	return "sha256=" + mac(sha256.New, []byte(secret), body)
}

func loadFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// delivery builds a correctly signed POST /webhook; mutate the result to
// break one thing at a time.
func delivery(event, id string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", id)
	r.Header.Set("X-Hub-Signature-256", sign(testSecret, body))
	return r
}

// minimalPullRequest is the smallest pull_request payload the ingress
// lets through, padded with pad in a field nothing reads.
func minimalPullRequest(pad string) []byte {
	return []byte(`{"action":"opened","number":1,"pull_request":{"number":1,"head":{"sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"},` +
		`"base":{"ref":"dev"},"user":{"login":"octocat"},"updated_at":"2025-05-02T10:11:12Z"},` +
		`"repository":{"id":1,"name":"r","owner":{"login":"o"}},"installation":{"id":1},"pad":"` + pad + `"}`)
}

// variant returns payload with one top-level field set, so that deliveries
// of the same event are different bodies, as GitHub's always are.
func variant(t testing.TB, payload []byte, key string, value any) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	p[key] = value
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fixturePR is the pull request of a payload, as encoding/json reads it.
func fixturePR(t *testing.T, payload []byte) PullRequest {
	t.Helper()
	var p struct {
		PullRequest PullRequest `json:"pull_request"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	return p.PullRequest
}

// bodyMark is the Deliveries key the dispatcher marks a handled body with.
func bodyMark(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// repeatReader yields an endless stream of one byte, so oversized bodies are
// streamed instead of allocated; it counts what was read.
type repeatReader struct {
	b    byte
	read int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b
	}
	r.read += int64(len(p))
	return len(p), nil
}

type testEnv struct {
	d    *Dispatcher
	h    *fakeHandler
	dl   *fakeDeliveries
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(mod func(*Options)) *testEnv {
	env := &testEnv{
		h:    &fakeHandler{events: []string{"pull_request", "pull_request_review"}},
		dl:   &fakeDeliveries{},
		logs: &syncBuffer{},
	}
	opts := Options{
		Secret:     []byte(testSecret),
		Handlers:   []Handler{env.h},
		Deliveries: env.dl,
		Logger:     slog.New(slog.NewJSONHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BotLogin:   "checkoff[bot]",
	}
	if mod != nil {
		mod(&opts)
	}
	env.d = NewDispatcher(opts)
	return env
}

func (e *testEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.d.ServeHTTP(w, r)
	return w
}

const oversize = DefaultMaxBody + 1

// badInputCases is every request the ingress must answer without calling a
// handler or Deliveries. Shared with the log-capture test.
func badInputCases(t testing.TB) map[string]struct {
	mod    func(*Options)
	req    func() *http.Request
	status int
	body   string // expected response body, when it matters
} {
	pr := loadFixture(t, "pull_request.opened.json")
	return map[string]struct {
		mod    func(*Options)
		req    func() *http.Request
		status int
		body   string
	}{
		"unsigned": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Del("X-Hub-Signature-256")
				return r
			},
			status: http.StatusUnauthorized,
		},
		"mis-signed (signature of another body)": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("X-Hub-Signature-256", sign(testSecret, []byte(`{"action":"opened"}`)))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"one flipped hex digit": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				s := []byte(r.Header.Get("X-Hub-Signature-256"))
				s[len(s)-1] ^= 1 // '0'<->'1', 'a'<->'`' etc.: still the same length
				r.Header.Set("X-Hub-Signature-256", string(s))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"sha1-only (X-Hub-Signature, valid)": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Del("X-Hub-Signature-256")
				r.Header.Set("X-Hub-Signature", "sha1="+mac(sha1.New, []byte(testSecret), pr))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"valid sha1 MAC in the sha256 header": {
			// go-github's ValidateSignature alone would accept this.
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("X-Hub-Signature-256", "sha1="+mac(sha1.New, []byte(testSecret), pr))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"valid sha512 MAC in the sha256 header": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("X-Hub-Signature-256", "sha512="+mac(sha512.New, []byte(testSecret), pr))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"truncated signature": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				s := r.Header.Get("X-Hub-Signature-256")
				r.Header.Set("X-Hub-Signature-256", s[:len(s)-2])
				return r
			},
			status: http.StatusUnauthorized,
		},
		"signature without prefix": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("X-Hub-Signature-256", mac(sha256.New, []byte(testSecret), pr))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"wrong secret": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("X-Hub-Signature-256", sign("not-the-secret", pr))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"empty secret configured (fail closed)": {
			mod: func(o *Options) { o.Secret = nil },
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("X-Hub-Signature-256", sign("", pr)) // valid for an empty key
				return r
			},
			status: http.StatusUnauthorized,
		},
		"form-encoded content type": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			},
			status: http.StatusUnsupportedMediaType,
		},
		"missing content type": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Del("Content-Type")
				return r
			},
			status: http.StatusUnsupportedMediaType,
		},
		"oversized body, declared length": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Body = io.NopCloser(&repeatReader{b: ' '})
				r.ContentLength = oversize
				return r
			},
			status: http.StatusRequestEntityTooLarge,
		},
		"oversized body, chunked": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Body = io.NopCloser(io.LimitReader(&repeatReader{b: ' '}, oversize))
				r.ContentLength = -1
				return r
			},
			status: http.StatusRequestEntityTooLarge,
		},
		"malformed JSON": {
			req: func() *http.Request {
				return delivery("pull_request", "d-1", pr[:len(pr)/2])
			},
			status: http.StatusBadRequest,
		},
		"a field of the wrong type": {
			req: func() *http.Request {
				return delivery("pull_request", "d-1", []byte(`{"action":"edited","pull_request":{"number":"7"}}`))
			},
			status: http.StatusBadRequest,
			body:   "bad payload: payload field pull_request.number has the wrong type\n",
		},
		"invalid UTF-8": {
			req: func() *http.Request {
				return delivery("pull_request", "d-1", []byte("{\"action\":\"edited\",\"pull_request\":{\"body\":\"\xff\"}}"))
			},
			status: http.StatusBadRequest,
			body:   "Bad Request\n",
		},
		"JSON but not an object": {
			req: func() *http.Request {
				return delivery("pull_request", "d-1", []byte(`null`))
			},
			status: http.StatusBadRequest,
		},
		"empty body": {
			req:    func() *http.Request { return delivery("pull_request", "d-1", nil) },
			status: http.StatusBadRequest,
		},
		"missing event header": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Del("X-GitHub-Event")
				return r
			},
			status: http.StatusBadRequest,
		},
		"invalid event header": {
			req:    func() *http.Request { return delivery("pull_request\n", "d-1", pr) },
			status: http.StatusBadRequest,
		},
		"missing delivery header": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Del("X-GitHub-Delivery")
				return r
			},
			status: http.StatusBadRequest,
		},
		"overlong delivery header": {
			req:    func() *http.Request { return delivery("pull_request", strings.Repeat("a", 129), pr) },
			status: http.StatusBadRequest,
		},
		"unknown event": {
			req:    func() *http.Request { return delivery("workflow_run", "d-1", []byte(`{"action":"completed"}`)) },
			status: http.StatusAccepted,
		},
		"ping": {
			req: func() *http.Request {
				return delivery("ping", "d-1", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`))
			},
			status: http.StatusOK,
			body:   "pong\n",
		},
		"own bot as sender": {
			req: func() *http.Request {
				return delivery("pull_request", "d-1", []byte(`{"action":"edited","sender":{"login":"checkoff[bot]","type":"Bot"}}`))
			},
			status: http.StatusOK,
			body:   "ignored: own event\n",
		},
		"GET /webhook": {
			req:    func() *http.Request { return httptest.NewRequest(http.MethodGet, WebhookPath, nil) },
			status: http.StatusMethodNotAllowed,
		},
		"POST /healthz": {
			req:    func() *http.Request { return httptest.NewRequest(http.MethodPost, HealthPath, nil) },
			status: http.StatusMethodNotAllowed,
		},
		"GET /healthz": {
			req:    func() *http.Request { return httptest.NewRequest(http.MethodGet, HealthPath, nil) },
			status: http.StatusOK,
			body:   "ok\n",
		},
		"unknown path": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.URL.Path = "/webhook/extra"
				return r
			},
			status: http.StatusNotFound,
		},
	}
}

func TestIngressRejectsWithoutSideEffects(t *testing.T) {
	for name, tc := range badInputCases(t) {
		t.Run(name, func(t *testing.T) {
			env := newEnv(tc.mod)
			w := env.serve(tc.req())
			if w.Code != tc.status {
				t.Errorf("status = %d, want %d (body %q)", w.Code, tc.status, w.Body.String())
			}
			if tc.body != "" && w.Body.String() != tc.body {
				t.Errorf("body = %q, want %q", w.Body.String(), tc.body)
			}
			if n := env.h.calls(); n != 0 {
				t.Errorf("handler called %d times, want 0", n)
			}
			if n := env.dl.calls(); n != 0 {
				t.Errorf("Deliveries called %d times, want 0", n)
			}
		})
	}
}

func TestOversizedBodyIsNotReadPastTheLimit(t *testing.T) {
	env := newEnv(nil)
	body := []byte(`{}`)

	declared := &repeatReader{b: ' '}
	r := delivery("pull_request", "d-1", body)
	r.Body, r.ContentLength = io.NopCloser(declared), oversize
	if w := env.serve(r); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared: status %d", w.Code)
	}
	if declared.read != 0 {
		t.Errorf("declared oversize: read %d bytes, want 0", declared.read)
	}

	streamed := &repeatReader{b: ' '}
	r = delivery("pull_request", "d-1", body)
	r.Body, r.ContentLength = io.NopCloser(streamed), -1
	if w := env.serve(r); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("streamed: status %d", w.Code)
	}
	// bytes.Buffer reads in chunks; allow one chunk of slack past the limit.
	if streamed.read > DefaultMaxBody+1<<20 {
		t.Errorf("streamed oversize: read %d bytes, limit %d", streamed.read, DefaultMaxBody)
	}
}

func TestMaxBodyOption(t *testing.T) {
	env := newEnv(func(o *Options) { o.MaxBody = 1024 })
	small := minimalPullRequest("")
	small = minimalPullRequest(strings.Repeat("a", 1024-len(small)))
	if w := env.serve(delivery("pull_request", "d-small", small)); w.Code != http.StatusOK {
		t.Fatalf("at limit (%d bytes): status %d %q", len(small), w.Code, w.Body.String())
	}
	big := minimalPullRequest(strings.Repeat("a", 1024))
	if w := env.serve(delivery("pull_request", "d-big", big)); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("over limit: status %d", w.Code)
	}
	if env.h.calls() != 1 {
		t.Errorf("handler calls = %d, want 1", env.h.calls())
	}
}

func TestHandledDelivery(t *testing.T) {
	env := newEnv(nil)
	pr := loadFixture(t, "pull_request.opened.json")
	env.h.HandleFunc = func(ctx context.Context) error {
		LoggerFrom(ctx).Info("from handler")
		return nil
	}
	w := env.serve(delivery("pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", pr))
	if w.Code != http.StatusOK || w.Body.String() != "ok\n" {
		t.Fatalf("got %d %q, want 200 ok", w.Code, w.Body.String())
	}
	h := env.h
	if h.Calls != 1 || h.LastEvent != "pull_request" || h.LastDelivery != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
		t.Errorf("handler got calls=%d event=%q delivery=%q", h.Calls, h.LastEvent, h.LastDelivery)
	}
	// The payload's pooled buffer went back once decoded: what the handler
	// got must not share it. Scribble over the pool's buffers and look.
	for range 4 {
		c := chunkPool.Get().(*[]byte)
		for i := range *c {
			(*c)[i] = 'x'
		}
		defer chunkPool.Put(c)
	}
	if want := fixturePR(t, pr); h.LastPR == nil || h.LastPR.Number != want.Number || h.LastPR.Body != want.Body ||
		h.LastPR.Head == nil || h.LastPR.Head.SHA != want.Head.SHA {
		t.Errorf("handler got pull request %+v, want the payload's %+v", h.LastPR, want)
	}
	// Both the delivery ID and the body are looked up, and marked done.
	if env.dl.SeenCalls != 2 || env.dl.DoneCalls != 2 || !env.dl.done["72d3162e-cc78-11e3-81ab-4c9367dc0958"] || !env.dl.done[bodyMark(pr)] {
		t.Errorf("deliveries: seen=%d done=%d marked=%v", env.dl.SeenCalls, env.dl.DoneCalls, env.dl.done)
	}

	// The handler's log line carries the delivery's identifiers.
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(env.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "from handler" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("handler log line missing in %s", env.logs.String())
	}
	want := map[string]any{
		"delivery":     "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		"event":        "pull_request",
		"action":       "opened",
		"installation": float64(51234567),
		"repo":         "acme/invoice-log-api",
		"pr":           float64(42),
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log attr %s = %v, want %v", k, line[k], v)
		}
	}
}

func TestLoggerFromWithoutDispatcher(t *testing.T) {
	if LoggerFrom(context.Background()) != slog.Default() {
		t.Error("LoggerFrom on a bare context should be slog.Default()")
	}
}

func TestRedeliveryDedupe(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")

	t.Run("after success: no-op", func(t *testing.T) {
		env := newEnv(nil)
		if w := env.serve(delivery("pull_request", "d-1", pr)); w.Code != http.StatusOK {
			t.Fatalf("first: %d", w.Code)
		}
		w := env.serve(delivery("pull_request", "d-1", pr))
		if w.Code != http.StatusOK || w.Body.String() != "already handled\n" {
			t.Fatalf("redelivery: %d %q", w.Code, w.Body.String())
		}
		if env.h.Calls != 1 || env.dl.DoneCalls != 2 {
			t.Errorf("handler calls=%d done calls=%d, want 1 and 2 (the ID and the body)", env.h.Calls, env.dl.DoneCalls)
		}
		// The same body under another ID is a replay: neither the ID nor
		// the event name is signed.
		w = env.serve(delivery("pull_request", "d-2", pr))
		if w.Code != http.StatusOK || w.Body.String() != "already handled\n" || env.h.Calls != 1 {
			t.Errorf("same body, new delivery id: %d %q, handler calls %d", w.Code, w.Body.String(), env.h.Calls)
		}
		// Another body under another ID is a new delivery.
		if w := env.serve(delivery("pull_request", "d-3", variant(t, pr, "action", "reopened"))); w.Code != http.StatusOK || env.h.Calls != 2 {
			t.Errorf("new body, new delivery id: %d, handler calls %d", w.Code, env.h.Calls)
		}
	})

	t.Run("after failure: same body under a new ID processed again", func(t *testing.T) {
		env := newEnv(nil)
		env.h.HandleError = errors.New("github 502")
		if w := env.serve(delivery("pull_request", "d-1", pr)); w.Code != http.StatusInternalServerError {
			t.Fatalf("failing handler: %d", w.Code)
		}
		env.h.HandleError = nil
		if w := env.serve(delivery("pull_request", "d-2", pr)); w.Code != http.StatusOK || env.h.Calls != 2 {
			t.Errorf("same body after a failure: %d, handler calls %d", w.Code, env.h.Calls)
		}
	})

	t.Run("re-run requests: remembered by ID only", func(t *testing.T) {
		// Two clicks on one run send the same body; each asks for a new
		// judgement.
		h := &fakeHandler{events: []string{"check_run", "check_suite"}}
		dl := &fakeDeliveries{}
		d := NewDispatcher(Options{Secret: []byte(testSecret), Handlers: []Handler{h}, Deliveries: dl, Logger: slog.New(slog.DiscardHandler)})
		for _, name := range []string{"check_run.rerequested", "check_run.requested_action", "check_suite.rerequested"} {
			rerun := githubtest.Payload(t, name, nil)
			for _, id := range []string{name + "-1", name + "-2", name + "-2"} {
				w := httptest.NewRecorder()
				d.ServeHTTP(w, delivery(githubtest.Event(name), id, rerun))
				if w.Code != http.StatusOK {
					t.Errorf("%s %s: %d %q", name, id, w.Code, w.Body.String())
				}
			}
			if dl.done[bodyMark(rerun)] {
				t.Errorf("%s: body marked done", name)
			}
		}
		if h.Calls != 6 {
			t.Errorf("handler calls = %d, want 6 (two per re-run request, the redeliveries not)", h.Calls)
		}
	})

	t.Run("after failure: processed again", func(t *testing.T) {
		env := newEnv(nil)
		env.h.HandleError = errors.New("github 502")
		if w := env.serve(delivery("pull_request", "d-1", pr)); w.Code != http.StatusInternalServerError {
			t.Fatalf("failing handler: %d", w.Code)
		}
		if env.dl.DoneCalls != 0 {
			t.Fatalf("Done called after a failure")
		}
		env.h.HandleError = nil
		if w := env.serve(delivery("pull_request", "d-1", pr)); w.Code != http.StatusOK {
			t.Fatalf("redelivery after failure: %d", w.Code)
		}
		if env.h.Calls != 2 || env.dl.DoneCalls != 2 {
			t.Errorf("handler calls=%d done=%d, want 2 and 2 (the ID and the body, once)", env.h.Calls, env.dl.DoneCalls)
		}
	})

	t.Run("lookup error: 500, handler not called", func(t *testing.T) {
		env := newEnv(nil)
		env.dl.SeenError = errors.New("dynamodb unavailable")
		if w := env.serve(delivery("pull_request", "d-1", pr)); w.Code != http.StatusInternalServerError {
			t.Fatalf("status %d", w.Code)
		}
		if env.h.Calls != 0 {
			t.Errorf("handler called %d times", env.h.Calls)
		}
	})

	t.Run("mark error: still 200", func(t *testing.T) {
		env := newEnv(nil)
		env.dl.DoneError = errors.New("throttled")
		if w := env.serve(delivery("pull_request", "d-1", pr)); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		if !strings.Contains(env.logs.String(), "mark delivery done failed") {
			t.Error("mark failure not logged")
		}
	})

	t.Run("nil Deliveries: every delivery handled", func(t *testing.T) {
		env := newEnv(func(o *Options) { o.Deliveries = nil })
		for range 2 {
			if w := env.serve(delivery("pull_request", "d-1", pr)); w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
		}
		if env.h.Calls != 2 {
			t.Errorf("handler calls = %d, want 2", env.h.Calls)
		}
	})
}

func TestHandlerFailureModes(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")
	for name, tc := range map[string]struct {
		fn     func(ctx context.Context) error
		logged string
	}{
		"error": {
			fn:     func(context.Context) error { return errors.New("create check run: 422") },
			logged: "create check run: 422",
		},
		"panic": {
			fn:     func(context.Context) error { panic("nil map") },
			logged: "panicked: nil map",
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(nil)
			env.h.HandleFunc = tc.fn
			w := env.serve(delivery("pull_request", "d-1", pr))
			if w.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", w.Code)
			}
			if env.dl.DoneCalls != 0 {
				t.Error("Done called for a failed delivery")
			}
			logs := env.logs.String()
			if got := strings.Count(logs, "handler failed"); got != 1 {
				t.Errorf("handler failure logged %d times, want once:\n%s", got, logs)
			}
			if !strings.Contains(logs, tc.logged) {
				t.Errorf("log lacks %q:\n%s", tc.logged, logs)
			}
		})
	}
}

func TestHandlerDeadline(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")

	t.Run("default is 8s", func(t *testing.T) {
		env := newEnv(nil)
		before := time.Now()
		env.serve(delivery("pull_request", "d-1", pr))
		after := time.Now()
		if !env.h.HadDeadline {
			t.Fatal("handler context has no deadline")
		}
		dl := env.h.LastDeadline
		if dl.Before(before.Add(DefaultTimeout)) || dl.After(after.Add(DefaultTimeout)) {
			t.Errorf("deadline %v after the request start, want %v", dl.Sub(before), DefaultTimeout)
		}
	})

	t.Run("slow handler is cut off", func(t *testing.T) {
		env := newEnv(func(o *Options) { o.Timeout = 20 * time.Millisecond })
		var got error
		env.h.HandleFunc = func(ctx context.Context) error {
			<-ctx.Done()
			got = ctx.Err()
			return got
		}
		w := env.serve(delivery("pull_request", "d-1", pr))
		if w.Code != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", w.Code)
		}
		if !errors.Is(got, context.DeadlineExceeded) {
			t.Errorf("handler saw %v, want deadline exceeded", got)
		}
		if env.dl.DoneCalls != 0 {
			t.Error("timed-out delivery marked done")
		}
	})
}

func TestBotSenderMatchesCaseInsensitively(t *testing.T) {
	env := newEnv(nil)
	w := env.serve(delivery("pull_request", "d-1", []byte(`{"action":"edited","sender":{"login":"Checkoff[bot]","type":"Bot"}}`)))
	if w.Code != http.StatusOK || env.h.Calls != 0 || env.dl.calls() != 0 {
		t.Errorf("status %d, handler calls %d, deliveries calls %d", w.Code, env.h.Calls, env.dl.calls())
	}
	// Another bot is not ignored.
	w = env.serve(delivery("pull_request", "d-2", variant(t, loadFixture(t, "pull_request.opened.json"), "sender", map[string]any{"login": "dependabot[bot]", "type": "Bot"})))
	if w.Code != http.StatusOK || env.h.Calls != 1 {
		t.Errorf("other bot: status %d, handler calls %d", w.Code, env.h.Calls)
	}
}

func TestRoutingByEvent(t *testing.T) {
	review := &fakeHandler{events: []string{"pull_request_review"}}
	pr := &fakeHandler{events: []string{"pull_request"}}
	d := NewDispatcher(Options{Secret: []byte(testSecret), Handlers: []Handler{pr, review}, Logger: slog.New(slog.DiscardHandler)})
	w := httptest.NewRecorder()
	d.ServeHTTP(w, delivery("pull_request_review", "d-1", githubtest.Payload(t, "pull_request_review.submitted", nil)))
	if w.Code != http.StatusOK || review.Calls != 1 || pr.Calls != 0 {
		t.Errorf("status %d, review calls %d, pr calls %d", w.Code, review.Calls, pr.Calls)
	}
}

func TestNewDispatcherPanicsOnWiringBugs(t *testing.T) {
	for name, handlers := range map[string][]Handler{
		"duplicate event": {&fakeHandler{events: []string{"pull_request"}}, &fakeHandler{events: []string{"check_run", "pull_request"}}},
		"no events":       {&fakeHandler{}},
		"nil handler":     {nil},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewDispatcher did not panic")
				}
			}()
			NewDispatcher(Options{Secret: []byte(testSecret), Handlers: handlers})
		})
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	env := newEnv(nil)
	pr := loadFixture(t, "pull_request.opened.json")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := env.serve(delivery("pull_request", "d-"+string(rune('a'+i)), variant(t, pr, "action", fmt.Sprintf("edited-%d", i))))
			if w.Code != http.StatusOK {
				t.Errorf("delivery %d: status %d", i, w.Code)
			}
		}()
	}
	wg.Wait()
	if env.h.calls() != 16 {
		t.Errorf("handler calls = %d, want 16", env.h.calls())
	}
}

// TestSecretNeverLogged drives every ingress path with debug logging on and
// checks that neither the secret nor any signature reaches the log.
func TestSecretNeverLogged(t *testing.T) {
	var all strings.Builder
	pr := loadFixture(t, "pull_request.opened.json")
	run := func(env *testEnv, r *http.Request) {
		sig := r.Header.Get("X-Hub-Signature-256")
		env.serve(r)
		logs := env.logs.String()
		if len(sig) > len("sha256=") && strings.Contains(logs, strings.TrimPrefix(sig, "sha256=")) {
			t.Errorf("signature %q logged", sig)
		}
		all.WriteString(logs)
	}
	for _, tc := range badInputCases(t) {
		run(newEnv(tc.mod), tc.req())
	}
	env := newEnv(nil)
	run(env, delivery("pull_request", "d-ok", pr))
	env = newEnv(nil)
	env.h.HandleError = errors.New("upstream failed")
	run(env, delivery("pull_request", "d-fail", pr))

	logs := all.String()
	if !strings.Contains(logs, "webhook rejected") || !strings.Contains(logs, "delivery handled") {
		t.Fatalf("log capture incomplete:\n%s", logs)
	}
	for _, secret := range []string{testSecret, hex.EncodeToString([]byte(testSecret))} {
		if strings.Contains(logs, secret) {
			t.Errorf("secret %q found in logs", secret)
		}
	}
}

// discardResponse is a reusable ResponseWriter, so the benchmark measures the
// dispatcher rather than httptest.ResponseRecorder.
type discardResponse struct {
	h      http.Header
	status int
}

func (w *discardResponse) Header() http.Header         { return w.h }
func (w *discardResponse) WriteHeader(status int)      { w.status = status }
func (w *discardResponse) Write(p []byte) (int, error) { return len(p), nil }

type noopHandler struct{}

func (noopHandler) Handles() []string { return []string{"pull_request"} }
func (noopHandler) Handle(context.Context, *Event) error {
	return nil
}

// BenchmarkDispatch measures one signed 8 KiB pull_request delivery through
// every ingress check to a no-op handler: size limit, HMAC-SHA256, envelope
// decode, context logger, deadline.
func BenchmarkDispatch(b *testing.B) {
	pr := loadFixture(b, "pull_request.opened.json")
	for name, logger := range map[string]*slog.Logger{
		"quiet":    slog.New(slog.DiscardHandler),
		"json-log": slog.New(slog.NewJSONHandler(io.Discard, nil)),
	} {
		b.Run(name, func(b *testing.B) {
			d := NewDispatcher(Options{Secret: []byte(testSecret), Handlers: []Handler{noopHandler{}}, Logger: logger})
			body := bytes.NewReader(pr)
			r := delivery("pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", pr)
			r.Body = io.NopCloser(body)
			w := &discardResponse{h: make(http.Header)}
			b.SetBytes(int64(len(pr)))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(pr)
				d.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}
