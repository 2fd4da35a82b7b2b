package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/ghclient"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/webhook"
)

// The fault-tolerance suite plays one pull request's story (open, ticks by
// reviewer, author and a read-only user, a push with reset, an approving
// review with the checklist, a text-only edit, the merge) against a fake
// GitHub that fails a share of all requests — installation tokens, config,
// permissions, check runs, and the sweeper's own calls — with 500, 502,
// 503, 429 and secondary-rate-limit 403 (Retry-After 0 or 1 s), answers
// slower than the delivery budget, and connection resets. The fault
// sequence is drawn from a seeded generator, so a failing seed replays.
//
// GitHub does not retry failed deliveries; the sweeper (app.Sweep) asks it
// to. The "GitHub" here therefore records every delivery with the status
// checkoff answered (AddDelivery), and a proxy in front of the fake
// performs each redelivery the sweeper requests — it POSTs the recorded
// payload to the dispatcher under the same X-GitHub-Delivery, as GitHub
// does — and records the answer it got as the new attempt. Sweeps run three
// times while the faults go on, then until nothing is left to redeliver
// once they stop (the incident is over).
//
// Every run must end where the fault-free run ends: the same check runs on
// the pull request's final head (what branch protection reads), the same
// ledger, the same merge verdict. A delivery is lost when none of its
// attempts was answered 2xx; there must be none.

// faultBudget is the handler deadline of the faulted dispatcher: shorter
// than production's 8 s so slow answers cost the test little; the retry
// transport then has less room too, which makes the suite harsher.
const faultBudget = 500 * time.Millisecond

// sweepInterval stands for the sweeper's schedule (every 10 minutes in
// serverless.yml), scaled down like the injected Retry-After (at most 1 s
// here, typically 60 s at GitHub): go-github stops calling an installation
// client until a secondary rate limit's Retry-After has passed, so sweeps
// closer together than that would only fail fast.
const sweepInterval = 1100 * time.Millisecond

// faultKinds are the faults injected, in equal shares.
var faultKinds = []string{"500", "502", "503", "429", "403-secondary", "slow", "reset"}

// faultInjector decides per request, from a seeded generator, whether
// and how it fails.
type faultInjector struct {
	mu     sync.Mutex
	rng    *rand.Rand
	rate   float64
	counts map[string]int
	total  int
}

func newFaultInjector(seed uint64, rate float64) *faultInjector {
	return &faultInjector{rng: rand.New(rand.NewPCG(seed, uint64(rate*1000))), rate: rate, counts: map[string]int{}}
}

func (f *faultInjector) fault(githubtest.Call, *http.Request) *githubtest.Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.rate {
		return nil
	}
	kind := faultKinds[f.rng.IntN(len(faultKinds))]
	retryAfter := time.Duration(f.rng.IntN(2)) * time.Second
	f.counts[kind]++
	f.total++
	var out githubtest.Fault
	switch kind {
	case "500", "502", "503":
		code, _ := strconv.Atoi(kind)
		out = githubtest.ServerError(code)
	case "429":
		h := http.Header{}
		h.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
		out = githubtest.Fault{Status: http.StatusTooManyRequests, Header: h}
	case "403-secondary":
		out = githubtest.SecondaryRateLimit(retryAfter)
	case "slow":
		out = githubtest.Fault{Delay: faultBudget + 300*time.Millisecond}
	case "reset":
		out = githubtest.Fault{Reset: true}
	}
	return &out
}

// storyStep is one event of the story: set sets the fake's state as
// GitHub's would be when it sends the webhook, and returns the delivery.
type storyStep struct {
	name  string
	event string
	set   func(h *harness) []byte
}

// faultStory is the pull request's life, one delivery per step.
func faultStory() []storyStep {
	b0, b1, b2, b3 := body("xxxx", "...."), body("xxxx", "xx.."), body("xxxx", "xxx."), body("xxxx", "xxxx")
	b4 := bodyWith("Adds a CSV export of the invoice log for finance and ops.", "xxxx", "xxxx")
	reviewAt := t0.Add(5 * time.Minute)
	reviewBody := "Ran the export locally.\r\n\r\n## Reviewer Checklist\r\n"
	for _, it := range items(reviewerList) {
		reviewBody += "- [x] " + it + "\r\n"
	}
	edit := func(who, old, new string, at time.Time, head string) func(h *harness) []byte {
		return func(h *harness) []byte {
			s := prState{Body: new, At: at, Head: head}
			h.setPull(s)
			return h.editPayload(who, old, s)
		}
	}
	return []storyStep{
		{"opened by the author", "pull_request", func(h *harness) []byte {
			s := prState{Body: b0, At: t0}
			h.setPull(s)
			return h.prPayload("opened", hAuthor, s, nil)
		}},
		{"reviewer ticks two", "pull_request", edit(hReviewer, b0, b1, t0.Add(time.Minute), "")},
		{"author ticks a reviewer box", "pull_request", edit(hAuthor, b1, b2, t0.Add(2*time.Minute), "")},
		{"read-only user ticks one", "pull_request", edit(hReader, b2, b3, t0.Add(3*time.Minute), "")},
		{"push with reset", "pull_request", func(h *harness) []byte {
			h.setConfig("reset_reviewer_on_push: true\n")
			s := prState{Body: b3, Head: hNewHead, At: t0.Add(4 * time.Minute)}
			h.setPull(s)
			return h.prPayload("synchronize", hAuthor, s, nil)
		}},
		{"approving review with the checklist", "pull_request_review", func(h *harness) []byte {
			s := prState{Body: b3, Head: hNewHead, At: reviewAt}
			h.setPull(s)
			h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: "APPROVED", SubmittedAt: reviewAt, CommitID: hNewHead})
			return h.reviewPayload("submitted", hReviewer, "approved", reviewBody, reviewAt, s)
		}},
		{"text-only edit", "pull_request", edit(hAuthor, b3, b4, t0.Add(6*time.Minute), hNewHead)},
		{"merge", "pull_request", func(h *harness) []byte {
			s := prState{Body: b4, Head: hNewHead, At: t0.Add(7 * time.Minute), Merged: true}
			h.setPull(s)
			return h.prPayload("closed", hReviewer, s, nil)
		}},
	}
}

// storyOutcome is what a run leaves behind, for comparing runs.
type storyOutcome struct {
	runs    []string // newest check run per name on the final head
	ledger  []string
	verdict string
}

func outcomeOf(t testing.TB, h *harness) storyOutcome {
	t.Helper()
	var o storyOutcome
	for name, cr := range h.runsOn(hNewHead) {
		o.runs = append(o.runs, fmt.Sprintf("%s: %s %q\n%s", name, cr.Conclusion, cr.Title, cr.Summary))
	}
	slices.Sort(o.runs)
	o.ledger = ledgerState(h.ledger())
	v, err := verdict.Get(context.Background(), h.st, hOwner, hName, hMerge)
	if err != nil {
		o.verdict = err.Error()
	} else {
		o.verdict = fmt.Sprintf("complete=%t reviewers=%v holding=%q head=%s", v.Complete, v.Reviewers, v.Holding, v.HeadSHA)
	}
	return o
}

func (o storyOutcome) diff(want storyOutcome) string {
	var b strings.Builder
	if !slices.Equal(o.runs, want.runs) {
		fmt.Fprintf(&b, "check runs on the final head:\n got %q\nwant %q\n", o.runs, want.runs)
	}
	if !slices.Equal(o.ledger, want.ledger) {
		fmt.Fprintf(&b, "ledger:\n got %q\nwant %q\n", o.ledger, want.ledger)
	}
	if o.verdict != want.verdict {
		fmt.Fprintf(&b, "verdict:\n got %s\nwant %s\n", o.verdict, want.verdict)
	}
	return b.String()
}

// faultRun is one faulted play of the story and its tally.
type faultRun struct {
	deliveries  int // distinct deliveries
	failedFirst int // answered 5xx the first time
	redelivered int // redeliveries performed
	recovered   int // failed first, 2xx on a redelivery
	lost        int // never answered 2xx
	lostSteps   []string
	failedSteps []string
	faults      map[string]int
	faultTotal  int
	requests    int // requests the fake GitHub received
}

// redeliveryProxy stands in front of the fake GitHub for the sweeper: a
// redelivery request makes it deliver the recorded payload to the
// dispatcher and record the answer as the fake's new attempt.
type redeliveryProxy struct {
	h     *harness
	srv   *httptest.Server
	count atomic.Int32
}

var attemptsPath = regexp.MustCompile(`^/app/hook/deliveries/(\d+)/attempts$`)

func newRedeliveryProxy(t testing.TB, h *harness) *redeliveryProxy {
	target, err := url.Parse(h.gh.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &redeliveryProxy{h: h}
	fwd := httputil.NewSingleHostReverseProxy(target)
	fwd.ErrorLog = nil
	fwd.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
		// The fake reset the connection: pass that on.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := attemptsPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodPost {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			for _, d := range h.gh.Deliveries() {
				if d.ID == id {
					rec := h.deliverID(d.Event, d.GUID, d.Payload)
					p.count.Add(1)
					h.gh.SetRedeliveryStatus(rec.Code)
					break
				}
			}
		}
		fwd.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// playStory delivers the story, recording every delivery as GitHub would;
// with faults set, it then sweeps until the failed deliveries are
// recovered or given up.
func playStory(t *testing.T, faults *faultInjector) (*harness, faultRun) {
	h := newHarness(t)
	h.d = faultDispatcher(h)
	var run faultRun
	if faults != nil {
		h.gh.SetFault(faults.fault)
	}
	failed := map[string]bool{}
	for i, step := range faultStory() {
		payload := step.set(h)
		guid := fmt.Sprintf("story-%d", i)
		w := h.deliverID(step.event, guid, payload)
		run.deliveries++
		switch {
		case w.Code == http.StatusOK:
		case w.Code >= 500:
			run.failedFirst++
			failed[guid] = true
		default:
			t.Fatalf("step %q answered %d %q", step.name, w.Code, w.Body.String())
		}
		var env struct {
			Action string `json:"action"`
		}
		json.Unmarshal(payload, &env)
		h.gh.AddDelivery(githubtest.Delivery{GUID: guid, StatusCode: w.Code, Event: step.event, Action: env.Action,
			InstallationID: githubtest.FixtureInstallation, RepositoryID: githubtest.FixtureRepoID, Payload: payload})
	}
	if faults == nil {
		return h, run
	}

	proxy := newRedeliveryProxy(t, h)
	sweeper, err := ghclient.New(ghclient.Config{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: proxy.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sweep := func() (app.SweepResult, error) {
		time.Sleep(sweepInterval)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return app.Sweep(ctx, sweeper.App(), app.SweepOptions{})
	}
	// During the incident the sweeper's own calls fail too; an error just
	// means the next scheduled sweep tries again.
	for range 3 {
		if _, err := sweep(); err != nil {
			t.Logf("sweep during faults: %v", err)
		}
	}
	h.gh.SetFault(nil)
	for round := 0; ; round++ {
		res, err := sweep()
		if err != nil {
			t.Fatalf("sweep after the faults stopped: %v", err)
		}
		if res.Redelivered == 0 {
			break
		}
		if round == 10 {
			t.Fatalf("still redelivering after %d sweeps: %+v", round, res)
		}
	}

	run.faults, run.faultTotal = faults.counts, faults.total
	run.redelivered = int(proxy.count.Load())
	run.requests = len(h.gh.Calls())
	ok := map[string]bool{}
	for _, d := range h.gh.Deliveries() {
		if d.StatusCode >= 200 && d.StatusCode < 300 {
			ok[d.GUID] = true
		}
	}
	for i, step := range faultStory() {
		guid := fmt.Sprintf("story-%d", i)
		if failed[guid] {
			run.failedSteps = append(run.failedSteps, step.name)
		}
		switch {
		case !ok[guid]:
			run.lost++
			run.lostSteps = append(run.lostSteps, step.name)
		case failed[guid]:
			run.recovered++
		}
	}
	return h, run
}

// TestFaultTolerance plays the story at 10% and 30% of GitHub requests
// failing, over several seeds, and compares each run with the fault-free
// one. Counts are logged per rate (docs/reliability.md quotes them). The
// runs mostly wait (for sweeps), so they all run at once rather than
// within -parallel's limit.
func TestFaultTolerance(t *testing.T) {
	base, _ := playStory(t, nil)
	want := outcomeOf(t, base)
	if len(want.runs) != 2 || !strings.Contains(want.verdict, "complete=true") {
		t.Fatalf("fault-free story ended unexpectedly: runs %q verdict %s", want.runs, want.verdict)
	}
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	rates := []float64{0.10, 0.30}
	totals := make([]faultRun, len(rates))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for ri, rate := range rates {
		totals[ri].faults = map[string]int{}
		for seed := 1; seed <= seeds; seed++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(fmt.Sprintf("rate=%.0f%%/seed=%d", rate*100, seed), func(t *testing.T) {
					h, run := playStory(t, newFaultInjector(uint64(seed), rate))
					t.Logf("%d faults; answered 5xx first: %q; %d redeliveries; lost: %q", run.faultTotal, run.failedSteps, run.redelivered, run.lostSteps)
					if d := outcomeOf(t, h).diff(want); d != "" {
						t.Errorf("outcome differs from the fault-free run:\n%s", d)
					}
					if run.lost > 0 {
						t.Errorf("%d deliveries lost: %q", run.lost, run.lostSteps)
					}
					mu.Lock()
					defer mu.Unlock()
					total := &totals[ri]
					total.deliveries += run.deliveries
					total.failedFirst += run.failedFirst
					total.redelivered += run.redelivered
					total.recovered += run.recovered
					total.lost += run.lost
					total.faultTotal += run.faultTotal
					total.requests += run.requests
					for k, n := range run.faults {
						total.faults[k] += n
					}
				})
			}()
		}
	}
	wg.Wait()
	for ri, rate := range rates {
		total := totals[ri]
		var kinds []string
		for _, k := range faultKinds {
			kinds = append(kinds, fmt.Sprintf("%s:%d", k, total.faults[k]))
		}
		t.Logf("%.0f%% of requests failing, %d runs: %d deliveries, %d GitHub requests, %d faults injected (%s); %d answered 5xx, %d redeliveries, %d recovered, %d lost",
			rate*100, seeds, total.deliveries, total.requests, total.faultTotal, strings.Join(kinds, " "),
			total.failedFirst, total.redelivered, total.recovered, total.lost)
	}
}

// TestLateDeliveryAfterMerge: an approving review whose delivery failed
// (the config could not be fetched) is redelivered by the sweeper after
// the merge was handled. The review completes the Reviewer Checklist, so
// the merge verdict must become complete, as it is when the deliveries
// succeed in order; otherwise the release gate holds a checked-off PR.
func TestLateDeliveryAfterMerge(t *testing.T) {
	h := newHarness(t)
	h.d = faultDispatcher(h)
	mustOK(t, h.opened(prState{Body: body("xxxx", "...."), At: t0}))

	reviewAt := t0.Add(time.Minute)
	s := prState{Body: body("xxxx", "...."), At: reviewAt}
	h.setPull(s)
	h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: "APPROVED", SubmittedAt: reviewAt})
	reviewBody := "## Reviewer Checklist\r\n"
	for _, it := range items(reviewerList) {
		reviewBody += "- [x] " + it + "\r\n"
	}
	review := h.reviewPayload("submitted", hReviewer, "approved", reviewBody, reviewAt, s)
	h.gh.FailNext("repos/get-content", 5, githubtest.ServerError(http.StatusBadGateway))
	if w := h.deliverID("pull_request_review", "late-review", review); w.Code != http.StatusInternalServerError {
		t.Fatalf("review with GitHub failing: answer %d, want 500", w.Code)
	}

	s = prState{Body: s.Body, At: t0.Add(2 * time.Minute), Merged: true}
	h.setPull(s)
	mustOK(t, h.deliver("pull_request", h.prPayload("closed", hReviewer, s, nil)))
	if v, err := verdict.Get(context.Background(), h.st, hOwner, hName, hMerge); err != nil || v.Complete {
		t.Fatalf("verdict before the redelivery: %+v, %v; want incomplete", v, err)
	}

	mustOK(t, h.deliverID("pull_request_review", "late-review", review)) // the sweeper's redelivery
	v, err := verdict.Get(context.Background(), h.st, hOwner, hName, hMerge)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Complete || !slices.Equal(v.Reviewers, []string{hReviewer}) {
		t.Errorf("verdict after the late review: complete=%t reviewers=%v holding=%q; want complete, reviewed by %s "+
			"(a delivery judged on the stored newer state must know the PR is merged: app/ledger.go current, prRecord)",
			v.Complete, v.Reviewers, v.Holding, hReviewer)
	}
}

// faultDispatcher is h's dispatcher with the short faultBudget and logs
// in h.logs.
func faultDispatcher(h *harness) *webhook.Dispatcher {
	return webhook.NewDispatcher(webhook.Options{
		Secret: []byte(testSecret), Handlers: All(h.app), Deliveries: app.Deliveries{Store: h.st},
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)), BotLogin: hBot, Timeout: faultBudget,
	})
}
