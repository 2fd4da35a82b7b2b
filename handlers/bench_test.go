package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// benchConfig is a repository config, so the config read is the warm
// conditional GET (304) it is in a configured repository.
const benchConfig = "reset_reviewer_on_push: false\n"

// benchCase is one event type: warm brings the App to steady state
// (installation token, permission cache and config ETag warm), payload
// builds the i-th delivery (built before the timer starts).
type benchCase struct {
	warm    func(h *harness)
	event   string
	payload func(h *harness, i int) []byte
}

// at is the updated_at of the i-th timed delivery: after the warm-up.
func at(i int) time.Time { return t0.Add(time.Hour + time.Duration(i)*time.Second) }

func warmOpened(h *harness) {
	s := prState{Body: body("xxxx", "...."), At: t0}
	mustOK(h.t, h.opened(s))
	// The reviewer's first tick warms the permission cache.
	mustOK(h.t, h.edited(hReviewer, s.Body, prState{Body: body("xxxx", "x..."), At: t0.Add(time.Minute)}))
}

var benchCases = map[string]benchCase{
	// A new pull request each time (its own ledger partition).
	"opened": {
		warm:  warmOpened,
		event: "pull_request",
		payload: func(h *harness, i int) []byte {
			return githubtest.UncheckedPayload(h.t, "pull_request.opened", func(p map[string]any) {
				setPRFields(p, prState{Body: body("xxxx", "...."), At: at(i)})
				githubtest.Set(p, "number", 1000+i)
				githubtest.Set(p, "pull_request.number", 1000+i)
			})
		},
	},
	// The reviewer ticks, then unticks, the second reviewer box.
	"edited-ticks-a-box": {
		warm:  warmOpened,
		event: "pull_request",
		payload: func(h *harness, i int) []byte {
			from, to := body("xxxx", "x..."), body("xxxx", "xx..")
			if i%2 == 1 {
				from, to = to, from
			}
			return editUnchecked(h, hReviewer, from, prState{Body: to, At: at(i)})
		},
	},
	// The description above the checklists changes.
	"edited-no-box-change": {
		warm:  warmOpened,
		event: "pull_request",
		payload: func(h *harness, i int) []byte {
			from := bodyWith(fmt.Sprintf("Adds a CSV export (rev %d).", i), "xxxx", "x...")
			to := bodyWith(fmt.Sprintf("Adds a CSV export (rev %d).", i+1), "xxxx", "x...")
			return editUnchecked(h, hAuthor, from, prState{Body: to, At: at(i)})
		},
	},
	// A push moves the head between two commits.
	"synchronize": {
		warm: func(h *harness) {
			h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hNewHead, Parents: []string{hHead}})
			warmOpened(h)
		},
		event: "pull_request",
		payload: func(h *harness, i int) []byte {
			head := hNewHead
			if i%2 == 1 {
				head = hHead
			}
			return githubtest.UncheckedPayload(h.t, "pull_request.synchronize", func(p map[string]any) {
				setPRFields(p, prState{Body: body("xxxx", "x..."), Head: head, At: at(i)})
				sender(p, hAuthor)
			})
		},
	},
	// The reviewer approves with the Reviewer Checklist ticked.
	"review-submitted": {
		warm:  warmOpened,
		event: "pull_request_review",
		payload: func(h *harness, i int) []byte {
			rb := "LGTM\r\n\r\n## Reviewer Checklist\r\n"
			for _, it := range items(reviewerList) {
				rb += "- [x] " + it + "\r\n"
			}
			if i == 0 {
				// GitHub lists the review: its ticks count only while it does.
				h.gh.SetReview(hRepo, hPR, githubtest.Review{ID: githubtest.FixtureReview, User: hReviewer, State: "APPROVED", Body: rb, CommitID: hHead})
			}
			return githubtest.UncheckedPayload(h.t, "pull_request_review.submitted", func(p map[string]any) {
				githubtest.Set(p, "review.commit_id", hHead)
				setPRFields(p, prState{Body: body("xxxx", "x..."), At: at(i)})
				sender(p, hReviewer)
				githubtest.Set(p, "review.user.login", hReviewer)
				githubtest.Set(p, "review.body", rb)
				githubtest.Set(p, "review.submitted_at", stamp(at(i)))
			})
		},
	},
	// The merge records a verdict.
	"merged": {
		warm:  warmOpened,
		event: "pull_request",
		payload: func(h *harness, i int) []byte {
			return githubtest.UncheckedPayload(h.t, "pull_request.closed", func(p map[string]any) {
				setPRFields(p, prState{Body: body("xxxx", "xxxx"), Head: hNewHead, At: at(i)})
				sender(p, hReviewer)
			})
		},
	},
}

func editUnchecked(h *harness, who, from string, s prState) []byte {
	return githubtest.UncheckedPayload(h.t, "pull_request.edited", func(p map[string]any) {
		setPRFields(p, s)
		sender(p, who)
		githubtest.Set(p, "changes", map[string]any{"body": map[string]any{"from": from}})
	})
}

// BenchmarkEndToEnd handles one delivery of each event type through the
// dispatcher, the App, the file store and go-github against the fake GitHub,
// all in process, warm. Besides ns/op and allocs/op it reports the GitHub
// calls, writes, reads and conditional reads per delivery and the p99 of the
// per-delivery handling time. The fake's own request handling (OpenAPI
// validation of every request) runs inside the timed region too.
//
// Targets (issue 3): an edit that ticks a box makes at most 2 writes and 1
// conditional read; an edit that changes no box makes no call; p99 under
// 5 ms. The store is the File store, on disk (each write fsynced) and on
// tmpfs: on disk the p99 is the store's fsyncs (one per ledger record, plus
// the delivery mark), not checkoff's work.
func BenchmarkEndToEnd(b *testing.B) {
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range benchCases {
			if !yield(k) {
				return
			}
		}
	}) {
		bc := benchCases[name]
		for _, where := range []string{"disk", "tmpfs"} {
			b.Run(name+"/"+where, func(b *testing.B) {
				benchEvent(b, name, bc, benchStoreDir(b, where))
			})
		}
	}
}

// benchStoreDir is where the File store lives: a temp dir on disk (every
// write is fsynced, as in `checkoff serve`), or on tmpfs, where fsync is
// free, which isolates checkoff's own work from the disk.
func benchStoreDir(b *testing.B, where string) string {
	if where == "disk" {
		return b.TempDir()
	}
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		b.Skip("no /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "checkoff-bench-")
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// benchEvent times b.N deliveries of one event type; the p99 is over the
// per-delivery times, measured around ServeHTTP alone.
func benchEvent(b *testing.B, name string, bc benchCase, dir string) {
	h := newHarness(b, func(o *harnessOptions) { o.storeDir = dir })
	h.setConfig(benchConfig)
	h.gh.SkipResponseValidation()
	bc.warm(h)
	// One validated sample proves the variants are payloads GitHub could
	// send; the rest skip the (slow) schema check.
	githubtest.ValidateWebhook(b, bc.event, bc.payload(h, 0))
	payloads := make([][]byte, b.N)
	ids := make([]string, b.N)
	for i := range payloads {
		payloads[i] = bc.payload(h, i)
		ids[i] = fmt.Sprintf("bench-%s-%d", name, i)
	}
	took := make([]time.Duration, b.N)
	h.gh.ResetCalls()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := delivery(bc.event, ids[i], payloads[i])
		w := httptest.NewRecorder()
		start := time.Now()
		h.d.ServeHTTP(w, r)
		took[i] = time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(len(h.gh.Calls()))/n, "gh-calls/op")
	b.ReportMetric(float64(h.gh.Writes())/n, "writes/op")
	b.ReportMetric(float64(h.gh.Reads())/n, "reads/op")
	cond := 0
	for _, c := range h.gh.Calls() {
		if c.Conditional {
			cond++
		}
	}
	b.ReportMetric(float64(cond)/n, "cond-reads/op")
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)*99)/100])/float64(time.Millisecond), "p99-ms")
}
