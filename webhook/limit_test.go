package webhook

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// limitEnv is a Dispatcher with maxConcurrent slots whose handler blocks
// until release is closed; peak is the most handlers seen at once.
func limitEnv(t *testing.T, maxConcurrent int, queue time.Duration, mod func(*Options)) (*testEnv, chan struct{}, *atomic.Int32) {
	t.Helper()
	release := make(chan struct{})
	var inFlight, peak atomic.Int32
	env := newEnv(func(o *Options) {
		o.MaxConcurrent, o.QueueTimeout = maxConcurrent, queue
		if mod != nil {
			mod(o)
		}
	})
	env.h.HandleFunc = func(ctx context.Context) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return env, release, &peak
}

func serveAsync(env *testEnv, r *http.Request) <-chan int {
	done := make(chan int, 1)
	go func() { done <- env.serve(r).Code }()
	return done
}

// waitCalls waits until the handler has been entered n times.
func waitCalls(t *testing.T, env *testEnv, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for env.h.calls() < n {
		if time.Now().After(deadline) {
			t.Fatalf("handler entered %d times, want %d", env.h.calls(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMaxConcurrentRefusesPastTheQueueTimeout: with every slot taken, a
// signed delivery waits and, once QueueTimeout has passed, is refused with
// 503 and Retry-After, touching no handler and no Deliveries. A delivery
// without a valid signature never waits for a slot: it is refused first,
// so no one without the secret can hold the slots.
func TestMaxConcurrentRefusesPastTheQueueTimeout(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")
	env, release, _ := limitEnv(t, 1, 50*time.Millisecond, nil)
	first := serveAsync(env, delivery("pull_request", "d-1", pr))
	waitCalls(t, env, 1)

	forged := delivery("pull_request", "d-forged", pr)
	forged.Header.Set("X-Hub-Signature-256", sign("not-the-secret", pr))
	start := time.Now()
	if w := env.serve(forged); w.Code != http.StatusUnauthorized {
		t.Errorf("forged delivery with no slot free: %d, want 401", w.Code)
	}
	if waited := time.Since(start); waited >= 50*time.Millisecond {
		t.Errorf("forged delivery waited %v for a slot", waited)
	}

	start = time.Now()
	w := env.serve(delivery("pull_request", "d-2", pr))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("delivery with no slot free: %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("refused after %v, before the 50ms queue timeout", waited)
	}
	if n := env.h.calls(); n != 1 {
		t.Errorf("handler called %d times, want only the first delivery", n)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first delivery: %d, want 200", code)
	}
	if env.dl.DoneCalls != 2 || !env.dl.done["d-1"] || env.dl.done["d-2"] {
		t.Errorf("Deliveries.Done called %d times (%v), want twice for the first delivery (its ID and body)", env.dl.DoneCalls, env.dl.done)
	}
}

// TestMaxConcurrentQueues: deliveries beyond the bound wait for a slot and
// are then handled; never more than the bound run at once, and the
// handler's deadline counts from arrival, wait included.
func TestMaxConcurrentQueues(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")
	const budget = 2 * time.Second
	env, release, peak := limitEnv(t, 2, 5*time.Second, func(o *Options) { o.Timeout = budget })
	var answers []<-chan int
	arrived := time.Now()
	for i, id := range []string{"d-1", "d-2", "d-3", "d-4", "d-5"} {
		answers = append(answers, serveAsync(env, delivery("pull_request", id, variant(t, pr, "action", fmt.Sprintf("edited-%d", i)))))
	}
	waitCalls(t, env, 2)
	time.Sleep(300 * time.Millisecond) // the others are queued, not running
	if n := env.h.calls(); n != 2 {
		t.Fatalf("handler entered %d times with 2 slots, want 2", n)
	}
	close(release)
	for i, a := range answers {
		if code := <-a; code != http.StatusOK {
			t.Errorf("delivery %d: %d, want 200", i+1, code)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak handlers at once %d, want 2", p)
	}
	if n := env.h.calls(); n != 5 {
		t.Errorf("handler called %d times, want 5", n)
	}
	// The last one waited 300ms or more; its deadline is still the budget
	// from arrival, not from when it got a slot.
	if d := env.h.LastDeadline.Sub(arrived); d > budget+100*time.Millisecond {
		t.Errorf("queued handler's deadline %v after arrival, want the %v budget counted from arrival", d, budget)
	}
}

// TestMaxConcurrentClientGone: a delivery whose client goes away while it
// waits gives up its place without being handled.
func TestMaxConcurrentClientGone(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")
	env, release, _ := limitEnv(t, 1, 5*time.Second, nil)
	first := serveAsync(env, delivery("pull_request", "d-1", pr))
	waitCalls(t, env, 1)
	ctx, cancel := context.WithCancel(context.Background())
	second := serveAsync(env, delivery("pull_request", "d-2", pr).WithContext(ctx))
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case code := <-second:
		if code != http.StatusServiceUnavailable {
			t.Errorf("delivery whose client left: %d, want 503", code)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("waiting delivery did not give up when its client left")
	}
	if n := env.h.calls(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first delivery: %d, want 200", code)
	}
}

// TestDeclaredLengthIsNotPreallocated: a client that declares a large body
// and sends a few bytes (before any signature is checked) does not make the
// ingress allocate what it declared.
func TestDeclaredLengthIsNotPreallocated(t *testing.T) {
	env := newEnv(nil)
	r := delivery("pull_request", "d-1", []byte(`{}`))
	r.Header.Set("X-Hub-Signature-256", sign("not-the-secret", []byte(`{}`)))
	r.ContentLength = 20 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := env.serve(r)
	runtime.ReadMemStats(&after)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("forged delivery: %d, want 401", w.Code)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
		t.Errorf("a 2-byte body declared as 20 MiB allocated %d bytes", got)
	}
	if env.h.calls() != 0 {
		t.Error("handler called")
	}
}
