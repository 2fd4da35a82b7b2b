package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/pipelineevent"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/internal/pipelinetest"
)

// The gate fault suite drives the release scenarios of gate_test.go —
// merges complete and incomplete, squash merges, direct pushes, completing
// edits, stale and duplicate verdicts, releases that supersede each other,
// approval-started events, the schedule's sweep, duplicate triggers at
// once, people approving, rejecting or letting approvals expire, events for
// pipelines not configured — in random order, while CodePipeline, the
// store and GitHub fail at random: CodePipeline answers Throttling,
// InternalFailure and ServiceUnavailable (up to three in a row, past the
// SDK's retries), the store returns errors and conditional-check failures
// (a write that reports it lost the race and writes nothing), GitHub
// answers 5xx and resets connections.
//
// After every step each new PutApprovalResult is checked against a model
// of the branch: an approval is false when a commit between what was
// deployed and the approved revision came without a pull request, or
// through one that is not complete; an approval is double when one
// execution gets two answers. Both must never happen. At the end the
// faults stop, every verdict is delivered again, and a release whose
// commits are all checked off must then be approved (the gate is not
// merely refusing everything).

var errInjected = errors.New("injected store failure")

// faultStore wraps a Store and fails a share of calls: reads and deletes
// with an error; conditional writes half with an error, half as a lost
// condition (false, nil) without writing.
type faultStore struct {
	store.Store
	mu          sync.Mutex
	rng         *rand.Rand
	rate        float64
	errors      int
	conditional int
}

func (f *faultStore) roll() (fail, conditional bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rate == 0 || f.rng.Float64() >= f.rate {
		return false, false
	}
	if f.rng.IntN(2) == 0 {
		f.conditional++
		return true, true
	}
	f.errors++
	return true, false
}

func (f *faultStore) setRate(r float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate = r
}

func (f *faultStore) Get(ctx context.Context, pk, sk string) (store.Record, error) {
	if fail, _ := f.roll(); fail {
		return store.Record{}, errInjected
	}
	return f.Store.Get(ctx, pk, sk)
}

func (f *faultStore) Query(ctx context.Context, pk string) ([]store.Record, error) {
	if fail, _ := f.roll(); fail {
		return nil, errInjected
	}
	return f.Store.Query(ctx, pk)
}

func (f *faultStore) PutIfNewer(ctx context.Context, rec store.Record) (bool, error) {
	if fail, cond := f.roll(); fail {
		if cond {
			return false, nil
		}
		return false, errInjected
	}
	return f.Store.PutIfNewer(ctx, rec)
}

// PutManyIfNewer fails or loses the condition per record, as a store that
// is not atomic across records may.
func (f *faultStore) PutManyIfNewer(ctx context.Context, recs []store.Record) ([]bool, error) {
	wrote := make([]bool, len(recs))
	for i, rec := range recs {
		ok, err := f.PutIfNewer(ctx, rec)
		if err != nil {
			return wrote, err
		}
		wrote[i] = ok
	}
	return wrote, nil
}

func (f *faultStore) PutIfAbsent(ctx context.Context, rec store.Record) (bool, error) {
	if fail, cond := f.roll(); fail {
		if cond {
			return false, nil
		}
		return false, errInjected
	}
	return f.Store.PutIfAbsent(ctx, rec)
}

func (f *faultStore) Delete(ctx context.Context, pk, sk string) error {
	if fail, _ := f.roll(); fail {
		return errInjected
	}
	return f.Store.Delete(ctx, pk, sk)
}

// gateModel is what the test knows to be true about the dev branch.
type gateModel struct {
	chain    []string       // dev's commits, oldest first; chain[0] was deployed before the gate
	pr       map[string]int // commit -> PR that merged it; absent: a direct push
	complete map[int]bool   // PR -> its checklists are all checked off (only ever turns true)
	latest   map[int]verdict.Verdict
	merged   []int
	deployed int               // index in chain of what is deployed
	execRev  map[string]string // execution -> source revision
	answered map[string]int    // execution -> answers the gate gave
	seen     int               // results already checked
}

func (m *gateModel) index(sha string) int { return slices.Index(m.chain, sha) }

// gateTally counts what the runs did.
type gateTally struct {
	runs, steps, approvals, rejections, falseApprovals, doubleApprovals int
	cpFaults, storeErrors, storeConditional, ghFaults, errorsReturned   int
	livenessMissed                                                      int
}

// faultyGate is one randomized run.
type faultyGate struct {
	t     *testing.T
	e     *env
	rng   *rand.Rand
	st    *faultStore
	m     *gateModel
	tally *gateTally
	next  int // next PR number
	ghMu  sync.Mutex
	ghRNG *rand.Rand
	ghOn  bool
}

func newFaultyGate(t *testing.T, seed uint64, tally *gateTally) *faultyGate {
	rng := rand.New(rand.NewPCG(seed, 42))
	onIncomplete := OnIncompleteWait
	if rng.IntN(2) == 0 {
		onIncomplete = OnIncompleteReject
	}
	e := newEnv(t, envOptions{onIncomplete: onIncomplete, evaluator: rng.IntN(2) == 0})
	fs := &faultStore{Store: e.st, rng: rand.New(rand.NewPCG(seed, 7))}
	old := e.gate
	g, err := New(Options{Config: old.cfg, Pipeline: old.cp, GitHub: old.gh, Store: fs, Evaluator: old.eval,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.gate = fs, g
	f := &faultyGate{t: t, e: e, rng: rng, st: fs, tally: tally, next: 100, ghRNG: rand.New(rand.NewPCG(seed, 9)), ghOn: true,
		m: &gateModel{chain: []string{e.head}, pr: map[string]int{}, complete: map[int]bool{}, latest: map[int]verdict.Verdict{},
			execRev: map[string]string{}, answered: map[string]int{}}}
	e.gh.SetFault(func(githubtest.Call, *http.Request) *githubtest.Fault {
		f.ghMu.Lock()
		defer f.ghMu.Unlock()
		if !f.ghOn || f.ghRNG.Float64() >= 0.05 {
			return nil
		}
		f.tally.ghFaults++
		if f.ghRNG.IntN(3) == 0 {
			return &githubtest.Fault{Reset: true}
		}
		fault := githubtest.ServerError([]int{500, 502, 503}[f.ghRNG.IntN(3)])
		return &fault
	})
	fs.setRate(0.05)
	return f
}

// cpFaults queues CodePipeline faults on a random operation, sometimes
// more than the SDK retries.
func (f *faultyGate) cpFaults() {
	if f.rng.Float64() >= 0.3 {
		return
	}
	ops := []string{"GetPipelineState", "GetPipelineExecution", "ListPipelineExecutions", "PutApprovalResult"}
	kinds := []pipelinetest.Fault{pipelinetest.Throttling, pipelinetest.Internal, pipelinetest.Unavailable}
	n := 1 + f.rng.IntN(3)
	var faults []pipelinetest.Fault
	for range n {
		faults = append(faults, kinds[f.rng.IntN(len(kinds))])
	}
	f.e.cp.Fail(ops[f.rng.IntN(len(ops))], faults...)
	f.tally.cpFaults += n
}

// deliver is what the app does with a verdict: store it, hand it to the
// gate. Errors are expected under faults; the webhook would be answered
// 5xx and redelivered (a later step, or the final drain).
func (f *faultyGate) deliver(v verdict.Verdict) {
	if err := verdict.Put(context.Background(), f.e.st, v); err != nil {
		f.tally.errorsReturned++
		return
	}
	if err := f.e.gate.Verdict(context.Background(), v); err != nil {
		f.tally.errorsReturned++
	}
}

func (f *faultyGate) setEval(v verdict.Verdict) {
	f.e.eval.mu.Lock()
	defer f.e.eval.mu.Unlock()
	f.e.eval.verdicts[v.PR] = v
}

// step runs one random action.
func (f *faultyGate) step() {
	e, m := f.e, f.m
	f.cpFaults()
	switch k := f.rng.IntN(100); {
	case k < 20: // a merge, complete or not; its webhook may be lost
		n := f.next
		f.next++
		complete := f.rng.IntN(3) > 0
		var v verdict.Verdict
		if f.rng.IntN(3) == 0 {
			v = e.squash(n, complete)
			m.chain = append(m.chain, v.MergeSHA)
		} else {
			v = e.merge(n, complete, "Reviewer Checklist: Are the commit messages appropriate?")
			m.chain = append(m.chain, v.HeadSHA, v.MergeSHA)
			m.pr[v.HeadSHA] = n
		}
		if !complete {
			v.Holding = []string{"Reviewer Checklist: Are the commit messages appropriate?"}
			v.Reviewers = nil
		}
		m.pr[v.MergeSHA] = n
		m.complete[n] = complete
		m.latest[n] = v
		m.merged = append(m.merged, n)
		f.setEval(v)
		if f.rng.IntN(5) > 0 {
			f.deliver(v)
		}
	case k < 32: // a later edit completes an incomplete merged PR
		var open []int
		for _, n := range m.merged {
			if !m.complete[n] {
				open = append(open, n)
			}
		}
		if len(open) == 0 {
			return
		}
		n := open[f.rng.IntN(len(open))]
		old := m.latest[n]
		e.mu.Lock()
		e.at = e.at.Add(time.Hour)
		e.mu.Unlock()
		v := e.verdict(n, old.MergeSHA, old.HeadSHA, true)
		m.complete[n], m.latest[n] = true, v
		f.setEval(v)
		f.deliver(v)
	case k < 37: // a stale or repeated verdict arrives again
		if len(m.merged) == 0 {
			return
		}
		n := m.merged[f.rng.IntN(len(m.merged))]
		v := m.latest[n]
		if f.rng.IntN(2) == 0 && v.Complete {
			v.Complete, v.Holding, v.Reviewers = false, []string{"stale"}, nil
			v.At = v.At.Add(-time.Hour)
		}
		f.deliver(v)
	case k < 39: // a direct push to dev
		m.chain = append(m.chain, e.push())
	case k < 53: // a release reaches the approval (or waits in the transition)
		f.release()
	case k < 75: // the approval-started event, possibly duplicated at once
		ex, ok := e.cp.Waiting(devPipeline)
		if !ok {
			return
		}
		n := 1 + f.rng.IntN(3)
		var wg sync.WaitGroup
		var failed atomic.Int32 // the tally is not shared between goroutines
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.started(ex.ID); err != nil {
					failed.Add(1)
				}
			}()
		}
		wg.Wait()
		for range failed.Load() {
			f.count()
		}
	case k < 85: // the schedule's sweep, or the CLI
		if _, err := e.gate.ReconcileAll(context.Background()); err != nil {
			f.count()
		}
	case k < 89: // an event for a pipeline checkoff does not gate
		out, err := e.gate.HandleActionEvent(context.Background(), pipelineevent.ActionEvent{Pipeline: "someone-elses-pipeline",
			ExecutionID: "0123abcd-0123-4567-89ab-0123456789ab", Stage: approveStage, Action: approveName, State: "STARTED", Type: pipelineevent.ActionType{Category: "Approval"}})
		if err != nil || out.Decision != Nothing {
			f.t.Errorf("unknown pipeline: %v %v", out, err)
		}
	default: // a person answers the approval, or it expires
		ex, ok := e.cp.Waiting(devPipeline)
		if !ok {
			return
		}
		switch f.rng.IntN(3) {
		case 0:
			e.cp.ApproveByHand(devPipeline)
			m.deployed = m.index(ex.Revisions[0])
		case 1:
			e.cp.RejectByHand(devPipeline)
		default:
			e.cp.Expire(devPipeline)
		}
	}
}

func (f *faultyGate) count() {
	f.tally.errorsReturned++
}

// release starts an execution of dev's head; sometimes an older one is
// started first and superseded before it reaches the approval.
func (f *faultyGate) release() {
	e, m := f.e, f.m
	if f.rng.IntN(4) == 0 {
		first := e.cp.Start(devPipeline, e.head)
		m.execRev[first] = e.head
		second := e.cp.Start(devPipeline, e.head)
		m.execRev[second] = e.head
		e.cp.Supersede(devPipeline, first)
		e.cp.Arrive(devPipeline, second)
		return
	}
	id := e.release()
	m.execRev[id] = e.head
}

// check validates the approvals given since the last check.
func (f *faultyGate) check() {
	m := f.m
	results := f.e.results()
	for _, r := range results[m.seen:] {
		m.answered[r.ExecutionID]++
		if m.answered[r.ExecutionID] > 1 {
			f.tally.doubleApprovals++
			f.t.Errorf("execution %s answered %d times", r.ExecutionID, m.answered[r.ExecutionID])
		}
		if want := m.execRev[r.ExecutionID]; len(r.Revisions) != 1 || r.Revisions[0] != want {
			f.t.Errorf("answered execution %s with revisions %v, it was started with %s", r.ExecutionID, r.Revisions, want)
		}
		if r.Status != "Approved" {
			f.tally.rejections++
			continue
		}
		f.tally.approvals++
		rev := m.index(r.Revisions[0])
		lo := m.deployed + 1
		if rev <= m.deployed {
			lo = rev // a redeploy or rollback: the revision itself is checked
		}
		for _, sha := range m.chain[lo : rev+1] {
			n, ok := m.pr[sha]
			switch {
			case !ok:
				f.tally.falseApprovals++
				f.t.Errorf("FALSE APPROVAL of %s (execution %s): commit %s was pushed without a pull request", short(r.Revisions[0]), r.ExecutionID, short(sha))
			case !m.complete[n]:
				f.tally.falseApprovals++
				f.t.Errorf("FALSE APPROVAL of %s (execution %s): #%d is not checked off", short(r.Revisions[0]), r.ExecutionID, n)
			}
		}
		m.deployed = rev // the approved execution runs to Succeeded
	}
	m.seen = len(results)
}

// drain stops the faults, delivers every verdict again and reconciles
// until the pipeline settles; a release whose commits are all checked off
// must then be approved.
func (f *faultyGate) drain() {
	e, m := f.e, f.m
	f.st.setRate(0)
	f.ghMu.Lock()
	f.ghOn = false
	f.ghMu.Unlock()
	for range 5 { // use up CodePipeline faults still queued
		if _, err := e.gate.ReconcileAll(context.Background()); err == nil {
			break
		}
	}
	f.check()
	for _, n := range m.merged {
		v := m.latest[n]
		if err := verdict.Put(context.Background(), e.st, v); err != nil {
			f.t.Fatalf("redeliver #%d without faults: %v", n, err)
		}
		if err := e.gate.Verdict(context.Background(), v); err != nil {
			f.t.Fatalf("redeliver #%d without faults: %v", n, err)
		}
		f.check()
	}
	for range 3 {
		if _, err := e.gate.ReconcileAll(context.Background()); err != nil {
			f.t.Fatalf("reconcile without faults: %v", err)
		}
		f.check()
	}
	ex, ok := e.cp.Waiting(devPipeline)
	if !ok {
		return
	}
	rev := m.index(ex.Revisions[0])
	lo := m.deployed + 1
	if rev <= m.deployed {
		lo = rev
	}
	for _, sha := range m.chain[lo : rev+1] {
		if n, ok := m.pr[sha]; !ok || !m.complete[n] {
			return // rightly held
		}
	}
	f.tally.livenessMissed++
	f.t.Errorf("execution %s of %s waits although every commit since %s is checked off", ex.ID, short(ex.Revisions[0]), short(m.chain[m.deployed]))
}

// TestGateUnderFaults runs many seeded random scenarios under faults and
// reports how many approvals, rejections and faults they saw; a false or
// double approval fails the test.
func TestGateUnderFaults(t *testing.T) {
	runs, steps := 60, 40
	if testing.Short() {
		runs = 10
	}
	var tally gateTally
	for seed := 1; seed <= runs; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			f := newFaultyGate(t, uint64(seed), &tally)
			for range steps {
				f.step()
				f.check()
				tally.steps++
			}
			f.drain()
			tally.runs++
			f.st.mu.Lock()
			tally.storeErrors += f.st.errors
			tally.storeConditional += f.st.conditional
			f.st.mu.Unlock()
		})
	}
	t.Logf("%d runs, %d steps: %d approvals, %d rejections; faults injected: CodePipeline %d, GitHub %d, store %d errors + %d conditional-check failures; "+
		"%d operations returned an error; false approvals %d, double approvals %d, releases held although checked off %d",
		tally.runs, tally.steps, tally.approvals, tally.rejections, tally.cpFaults, tally.ghFaults, tally.storeErrors, tally.storeConditional,
		tally.errorsReturned, tally.falseApprovals, tally.doubleApprovals, tally.livenessMissed)
	if tally.approvals == 0 {
		t.Error("no approval in any run: the scenarios do not exercise the gate")
	}
}
