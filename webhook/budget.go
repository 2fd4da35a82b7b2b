package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Until its HMAC is checked, a body is anyone's: 24 connections each
// sending 25 MiB with a wrong signature once drove `checkoff serve` to
// 1.2 GB. So the bytes held for unverified bodies are bounded in total,
// across requests, by a budget, as MaxBody bounds each one.

// budget is a byte semaphore. It is not FIFO: when bytes are released,
// whichever waiter fits takes them, so a usual delivery does not queue
// behind a 25 MiB one that does not fit yet.
type budget struct {
	max int64

	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed, and replaced, whenever bytes are released
}

func newBudget(max int64) *budget {
	return &budget{max: max, freed: make(chan struct{})}
}

var (
	errBudgetSpent  = errors.New("busy: unverified body budget spent")
	errBudgetClient = errors.New("client went away while waiting for the unverified body budget")
)

// tryReserve takes n bytes if they are free now.
func (b *budget) tryReserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

// reserve takes n bytes, waiting at most wait for them to be free.
func (b *budget) reserve(ctx context.Context, n int64, wait time.Duration) error {
	if n > b.max {
		return fmt.Errorf("reserve %d bytes: over the whole budget of %d", n, b.max)
	}
	var deadline <-chan time.Time
	for {
		b.mu.Lock()
		if b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		if deadline == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-freed:
		case <-deadline:
			return errBudgetSpent
		case <-ctx.Done():
			return errBudgetClient
		}
	}
}

// release gives back n reserved bytes and wakes the waiters.
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.used < 0 {
		panic("webhook: unverified body budget released more than was reserved")
	}
	close(b.freed)
	b.freed = make(chan struct{})
}

// inUse returns the bytes reserved now.
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// chunkSize is the unit unverified bodies are read and accounted in: one
// chunk holds a usual payload (8-30 KiB), and chunks are pooled, so refused
// bodies leave little garbage for the collector to lag behind on.
const chunkSize = 32 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// bodyError is why readVerified refused a request.
type bodyError struct {
	status int
	reason string
}

// readVerified reads the request body into budgeted chunks while computing
// its HMAC-SHA256, and returns a copy of it only when that matches sig
// ("sha256=" and 64 characters, as checkSignatureShape ensures). A declared
// Content-Length is reserved whole before anything is read: a request
// either gets room or waits holding none, so waiters never hold what
// another waits for. A body of unknown length (or longer than declared,
// which net/http does not let happen) takes a chunk at a time and is
// refused, not kept waiting, when the budget is spent. The reservation is
// released on every return; a verified body is authenticated, and no
// longer the budget's business.
//
// A body that fits one chunk (every usual payload) is returned in its
// pooled chunk, not copied: release hands the chunk back, after which the
// body must not be read. release is never nil and may be called twice.
func (d *Dispatcher) readVerified(w http.ResponseWriter, r *http.Request, sig string) (body []byte, release func(), _ *bodyError) {
	noop := func() {}
	want, err := hex.DecodeString(sig[len("sha256="):])
	if err != nil {
		return nil, noop, &bodyError{http.StatusUnauthorized, "signature is not hex"}
	}
	if r.ContentLength > d.maxBody {
		return nil, noop, &bodyError{http.StatusRequestEntityTooLarge, "body over limit"}
	}
	var held int64
	defer func() { d.unverified.release(held) }()
	if r.ContentLength >= 0 {
		// Room for the declared bytes and for the read that sees EOF.
		n := (r.ContentLength/chunkSize + 1) * chunkSize
		if err := d.unverified.reserve(r.Context(), n, d.unverifiedWait); err != nil {
			return nil, noop, &bodyError{http.StatusServiceUnavailable, err.Error()}
		}
		held = n
	}
	var chunks []*[]byte
	defer func() {
		for _, c := range chunks {
			chunkPool.Put(c)
		}
	}()
	mac := hmac.New(sha256.New, d.secret)
	in := http.MaxBytesReader(w, r.Body, d.maxBody)
	var total int64
	for {
		if total+chunkSize > held {
			if !d.unverified.tryReserve(chunkSize) {
				return nil, noop, &bodyError{http.StatusServiceUnavailable, errBudgetSpent.Error()}
			}
			held += chunkSize
		}
		c := chunkPool.Get().(*[]byte)
		chunks = append(chunks, c)
		n, err := io.ReadFull(in, *c)
		mac.Write((*c)[:n])
		total += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return nil, noop, &bodyError{http.StatusRequestEntityTooLarge, "body over limit"}
		case err != nil:
			return nil, noop, &bodyError{http.StatusBadRequest, "read body failed"}
		}
	}
	if !hmac.Equal(mac.Sum(nil), want) {
		return nil, noop, &bodyError{http.StatusUnauthorized, "signature mismatch"}
	}
	if len(chunks) == 1 {
		c := chunks[0]
		chunks = nil // the caller's now
		var once sync.Once
		return (*c)[:total], func() { once.Do(func() { chunkPool.Put(c) }) }, nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		n := min(int64(chunkSize), total-int64(len(out)))
		out = append(out, (*c)[:n]...)
	}
	return out, noop, nil
}
