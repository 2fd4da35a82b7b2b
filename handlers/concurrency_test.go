package handlers

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// The concurrency suite edits one pull request by several people at once:
// the edits of a sequence are delivered all together from separate
// goroutines, in a shuffled order, some twice (a new delivery ID) and some
// redelivered under the same ID at the same moment. The ledger must end
// exactly as when the edits are applied one by one, in order, and so must
// the check runs created last, before and after a re-check. Run it under
// -race (make test does for this package).

const hWriter2 = "dave-writes" // a second reviewer with write access

// concurrentEdit is one edit of #12's body: who changed the checklists
// from the previous state to this one.
type concurrentEdit struct {
	who              string
	author, reviewer string // ticks, as body() takes them
}

// concurrentEdits are edits by the author, two reviewers and a read-only
// user, a minute apart; some tick, some untick, some touch boxes that are
// not theirs to tick.
var concurrentEdits = []concurrentEdit{
	{hReviewer, "xxxx", "x..."},
	{hWriter2, "xxxx", "xx.."},
	{hAuthor, "xxxx", "xxx."}, // the author ticks a reviewer box: not counted
	{hReader, "xxxx", "xxxx"}, // read-only: not counted
	{hReviewer, "xxxx", "xx.."},
	{hWriter2, "xxxx", "xx.x"},
	{hAuthor, "xxx.", "xx.x"}, // the author unticks one of theirs
	{hReviewer, "xxx.", "xxxx"},
	{hWriter2, "xxx.", "xx.x"},
	{hAuthor, "xxxx", "xx.x"},
}

// editDeliveries builds the edit payloads after opening at t0 with the
// author's boxes ticked, and returns them with the final state.
func editDeliveries(h *harness) ([][]byte, prState) {
	h.t.Helper()
	prev := body("xxxx", "....")
	var out [][]byte
	var s prState
	for i, e := range concurrentEdits {
		s = prState{Body: body(e.author, e.reviewer), At: t0.Add(time.Duration(i+1) * time.Minute)}
		out = append(out, h.editPayload(e.who, prev, s))
		prev = s.Body
	}
	return out, s
}

func newConcurrencyHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.gh.SetPermission(hRepo, hWriter2, "write")
	mustOK(t, h.opened(prState{Body: body("xxxx", "...."), At: t0}))
	return h
}

// TestConcurrentEditsConverge compares, over seeded shuffles, concurrent
// delivery of every edit (some duplicated) with in-order delivery.
func TestConcurrentEditsConverge(t *testing.T) {
	seq := newConcurrencyHarness(t)
	payloads, final := editDeliveries(seq)
	seq.setPull(final)
	for _, p := range payloads {
		mustOK(t, seq.deliver("pull_request", p))
	}
	wantLedger := ledgerState(seq.ledger())
	wantRuns := runsState(seq)
	if len(wantRuns) != 2 {
		t.Fatalf("in-order runs: %q", wantRuns)
	}

	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	staleRuns := 0
	for seed := 1; seed <= rounds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			h := newConcurrencyHarness(t)
			payloads, final := editDeliveries(h)
			h.setPull(final) // GitHub's state is final before the webhooks land
			type job struct {
				id      string
				payload []byte
			}
			var jobs []job
			rng := rand.New(rand.NewPCG(uint64(seed), 3))
			for i, p := range payloads {
				jobs = append(jobs, job{fmt.Sprintf("edit-%d", i), p})
				switch rng.IntN(3) {
				case 0: // delivered twice (two deliveries of the same event)
					jobs = append(jobs, job{fmt.Sprintf("edit-%d-again", i), p})
				case 1: // redelivered under the same ID while the first runs
					jobs = append(jobs, job{fmt.Sprintf("edit-%d", i), p})
				}
			}
			rng.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })

			var wg sync.WaitGroup
			start := make(chan struct{})
			codes := make([]int, len(jobs))
			for i, j := range jobs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					codes[i] = h.deliverID("pull_request", j.id, j.payload).Code
				}()
			}
			close(start)
			wg.Wait()
			for i, c := range codes {
				if c != 200 {
					t.Errorf("delivery %s answered %d", jobs[i].id, c)
				}
			}
			if got := ledgerState(h.ledger()); !slices.Equal(got, wantLedger) {
				t.Errorf("ledger differs from in-order delivery:\n got %q\nwant %q", got, wantLedger)
			}
			// The runs created last are what branch protection reads: they
			// must show the newest state as soon as the deliveries are
			// answered, whichever delivery posted last.
			if got := runsState(h); !slices.Equal(got, wantRuns) {
				staleRuns++
				t.Errorf("newest check runs after the concurrent deliveries are stale:\n got %q\nwant %q", got, wantRuns)
			}
			// Any later evaluation (here the Re-check button) shows the
			// converged state.
			mustOK(t, h.deliver("check_run", githubtest.Payload(t, "check_run.requested_action", func(p map[string]any) {
				githubtest.Set(p, "check_run.head_sha", hHead)
				githubtest.Set(p, "check_run.pull_requests.0.head.sha", hHead)
			})))
			if got := runsState(h); !slices.Equal(got, wantRuns) {
				t.Errorf("check runs after a re-check differ from in-order delivery:\n got %q\nwant %q", got, wantRuns)
			}
		})
	}
	t.Logf("%d shuffled rounds of %d edits (plus duplicates) at once: stale newest check runs in %d",
		rounds, len(concurrentEdits), staleRuns)
}

// runsState is the newest run per checklist on the head, for comparing.
func runsState(h *harness) []string {
	var out []string
	for name, cr := range h.runsOn(hHead) {
		out = append(out, fmt.Sprintf("%s: %s %q\n%s", name, cr.Conclusion, cr.Title, cr.Summary))
	}
	slices.Sort(out)
	return out
}

// TestConcurrentEditNewestWins: a reviewer ticks the last box (E1) and a
// moment later unticks one (E2). E1's check-run posts are slow, so E2's
// land first. The newest Reviewer Checklist run must say what the body
// says now — incomplete — or branch protection lets an unchecked PR merge.
func TestConcurrentEditNewestWins(t *testing.T) {
	h := newHarness(t)
	mustOK(t, h.opened(prState{Body: body("xxxx", "...."), At: t0}))
	e1 := prState{Body: body("xxxx", "xxxx"), At: t0.Add(time.Minute)}
	e2 := prState{Body: body("xxxx", "xxx."), At: t0.Add(2 * time.Minute)}
	p1 := h.editPayload(hReviewer, body("xxxx", "...."), e1)
	p2 := h.editPayload(hReviewer, e1.Body, e2)
	h.setPull(e2)

	// Check runs created before E2 arrives (E1's first) are slow, within
	// the budget; E1's second run is therefore posted after E2's.
	var e2Sent atomic.Bool
	h.gh.SetFault(func(c githubtest.Call, _ *http.Request) *githubtest.Fault {
		if c.OperationID == "checks/create" && !e2Sent.Load() {
			return &githubtest.Fault{Delay: 300 * time.Millisecond}
		}
		return nil
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mustOK(t, h.deliverID("pull_request", "e1", p1))
	}()
	time.Sleep(50 * time.Millisecond) // E1 has recorded its state and is posting
	e2Sent.Store(true)
	mustOK(t, h.deliverID("pull_request", "e2", p2))
	wg.Wait()

	rv := h.run(reviewerList, hHead)
	if rv.Conclusion != "failure" || rv.Title != "Reviewer Checklist: 3 of 4 ticked" {
		t.Errorf("newest Reviewer Checklist run: %s %q, want failure \"Reviewer Checklist: 3 of 4 ticked\" (the body has an unticked box); "+
			"a delivery that judged an older state posted last", rv.Conclusion, rv.Title)
	}
}
