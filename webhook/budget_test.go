package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	ctx := context.Background()
	b := newBudget(100)
	if err := b.reserve(ctx, 60, time.Second); err != nil {
		t.Fatal(err)
	}
	if b.tryReserve(41) {
		t.Fatal("tryReserve(41) with 40 free succeeded")
	}
	if !b.tryReserve(40) {
		t.Fatal("tryReserve(40) with 40 free failed")
	}
	start := time.Now()
	if err := b.reserve(ctx, 1, 30*time.Millisecond); !errors.Is(err, errBudgetSpent) {
		t.Fatalf("reserve with none free: %v, want %v", err, errBudgetSpent)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("gave up after %v, before the 30ms wait", waited)
	}
	if err := b.reserve(ctx, 101, time.Second); err == nil {
		t.Error("reserve over the whole budget succeeded")
	}

	// A waiter gets its bytes when they are released.
	got := make(chan error, 1)
	go func() { got <- b.reserve(ctx, 50, 5*time.Second) }()
	time.Sleep(10 * time.Millisecond)
	b.release(60)
	if err := <-got; err != nil {
		t.Fatalf("waiter after release: %v", err)
	}
	if n := b.inUse(); n != 90 {
		t.Errorf("in use %d, want 90", n)
	}

	// A waiter whose client leaves gives up.
	cctx, cancel := context.WithCancel(ctx)
	go func() { got <- b.reserve(cctx, 20, 5*time.Second) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-got; !errors.Is(err, errBudgetClient) {
		t.Errorf("waiter whose client left: %v, want %v", err, errBudgetClient)
	}

	b.release(90)
	if n := b.inUse(); n != 0 {
		t.Errorf("in use %d after releasing everything", n)
	}
	defer func() {
		if recover() == nil {
			t.Error("releasing more than was reserved did not panic")
		}
	}()
	b.release(1)
}

// TestBudgetSmallWaiterPassesLargeOne: the budget is not FIFO, so a usual
// delivery is not queued behind a 25 MiB body that does not fit yet.
func TestBudgetSmallWaiterPassesLargeOne(t *testing.T) {
	ctx := context.Background()
	b := newBudget(100)
	if err := b.reserve(ctx, 90, time.Second); err != nil {
		t.Fatal(err)
	}
	large := make(chan error, 1)
	go func() { large <- b.reserve(ctx, 50, 5*time.Second) }()
	time.Sleep(10 * time.Millisecond)
	if err := b.reserve(ctx, 10, 10*time.Millisecond); err != nil {
		t.Fatalf("small reservation that fits, with a large one waiting: %v", err)
	}
	b.release(100)
	if err := <-large; err != nil {
		t.Fatalf("large waiter: %v", err)
	}
	b.release(50)
}

// TestBudgetConcurrent: never more reserved than the budget, whatever the
// interleaving, and nothing left reserved at the end (run with -race).
func TestBudgetConcurrent(t *testing.T) {
	const max = 1000
	b := newBudget(max)
	var held atomic.Int64
	var wg sync.WaitGroup
	var refused atomic.Int32
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				n := 1 + r.Int64N(300)
				var err error
				if r.IntN(2) == 0 {
					err = b.reserve(context.Background(), n, time.Millisecond)
				} else if !b.tryReserve(n) {
					err = errBudgetSpent
				}
				if err != nil {
					refused.Add(1)
					continue
				}
				if h := held.Add(n); h > max {
					t.Errorf("%d bytes held, budget %d", h, max)
				}
				time.Sleep(time.Duration(r.IntN(50)) * time.Microsecond)
				held.Add(-n)
				b.release(n)
			}
		}()
	}
	wg.Wait()
	if n := b.inUse(); n != 0 {
		t.Errorf("%d bytes still reserved", n)
	}
	t.Logf("%d of %d reservations refused", refused.Load(), 32*200)
}

// gatedBody yields head, then blocks until gate is closed, then yields
// tail: a client in the middle of sending its body.
type gatedBody struct {
	head, tail []byte
	gate       chan struct{}
	reached    chan struct{} // closed once head is read
	once       sync.Once
}

func newGatedBody(head, tail []byte) *gatedBody {
	return &gatedBody{head: head, tail: tail, gate: make(chan struct{}), reached: make(chan struct{})}
}

func (g *gatedBody) Read(p []byte) (int, error) {
	if len(g.head) > 0 {
		n := copy(p, g.head)
		g.head = g.head[n:]
		return n, nil
	}
	g.once.Do(func() { close(g.reached) })
	<-g.gate
	if len(g.tail) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.tail)
	g.tail = g.tail[n:]
	return n, nil
}

// TestUnverifiedBytesAreBounded: while bodies whose signature is not yet
// known hold the budget, a request that does not fit waits UnverifiedWait
// and is refused with 503 and Retry-After, a body of unknown length is
// refused at once, and a genuine delivery that fits is still handled.
// Nothing stays reserved afterwards.
func TestUnverifiedBytesAreBounded(t *testing.T) {
	const maxBody = 256 << 10
	env := newEnv(func(o *Options) {
		o.MaxBody = maxBody
		o.MaxUnverifiedBytes = 3 * maxBody
		o.UnverifiedWait = 50 * time.Millisecond
	})
	big := bytes.Repeat([]byte("x"), maxBody-chunkSize) // reserves maxBody
	var stalled []*gatedBody
	var answers []<-chan int
	for i := range 3 {
		g := newGatedBody(big[:len(big)/2], big[len(big)/2:])
		r := delivery("pull_request", "forged", big)
		r.Header.Set("X-Hub-Signature-256", sign("not-the-secret", big))
		r.Body = io.NopCloser(g)
		answers = append(answers, serveAsync(env, r))
		select {
		case <-g.reached:
		case <-time.After(5 * time.Second):
			t.Fatalf("stalled body %d never read", i)
		}
		stalled = append(stalled, g)
	}
	if n, max := env.d.unverified.inUse(), env.d.unverified.max; n != 3*maxBody || n > max {
		t.Fatalf("%d bytes reserved by three stalled bodies, want %d within the budget of %d", n, 3*maxBody, max)
	}

	// A declared length that does not fit waits, then 503.
	start := time.Now()
	w := env.serve(delivery("pull_request", "d-big", big))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("delivery with the budget spent: %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("refused after %v, before UnverifiedWait", waited)
	}
	// A body of unknown length does not wait while holding part of it.
	chunked := delivery("pull_request", "d-chunked", big)
	chunked.ContentLength = -1
	start = time.Now()
	if w := env.serve(chunked); w.Code != http.StatusServiceUnavailable {
		t.Errorf("chunked delivery with the budget spent: %d, want 503", w.Code)
	}
	if waited := time.Since(start); waited >= 50*time.Millisecond {
		t.Errorf("chunked delivery waited %v", waited)
	}
	if n := env.h.calls(); n != 0 {
		t.Errorf("handler called %d times", n)
	}

	// A genuine delivery waits for room and is handled once a stalled body
	// ends (here: is refused for its signature).
	env.d.unverifiedWait = 5 * time.Second
	genuine := serveAsync(env, delivery("pull_request", "d-genuine", minimalPullRequest(strings.Repeat("a", chunkSize))))
	time.Sleep(20 * time.Millisecond)
	close(stalled[0].gate)
	if code := <-answers[0]; code != http.StatusUnauthorized {
		t.Errorf("forged body: %d, want 401", code)
	}
	if code := <-genuine; code != http.StatusOK {
		t.Errorf("genuine delivery after room was freed: %d, want 200", code)
	}
	for i, g := range stalled[1:] {
		close(g.gate)
		if code := <-answers[i+1]; code != http.StatusUnauthorized {
			t.Errorf("forged body %d: %d, want 401", i+1, code)
		}
	}
	if n := env.d.unverified.inUse(); n != 0 {
		t.Errorf("%d bytes still reserved", n)
	}
	if n := env.h.calls(); n != 1 {
		t.Errorf("handler called %d times, want once (the genuine delivery)", n)
	}
}

// errReader fails after yielding some bytes: a client whose connection
// breaks mid-body.
type errReader struct{ n int }

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	n := min(len(p), e.n)
	e.n -= n
	for i := range p[:n] {
		p[i] = ' '
	}
	return n, nil
}

// TestUnverifiedBudgetReleasedOnEveryPath: whatever the answer, the bytes a
// request reserved are given back.
func TestUnverifiedBudgetReleasedOnEveryPath(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for name, tc := range map[string]struct {
		mod    func(*testEnv)
		req    func() *http.Request
		status int
	}{
		"handled": {req: func() *http.Request { return delivery("pull_request", "d-1", pr) }, status: http.StatusOK},
		"wrong signature": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("X-Hub-Signature-256", sign("not-the-secret", pr))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"signature not hex": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("z", 64))
				return r
			},
			status: http.StatusUnauthorized,
		},
		"declared oversize": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Body, r.ContentLength = io.NopCloser(&repeatReader{b: ' '}), oversize
				return r
			},
			status: http.StatusRequestEntityTooLarge,
		},
		"chunked oversize": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Body, r.ContentLength = io.NopCloser(&repeatReader{b: ' '}), -1
				return r
			},
			status: http.StatusRequestEntityTooLarge,
		},
		"read error": {
			req: func() *http.Request {
				r := delivery("pull_request", "d-1", pr)
				r.Body = io.NopCloser(&errReader{n: 3 * chunkSize})
				return r
			},
			status: http.StatusBadRequest,
		},
		"wrong shape": {
			req:    func() *http.Request { return delivery("pull_request", "d-1", []byte(`{"action":"opened"}`)) },
			status: http.StatusBadRequest,
		},
		"handler error": {
			mod:    func(env *testEnv) { env.h.HandleError = errors.New("github 502") },
			req:    func() *http.Request { return delivery("pull_request", "d-1", pr) },
			status: http.StatusInternalServerError,
		},
		"client gone while waiting": {
			mod: func(env *testEnv) { env.d.unverified.tryReserve(env.d.unverified.max) },
			req: func() *http.Request {
				return delivery("pull_request", "d-1", pr).WithContext(gone)
			},
			status: http.StatusServiceUnavailable,
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(nil)
			var pinned int64
			if tc.mod != nil {
				before := env.d.unverified.inUse()
				tc.mod(env)
				pinned = env.d.unverified.inUse() - before
			}
			if w := env.serve(tc.req()); w.Code != tc.status {
				t.Errorf("status %d %q, want %d", w.Code, w.Body.String(), tc.status)
			}
			if n := env.d.unverified.inUse() - pinned; n != 0 {
				t.Errorf("%d bytes still reserved", n)
			}
		})
	}
}

// TestMaxUnverifiedBytesAtLeastMaxBody: a budget set below MaxBody is
// raised, so any body within MaxBody can be read.
func TestMaxUnverifiedBytesAtLeastMaxBody(t *testing.T) {
	env := newEnv(func(o *Options) { o.MaxBody = 100 << 10; o.MaxUnverifiedBytes = 1 })
	body := minimalPullRequest(strings.Repeat("a", 99<<10))
	if w := env.serve(delivery("pull_request", "d-1", body)); w.Code != http.StatusOK {
		t.Errorf("body within MaxBody: %d %q", w.Code, w.Body.String())
	}
	if d := newEnv(nil).d; d.unverified.max != DefaultMaxUnverifiedBytes || d.unverifiedWait != DefaultUnverifiedWait {
		t.Errorf("defaults: budget %d, wait %v", d.unverified.max, d.unverifiedWait)
	}
}
