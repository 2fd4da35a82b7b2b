package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/ghclient"
	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/checklist"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/webhook"
)

// The end-to-end harness wires the production pieces together against the
// fake GitHub: ghclient (JWT, installation tokens, retry transport) →
// go-github → githubtest.Server; store.File in a temp dir; app.App;
// Dispatcher with All(app) and store.Marks, as `checkoff serve` has
// them. Deliveries are signed fixture variants, so they pass the same
// ingress checks as GitHub's.

// Who is who in the scenarios. The fixtures' author and reviewer, plus a
// read-only user and the App's own bot.
const (
	hAuthor   = githubtest.FixtureAuthor   // alice-dev, write access
	hReviewer = githubtest.FixtureReviewer // bob-reviews, write access
	hReader   = "carol-reads"              // read access only
	hBot      = "checkoff[bot]"
	hRepo     = githubtest.FixtureRepo
	hOwner    = "acme"
	hName     = "invoice-log-api"
	hPR       = githubtest.FixturePull
	hBase     = githubtest.FixtureBaseBranch
	hHead     = githubtest.FixtureHeadSHA
	hNewHead  = githubtest.FixtureNewHeadSHA
	hMerge    = githubtest.FixtureMergeSHA
	hGroupSHA = "5b9d3f7a1c5e9b3d7f1a5c9e3b7d1f5a9c3e7b1d" // merge_group fixture head

	authorList   = "Author Checklist"
	reviewerList = "Reviewer Checklist"
	configFile   = ".github/checkoff.yml"
)

// t0 is when the scenarios' pull request is opened; each later event is
// a few seconds on.
var t0 = time.Date(2024, 5, 6, 9, 15, 0, 0, time.UTC)

type harness struct {
	t       testing.TB
	gh      *githubtest.Server
	st      *store.SQLite
	clients *ghclient.Clients
	app     *app.App
	d       *webhook.Dispatcher
	logs    *syncBuffer
	seq     atomic.Int64 // delivery IDs
}

type harnessOptions struct {
	dryRun   *app.DryRun // instead of GitHub
	gate     app.ReleaseGate
	storeDir string // the File store's directory; a fresh temp dir when empty
	noSetup  bool   // skip the repository/pull request set-up
}

// newHarness builds the whole App against a fresh fake GitHub and store.
// The fake knows the fixtures' repository (installation, base branch dev),
// the three users' permissions and pull request #12 at hHead.
func newHarness(t testing.TB, opts ...func(*harnessOptions)) *harness {
	t.Helper()
	var o harnessOptions
	for _, f := range opts {
		f(&o)
	}
	h := &harness{t: t, gh: githubtest.New(t), logs: &syncBuffer{}}
	if o.storeDir == "" {
		o.storeDir = t.TempDir()
	}
	st, err := store.OpenSQLite(filepath.Join(o.storeDir, store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	// Delivery marks as `checkoff serve` keeps them, in the same database.
	marks := st.Deliveries(app.DeliveryTTL)
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, ok := t.(*testing.B); ok {
		logger = slog.New(slog.DiscardHandler)
	}
	aopts := app.Options{Store: st, Logger: logger, BotLogin: hBot, Gate: o.gate}
	if o.dryRun != nil {
		aopts.DryRun = o.dryRun
	} else {
		h.clients, err = ghclient.New(ghclient.Config{AppID: h.gh.AppID, PrivateKey: h.gh.PrivateKeyPEM(), BaseURL: h.gh.URL})
		if err != nil {
			t.Fatal(err)
		}
		aopts.Installations = h.clients
	}
	h.app, err = app.New(aopts)
	if err != nil {
		t.Fatal(err)
	}
	h.d = webhook.NewDispatcher(webhook.Options{
		Secret:     []byte(testSecret),
		Handlers:   All(h.app),
		Deliveries: marks,
		Logger:     logger,
		BotLogin:   hBot,
	})
	if !o.noSetup {
		h.gh.AddRepo(githubtest.Repo{FullName: hRepo, ID: githubtest.FixtureRepoID, DefaultBranch: "main", Installation: githubtest.FixtureInstallation})
		h.gh.SetBranch(hRepo, hBase, githubtest.FixtureBaseSHA)
		h.gh.SetPermission(hRepo, hAuthor, "write")
		h.gh.SetPermission(hRepo, hReviewer, "write")
		h.gh.SetPermission(hRepo, hReader, "read")
		// #12's commits: the author's head, the author's next push, and the
		// merge commit that joins the head to dev.
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hHead, Parents: []string{githubtest.FixtureBaseSHA}, Author: hAuthor, Message: "Add the CSV export"})
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hNewHead, Parents: []string{hHead}, Author: hAuthor, Message: "Export totals too"})
		h.gh.AddCommit(hRepo, githubtest.Commit{SHA: hMerge, Parents: []string{githubtest.FixtureBaseSHA, hHead}, Author: hReviewer,
			Committer: "web-flow", Verified: true, Message: "Merge pull request #12"})
		h.setPull(prState{Body: body("", ""), At: t0})
	}
	return h
}

// prState is what the fake (and the payloads) say about pull request #12.
type prState struct {
	Body   string
	Head   string // hHead when empty
	At     time.Time
	Merged bool
}

// setPull makes the fake's pull request #12 match what a delivery says, as
// GitHub's state changes before it sends the webhook.
func (h *harness) setPull(s prState) {
	h.t.Helper()
	pr := githubtest.PullRequest{
		Number: hPR, User: hAuthor, Body: s.Body, BaseRef: hBase, BaseSHA: githubtest.FixtureBaseSHA,
		HeadRef: "feature/invoice-csv-export", HeadSHA: s.Head, CreatedAt: t0, UpdatedAt: s.At,
	}
	if pr.HeadSHA == "" {
		pr.HeadSHA = hHead
	}
	if s.Merged {
		pr.Merged, pr.MergeCommitSHA, pr.MergedBy = true, hMerge, hReviewer
	}
	h.gh.SetPull(hRepo, pr)
}

// setConfig puts .github/checkoff.yml on the base branch.
func (h *harness) setConfig(yaml string) { h.gh.SetFile(hRepo, hBase, configFile, yaml) }

// body builds a pull request body with the default checklists, their items
// taken from checklist.DefaultConfig. author and reviewer say per item
// whether it is ticked: "x" ticked, anything else not ("x.x." ticks the
// first and third).
func body(author, reviewer string) string {
	return bodyWith("Adds a CSV export of the invoice log for finance.", author, reviewer)
}

func bodyWith(intro, author, reviewer string) string {
	var b strings.Builder
	b.WriteString(intro + "\r\n")
	for _, cl := range checklist.DefaultConfig().Checklists {
		ticks := author
		if cl.Name == reviewerList {
			ticks = reviewer
		}
		fmt.Fprintf(&b, "\r\n## %s\r\n", cl.Heading)
		for i, it := range cl.Items {
			box := " "
			if i < len(ticks) && ticks[i] == 'x' {
				box = "x"
			}
			fmt.Fprintf(&b, "- [%s] %s\r\n", box, it)
		}
	}
	return b.String()
}

// items returns the default items of a checklist.
func items(list string) []string {
	for _, cl := range checklist.DefaultConfig().Checklists {
		if cl.Name == list {
			return cl.Items
		}
	}
	panic("no default checklist " + list)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// sender sets a payload's sender (a user, or a bot for a "[bot]" login).
func sender(p map[string]any, login string) {
	githubtest.Set(p, "sender.login", login)
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	githubtest.Set(p, "sender.type", typ)
}

// prPayload builds a pull_request delivery for #12 in state s, sent by who.
func (h *harness) prPayload(action, who string, s prState, edit func(p map[string]any)) []byte {
	h.t.Helper()
	return githubtest.Payload(h.t, "pull_request."+action, func(p map[string]any) {
		setPRFields(p, s)
		sender(p, who)
		if edit != nil {
			edit(p)
		}
	})
}

func setPRFields(p map[string]any, s prState) {
	head := s.Head
	if head == "" {
		head = hHead
	}
	githubtest.Set(p, "pull_request.body", s.Body)
	githubtest.Set(p, "pull_request.updated_at", stamp(s.At))
	githubtest.Set(p, "pull_request.head.sha", head)
}

// opened delivers pull_request opened by the author.
func (h *harness) opened(s prState) *httptest.ResponseRecorder {
	h.t.Helper()
	h.setPull(s)
	return h.deliver("pull_request", h.prPayload("opened", hAuthor, s, nil))
}

// edit builds pull_request edited: who changed the body from old to s.Body.
func (h *harness) editPayload(who, old string, s prState) []byte {
	h.t.Helper()
	return h.prPayload("edited", who, s, func(p map[string]any) {
		githubtest.Set(p, "changes", map[string]any{"body": map[string]any{"from": old}})
	})
}

// edited sets the fake's pull request and delivers the edit.
func (h *harness) edited(who, old string, s prState) *httptest.ResponseRecorder {
	h.t.Helper()
	h.setPull(s)
	return h.deliver("pull_request", h.editPayload(who, old, s))
}

// deliver signs payload and runs it through the dispatcher under a fresh
// delivery ID.
func (h *harness) deliver(event string, payload []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.deliverID(event, fmt.Sprintf("d-%d", h.seq.Add(1)), payload)
}

// deliverID runs a signed delivery with the given ID, as GitHub would POST it.
func (h *harness) deliverID(event, id string, payload []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	w := httptest.NewRecorder()
	h.d.ServeHTTP(w, delivery(event, id, payload))
	return w
}

// mustOK fails the test unless the dispatcher answered 200.
func mustOK(t testing.TB, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("answer %d %q, want 200", w.Code, strings.TrimSpace(w.Body.String()))
	}
}

// run returns the newest check run named name on sha, failing the test
// when there is none.
func (h *harness) run(name, sha string) githubtest.CheckRun {
	h.t.Helper()
	cr, ok := h.latest(name, sha)
	if !ok {
		h.t.Fatalf("no check run %q on %s (have %d runs)", name, sha[:7], len(h.gh.CheckRuns(hRepo)))
	}
	return cr
}

func (h *harness) latest(name, sha string) (githubtest.CheckRun, bool) {
	var out githubtest.CheckRun
	found := false
	for _, cr := range h.gh.CheckRuns(hRepo) {
		if cr.Name == name && cr.HeadSHA == sha {
			out, found = cr, true
		}
	}
	return out, found
}

// runsOn returns the newest check run of every name on sha.
func (h *harness) runsOn(sha string) map[string]githubtest.CheckRun {
	out := map[string]githubtest.CheckRun{}
	for _, cr := range h.gh.CheckRuns(hRepo) {
		if cr.HeadSHA == sha {
			out[cr.Name] = cr
		}
	}
	return out
}

// callCount tallies the fake's calls since the last ResetCalls.
type callCount struct {
	writes, reads, conditional, checkRuns int
	ops                                   []string
}

func (h *harness) calls() callCount {
	var c callCount
	for _, call := range h.gh.Calls() {
		if call.Write {
			c.writes++
		} else {
			c.reads++
			if call.Conditional {
				c.conditional++
			}
		}
		if call.OperationID == "checks/create" {
			c.checkRuns++
		}
		c.ops = append(c.ops, fmt.Sprintf("%s %s %d", call.Method, call.OperationID, call.Status))
	}
	return c
}

// wantRun checks a check run's conclusion and title, and that its summary
// holds every wanted fragment.
func wantRun(t testing.TB, cr githubtest.CheckRun, conclusion, title string, summary ...string) {
	t.Helper()
	if cr.Status != "completed" || cr.Conclusion != conclusion {
		t.Errorf("%s: status %s conclusion %q, want completed %q\n%s", cr.Name, cr.Status, cr.Conclusion, conclusion, cr.Summary)
	}
	if title != "" && cr.Title != title {
		t.Errorf("%s: title %q, want %q", cr.Name, cr.Title, title)
	}
	for _, s := range summary {
		if !strings.Contains(cr.Summary, s) {
			t.Errorf("%s: summary lacks %q:\n%s", cr.Name, s, cr.Summary)
		}
	}
}

// itemLine returns the summary line of an item ("- ✅ text — ticked by @x").
func itemLine(t testing.TB, cr githubtest.CheckRun, item string) string {
	t.Helper()
	for _, line := range strings.Split(cr.Summary, "\n") {
		if strings.HasPrefix(line, "- ") && strings.Contains(line, item) {
			return line
		}
	}
	t.Fatalf("%s: no summary line for %q:\n%s", cr.Name, item, cr.Summary)
	return ""
}

// ledger returns the ledger partition of #12 as stored: the app keeps one
// partition per pull request ("ticks#owner/repo#N"), so comparing it shows
// whether two delivery orders converged.
func (h *harness) ledger() []store.Record {
	h.t.Helper()
	recs, err := h.st.Query(context.Background(), fmt.Sprintf("ticks#id:%d#%d", githubtest.FixtureRepoID, hPR))
	if err != nil {
		h.t.Fatal(err)
	}
	return recs
}
