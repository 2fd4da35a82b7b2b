package ghclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry policy defaults. The overall budget is not set here: the webhook
// layer puts a deadline (~8 s, GitHub gives a delivery 10 s) on the request
// context, and Retry never sleeps past it.
const (
	defaultMaxAttempts = 5
	defaultBaseDelay   = 100 * time.Millisecond
	defaultMaxDelay    = 2 * time.Second
	// rateLimitWait is GitHub's documented minimum wait after a rate-limit
	// response that says nothing about when to come back; retrying sooner
	// risks the integration being banned.
	rateLimitWait = time.Minute
	// defaultMaxWait caps one wait when the context has no deadline (the
	// CLI): a primary rate limit can reset an hour away, better to fail.
	defaultMaxWait = time.Minute
	// maxPeek bounds how much of a 403 body is read to spot a secondary
	// rate limit; GitHub's error documents are far smaller.
	maxPeek = 64 << 10
)

// Retry returns an http.RoundTripper that sends requests through next and
// retries the ones GitHub asks to be retried: 500, 502, 503 and 504, 429,
// and 403 responses that are rate limits (the body mentions a secondary
// rate limit, Retry-After is set, or x-ratelimit-remaining is 0), plus
// connection errors where a repeat is safe.
//
// Waits honour Retry-After (seconds or an HTTP date) and, when the quota is
// spent, x-ratelimit-reset; otherwise they back off exponentially with
// jitter from 100 ms. A rate-limit response with neither header waits the
// minute GitHub's documentation asks for. Retry makes at most 5 attempts and
// never sleeps past the request context's deadline: when the next wait
// would end after it, the last response or error is returned as is.
//
// POST and PATCH are retried on the responses above too. 429 and rate-limit
// 403 mean GitHub did not act; a 5xx may mean it did, and checkoff accepts
// that: its writes are check-run creation (the newest run of a name is the
// one branch protection reads, so a duplicate is harmless), check-run
// updates (PATCH with the full state), installation tokens (an extra token
// is harmless) and webhook redelivery (ingress dedupes delivery IDs). On a
// connection error POST and PATCH are retried only when the dial failed, as
// the request was then never sent. Requests whose body cannot be replayed
// (Body set, GetBody nil) are sent once.
//
// Use it beneath ghinstallation's transports so installation-token fetches
// are retried too. A nil logger discards; log lines carry the method, host,
// path, status or error and wait, never headers or bodies.
func Retry(next http.RoundTripper, logger *slog.Logger) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &retryTransport{
		next:        next,
		logger:      logger,
		maxAttempts: defaultMaxAttempts,
		baseDelay:   defaultBaseDelay,
		maxDelay:    defaultMaxDelay,
		maxWait:     defaultMaxWait,
		now:         time.Now,
		sleep:       sleep,
		jitter:      rand.Float64,
	}
}

type retryTransport struct {
	next        http.RoundTripper
	logger      *slog.Logger
	maxAttempts int
	baseDelay   time.Duration
	maxDelay    time.Duration
	maxWait     time.Duration

	// Tests replace these to run without real sleeps.
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	jitter func() float64 // in [0, 1)
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			// The previous attempt consumed and closed the body; per the
			// RoundTripper contract req itself is never modified.
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.next.RoundTrip(r)
		if attempt >= t.maxAttempts || !replayable || ctx.Err() != nil {
			return resp, err
		}
		wait, retry := t.decide(req, resp, err, attempt)
		if !retry {
			return resp, err
		}
		attrs := []slog.Attr{
			slog.String("method", req.Method),
			slog.String("url", req.URL.Host+req.URL.Path),
			slog.Int("attempt", attempt),
			slog.Duration("wait", wait),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		} else {
			attrs = append(attrs, slog.Int("status", resp.StatusCode))
		}
		if wait > t.maxWait || t.pastDeadline(ctx, wait) {
			t.logger.LogAttrs(ctx, slog.LevelInfo, "GitHub request not retried: wait exceeds budget", attrs...)
			return resp, err
		}
		t.logger.LogAttrs(ctx, slog.LevelWarn, "retrying GitHub request", attrs...)
		if resp != nil {
			// Drain a little so the connection can be reused.
			_, _ = io.CopyN(io.Discard, resp.Body, maxPeek)
			resp.Body.Close()
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// decide reports whether an attempt's outcome is worth another attempt and
// how long to wait first.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if err != nil {
		if idempotent(req.Method) || dialFailed(err) {
			return t.backoff(attempt), true
		}
		return 0, false
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if d, ok := t.retryAfter(resp); ok {
			return d, true
		}
		return t.backoff(attempt), true
	case http.StatusTooManyRequests:
		return t.rateLimitWait(resp, attempt), true
	case http.StatusForbidden:
		if t.isRateLimit(resp) {
			return t.rateLimitWait(resp, attempt), true
		}
	}
	return 0, false
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// dialFailed reports whether err happened while connecting, i.e. before
// any byte of the request was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// backoff is the exponential delay before attempt+1 with "equal jitter":
// between half and all of base*2^(attempt-1), capped at maxDelay.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.baseDelay << (attempt - 1)
	if d > t.maxDelay || d <= 0 {
		d = t.maxDelay
	}
	return d/2 + time.Duration(t.jitter()*float64(d/2))
}

// rateLimitWait follows GitHub's guidance for rate-limit responses:
// Retry-After first, then x-ratelimit-reset when the quota is spent, else
// at least a minute.
func (t *retryTransport) rateLimitWait(resp *http.Response, attempt int) time.Duration {
	if d, ok := t.retryAfter(resp); ok {
		return d
	}
	if resp.Header.Get("X-Ratelimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			// The reset time is a whole second; never retry before it nor
			// with no pause at all (clocks differ).
			return max(time.Unix(reset, 0).Sub(t.now()), t.backoff(attempt))
		}
	}
	return rateLimitWait
}

// retryAfter parses Retry-After: delay seconds or an HTTP date.
func (t *retryTransport) retryAfter(resp *http.Response) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if when, err := http.ParseTime(v); err == nil {
		return max(when.Sub(t.now()), 0), true
	}
	return 0, false
}

// isRateLimit tells a rate-limit 403 from a permission 403. It peeks at the
// body and puts back what it read, so the caller still sees all of it.
func (t *retryTransport) isRateLimit(resp *http.Response) bool {
	if resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-Ratelimit-Remaining") == "0" {
		return true
	}
	peek, _ := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	return bytes.Contains(bytes.ToLower(peek), []byte("secondary rate limit"))
}

func (t *retryTransport) pastDeadline(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && t.now().Add(wait).After(deadline)
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
