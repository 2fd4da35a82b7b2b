package ghclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock stands in for time in the retry transport: sleeps return at
// once and move the clock.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}

// newTestRetry returns a retry transport on a fake clock with fixed jitter
// (0.5: every backoff is 3/4 of its ceiling). The clock starts on a whole
// second a little ahead of real time, so contexts with deadlines relative
// to it do not expire while the test runs.
func newTestRetry(next http.RoundTripper) (*retryTransport, *fakeClock) {
	rt := Retry(next, nil).(*retryTransport)
	clk := &fakeClock{t: time.Now().Truncate(time.Second).Add(time.Second)}
	rt.now, rt.sleep = clk.now, clk.sleep
	rt.jitter = func() float64 { return 0.5 }
	return rt, clk
}

// step is one scripted answer of scriptServer.
type step struct {
	status int
	header map[string]string
	body   string
	hangup bool // hijack the connection and close it without answering
}

type gotRequest struct {
	method, path, body string
}

// scriptServer answers requests with its steps in order and records what it
// received; a request beyond the script fails the test.
type scriptServer struct {
	t     *testing.T
	mu    sync.Mutex
	steps []step
	got   []gotRequest
}

func newScriptServer(t *testing.T, steps ...step) (*httptest.Server, *scriptServer) {
	s := &scriptServer{t: t, steps: steps}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, s
}

func (s *scriptServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("read request body: %v", err)
	}
	s.mu.Lock()
	s.got = append(s.got, gotRequest{r.Method, r.URL.Path, string(body)})
	n := len(s.got)
	s.mu.Unlock()
	if n > len(s.steps) {
		s.t.Errorf("request %d (%s %s) beyond the %d scripted", n, r.Method, r.URL.Path, len(s.steps))
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	st := s.steps[n-1]
	if st.hangup {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			s.t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	for k, v := range st.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(st.status)
	io.WriteString(w, st.body)
}

func (s *scriptServer) requests() []gotRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

const secondaryBody = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`

func TestRetryStatuses(t *testing.T) {
	ok := step{status: 200, body: `{"ok":true}`}
	tests := map[string]struct {
		first    func(clk time.Time) step
		deadline time.Duration // 0: no deadline
		want     []time.Duration
		wantCode int
	}{
		"500": {first: fixed(step{status: 500}), want: []time.Duration{75 * time.Millisecond}, wantCode: 200},
		"502": {first: fixed(step{status: 502}), want: []time.Duration{75 * time.Millisecond}, wantCode: 200},
		"503": {first: fixed(step{status: 503}), want: []time.Duration{75 * time.Millisecond}, wantCode: 200},
		"504": {first: fixed(step{status: 504}), want: []time.Duration{75 * time.Millisecond}, wantCode: 200},
		"503 with Retry-After": {
			first: fixed(step{status: 503, header: map[string]string{"Retry-After": "2"}}),
			want:  []time.Duration{2 * time.Second}, wantCode: 200,
		},
		"429 with Retry-After seconds": {
			first: fixed(step{status: 429, header: map[string]string{"Retry-After": "3"}}),
			want:  []time.Duration{3 * time.Second}, wantCode: 200, deadline: 8 * time.Second,
		},
		"429 with Retry-After date": {
			first: func(clk time.Time) step {
				return step{status: 429, header: map[string]string{"Retry-After": clk.Add(4 * time.Second).UTC().Format(http.TimeFormat)}}
			},
			want: []time.Duration{4 * time.Second}, wantCode: 200, deadline: 8 * time.Second,
		},
		"429 with Retry-After date in the past": {
			first: func(clk time.Time) step {
				return step{status: 429, header: map[string]string{"Retry-After": clk.Add(-time.Hour).UTC().Format(http.TimeFormat)}}
			},
			want: []time.Duration{0}, wantCode: 200,
		},
		"429 without hints waits a minute": {
			first: fixed(step{status: 429}),
			want:  []time.Duration{time.Minute}, wantCode: 200,
		},
		"429 without hints inside a budget is not retried": {
			first: fixed(step{status: 429}), deadline: 8 * time.Second, wantCode: 429,
		},
		"403 secondary rate limit body": {
			first: fixed(step{status: 403, body: secondaryBody}),
			want:  []time.Duration{time.Minute}, wantCode: 200,
		},
		"403 with Retry-After": {
			first: fixed(step{status: 403, header: map[string]string{"Retry-After": "1"}, body: secondaryBody}),
			want:  []time.Duration{time.Second}, wantCode: 200, deadline: 8 * time.Second,
		},
		"403 quota spent waits for x-ratelimit-reset": {
			first: func(clk time.Time) step {
				return step{status: 403, header: map[string]string{
					"X-Ratelimit-Remaining": "0",
					"X-Ratelimit-Reset":     strconv.FormatInt(clk.Add(6*time.Second).Unix(), 10),
				}, body: `{"message":"API rate limit exceeded for installation ID 1."}`}
			},
			want: []time.Duration{6 * time.Second}, wantCode: 200, deadline: 8 * time.Second,
		},
		"429 quota spent, reset already passed, backs off": {
			first: func(clk time.Time) step {
				return step{status: 429, header: map[string]string{
					"X-Ratelimit-Remaining": "0",
					"X-Ratelimit-Reset":     strconv.FormatInt(clk.Add(-time.Minute).Unix(), 10),
				}}
			},
			want: []time.Duration{75 * time.Millisecond}, wantCode: 200,
		},
		"x-ratelimit-reset past the deadline is not awaited": {
			first: func(clk time.Time) step {
				return step{status: 403, header: map[string]string{
					"X-Ratelimit-Remaining": "0",
					"X-Ratelimit-Reset":     strconv.FormatInt(clk.Add(30*time.Second).Unix(), 10),
				}}
			},
			deadline: 8 * time.Second, wantCode: 403,
		},
		"Retry-After past the deadline is not awaited": {
			first:    fixed(step{status: 503, header: map[string]string{"Retry-After": "10"}}),
			deadline: 8 * time.Second, wantCode: 503,
		},
		"Retry-After beyond the cap without a deadline": {
			first:    fixed(step{status: 429, header: map[string]string{"Retry-After": "3600"}}),
			wantCode: 429,
		},
		"404 is final":               {first: fixed(step{status: 404, body: `{"message":"Not Found"}`}), wantCode: 404},
		"422 is final":               {first: fixed(step{status: 422, body: `{"message":"Validation Failed"}`}), wantCode: 422},
		"401 is final":               {first: fixed(step{status: 401}), wantCode: 401},
		"501 is final":               {first: fixed(step{status: 501}), wantCode: 501},
		"403 permission is final":    {first: fixed(step{status: 403, body: `{"message":"Resource not accessible by integration"}`}), wantCode: 403},
		"403 quota left is final":    {first: fixed(step{status: 403, header: map[string]string{"X-Ratelimit-Remaining": "12"}}), wantCode: 403},
		"200 is final":               {first: fixed(step{status: 200, body: "first"}), wantCode: 200},
		"invalid Retry-After on 5xx": {first: fixed(step{status: 502, header: map[string]string{"Retry-After": "soon"}}), want: []time.Duration{75 * time.Millisecond}, wantCode: 200},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rt, clk := newTestRetry(http.DefaultTransport)
			first := tc.first(clk.now())
			srv, script := newScriptServer(t, first, ok)
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, clk.now().Add(tc.deadline))
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/repos/o/r", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if !slices.Equal(clk.sleeps, tc.want) {
				t.Errorf("sleeps %v, want %v", clk.sleeps, tc.want)
			}
			if got, want := len(script.requests()), len(tc.want)+1; got != want {
				t.Errorf("server saw %d requests, want %d", got, want)
			}
			// Whatever is returned arrives whole, including a peeked 403.
			wantBody := ok.body
			if len(tc.want) == 0 {
				wantBody = first.body
			}
			if string(body) != wantBody {
				t.Errorf("body %q, want %q", body, wantBody)
			}
		})
	}
}

func fixed(s step) func(time.Time) step { return func(time.Time) step { return s } }

func TestRetryBoundedAttempts(t *testing.T) {
	steps := make([]step, defaultMaxAttempts)
	for i := range steps {
		steps[i] = step{status: 502, body: "bad gateway " + strconv.Itoa(i+1)}
	}
	srv, script := newScriptServer(t, steps...)
	rt, clk := newTestRetry(http.DefaultTransport)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || string(body) != "bad gateway 5" {
		t.Errorf("got %d %q, want the last 502", resp.StatusCode, body)
	}
	if n := len(script.requests()); n != defaultMaxAttempts {
		t.Errorf("%d attempts, want %d", n, defaultMaxAttempts)
	}
	want := []time.Duration{75 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond}
	if !slices.Equal(clk.sleeps, want) {
		t.Errorf("sleeps %v, want exponential %v", clk.sleeps, want)
	}
}

func TestRetryBackoffCappedAndJittered(t *testing.T) {
	rt, _ := newTestRetry(nil)
	for _, j := range []float64{0, 0.999} {
		rt.jitter = func() float64 { return j }
		for attempt := 1; attempt <= 70; attempt++ {
			d := rt.backoff(attempt)
			ceil := min(defaultBaseDelay<<min(attempt-1, 20), defaultMaxDelay)
			if d < ceil/2 || d > ceil {
				t.Fatalf("jitter %v attempt %d: backoff %v outside [%v, %v]", j, attempt, d, ceil/2, ceil)
			}
		}
	}
}

func TestRetryStopsBeforeDeadline(t *testing.T) {
	srv, script := newScriptServer(t, step{status: 500}, step{status: 500}, step{status: 500})
	rt, clk := newTestRetry(http.DefaultTransport)
	start := clk.now()
	// Waits are 75 ms then 150 ms: the second would end past the deadline.
	deadline := start.Add(200 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("status %d, want the last 500", resp.StatusCode)
	}
	if n := len(script.requests()); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
	if clk.now().After(deadline) {
		t.Errorf("slept until %v, past the deadline %v", clk.now().Sub(start), deadline.Sub(start))
	}
}

func TestRetryReplaysBody(t *testing.T) {
	srv, script := newScriptServer(t, step{status: 502}, step{status: 503}, step{status: 201, body: `{"id":1}`})
	rt, _ := newTestRetry(http.DefaultTransport)
	const payload = `{"name":"Reviewer Checklist","head_sha":"abc"}`
	// A body net/http cannot rewind by itself (unknown length, sent
	// chunked), so only Retry's use of GetBody can resend it.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/repos/o/r/check-runs", io.NopCloser(strings.NewReader(payload)))
	getBodies := 0
	req.GetBody = func() (io.ReadCloser, error) {
		getBodies++
		return io.NopCloser(strings.NewReader(payload)), nil
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("status %d, want 201", resp.StatusCode)
	}
	if getBodies != 2 {
		t.Errorf("GetBody called %d times, want once per retry (2)", getBodies)
	}
	got := script.requests()
	if len(got) != 3 {
		t.Fatalf("%d attempts, want 3", len(got))
	}
	for i, r := range got {
		if r.method != http.MethodPost || r.body != payload {
			t.Errorf("attempt %d: %s body %q, want POST %q", i+1, r.method, r.body, payload)
		}
	}
}

func TestRetryUnreplayableBodySentOnce(t *testing.T) {
	srv, script := newScriptServer(t, step{status: 502})
	rt, clk := newTestRetry(http.DefaultTransport)
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/x", io.NopCloser(strings.NewReader("once")))
	if req.GetBody != nil {
		t.Fatal("test needs a request without GetBody")
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 || len(script.requests()) != 1 || len(clk.sleeps) != 0 {
		t.Errorf("status %d after %d attempts and sleeps %v, want one 502", resp.StatusCode, len(script.requests()), clk.sleeps)
	}
}

func TestRetryConnectionReset(t *testing.T) {
	tests := map[string]struct {
		method       string
		wantAttempts int
		wantErr      bool
	}{
		"GET is retried":       {method: http.MethodGet, wantAttempts: 2},
		"DELETE is retried":    {method: http.MethodDelete, wantAttempts: 2},
		"POST may have acted":  {method: http.MethodPost, wantAttempts: 1, wantErr: true},
		"PATCH may have acted": {method: http.MethodPatch, wantAttempts: 1, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv, script := newScriptServer(t, step{hangup: true}, step{status: 200, body: "ok"})
			// A fresh transport: net/http itself retries some failures on
			// reused connections, which would hide ours.
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			rt, _ := newTestRetry(tr)
			req, _ := http.NewRequest(tc.method, srv.URL+"/x", strings.NewReader("{}"))
			resp, err := rt.RoundTrip(req)
			if tc.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got status %d, want the connection error", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatalf("RoundTrip: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d, want 200", resp.StatusCode)
				}
			}
			if n := len(script.requests()); n != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", n, tc.wantAttempts)
			}
		})
	}
}

func TestRetryDialFailureRetriesPOST(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every dial is refused
	rt, clk := newTestRetry(&http.Transport{})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/x", strings.NewReader("{}"))
	_, err = rt.RoundTrip(req)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("err %v, want the dial error", err)
	}
	if len(clk.sleeps) != defaultMaxAttempts-1 {
		t.Errorf("sleeps %v, want %d retries", clk.sleeps, defaultMaxAttempts-1)
	}
}

func TestRetryCancelledWhileWaiting(t *testing.T) {
	srv, script := newScriptServer(t, step{status: 503, header: map[string]string{"Retry-After": "5"}})
	rt := Retry(http.DefaultTransport, nil) // the real sleep
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	start := time.Now()
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("returned after %v, want soon after the cancel", waited)
	}
	if n := len(script.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}
