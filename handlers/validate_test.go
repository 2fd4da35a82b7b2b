package handlers

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// The tests here are adversarial: each delivery is correctly signed, as a
// captured or hand-made payload re-sent by someone who knows the secret or
// replays a body GitHub signed would be, and has the wrong shape for the
// event it claims to be. Through the real stack (Handlers over the App, the
// fake GitHub, the File store and the delivery log) each must be refused
// with 400 and its reason, before any GitHub call or any write.

// unset deletes the key at a dotted path of a decoded payload.
func unset(p map[string]any, path string) {
	parts := strings.Split(path, ".")
	cur := p
	for _, part := range parts[:len(parts)-1] {
		next, ok := cur[part].(map[string]any)
		if !ok {
			return
		}
		cur = next
	}
	delete(cur, parts[len(parts)-1])
}

// fixtureWith returns a webhook fixture with edits applied; the result need
// not match the webhook schema (that is the point).
func fixtureWith(t testing.TB, name string, edits ...func(p map[string]any)) []byte {
	t.Helper()
	return githubtest.UncheckedPayload(t, name, func(p map[string]any) {
		for _, e := range edits {
			e(p)
		}
	})
}

func del(path string) func(map[string]any) { return func(p map[string]any) { unset(p, path) } }

func set(path string, v any) func(map[string]any) {
	return func(p map[string]any) { githubtest.Set(p, path, v) }
}

// dirState is every row of the store's database under dir with a digest
// of its content (the bookkeeping table aside): comparing two states shows
// whether a delivery changed anything, delivery marks included.
func dirState(t testing.TB, dir string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.SQLiteFileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]string{}
	for table, query := range map[string]string{
		"records":    "SELECT pk || '/' || sk, version || '/' || hex(data) || '/' || ifnull(expires, '') FROM records",
		"deliveries": "SELECT id, expires FROM deliveries",
		"history":    "SELECT seq, pk || '/' || sk || '/' || version || '/' || hex(data) FROM history",
	} {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var key, val string
			if err := rows.Scan(&key, &val); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(val))
			out[table+"/"+key] = hex.EncodeToString(sum[:])
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// wantRefused checks that a delivery was answered 400 with want in the
// answer and in the log's rejection line, made no GitHub call and left the
// store directory as before.
func wantRefused(t *testing.T, h *harness, dir string, before map[string]string, w *httptest.ResponseRecorder, want string) {
	t.Helper()
	msg := strings.TrimSpace(w.Body.String())
	if w.Code != http.StatusBadRequest {
		t.Errorf("answer %d %q, want 400", w.Code, msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("answer %q does not give the reason %q", msg, want)
	}
	var logged bool
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, `"webhook rejected"`) && strings.Contains(line, `"status":400`) && strings.Contains(line, want) {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no 400 rejection line naming %q in the log:\n%s", want, h.logs.String())
	}
	if calls := h.calls(); len(calls.ops) != 0 {
		t.Errorf("GitHub called: %v", calls.ops)
	}
	if after := dirState(t, dir); !mapsEqual(before, after) {
		t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestWrongShapePayloadIsRefused (issue 9, item 7): a signed payload that
// lacks a field its handler needs, or carries one that cannot be right,
// costs neither a 500 (which the sweeper would redeliver forever) nor a
// GitHub call against /repos///…, and records nothing, not even a delivery
// mark.
func TestWrongShapePayloadIsRefused(t *testing.T) {
	const sha64 = "3f5a9d2c1b7e4f6a8c0d2e4f6a8b0c2d4e6f8a1b3f5a9d2c1b7e4f6a8c0d2e4f"
	for name, tc := range map[string]struct {
		event   string
		payload func(t testing.TB) []byte
		reason  string
	}{
		"pull_request opened, action only": {
			event:   "pull_request",
			payload: func(testing.TB) []byte { return []byte(`{"action":"opened"}`) },
			reason:  "pull_request",
		},
		"pull_request opened, empty objects": {
			event: "pull_request",
			payload: func(testing.TB) []byte {
				return []byte(`{"action":"opened","number":12,"pull_request":{},"repository":{},"installation":{}}`)
			},
			reason: "installation.id",
		},
		"pull_request opened without installation": {
			event:   "pull_request",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request.opened", del("installation")) },
			reason:  "installation.id",
		},
		"pull_request opened without repository owner": {
			event:   "pull_request",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request.opened", del("repository.owner")) },
			reason:  "repository.owner.login",
		},
		"pull_request opened without repository name": {
			event:   "pull_request",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request.opened", set("repository.name", "")) },
			reason:  "repository.name",
		},
		"pull_request opened, repository name with a slash": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.opened", set("repository.name", "invoice-log-api/../other"))
			},
			reason: "repository.name",
		},
		"pull_request opened, repository id 0": {
			event:   "pull_request",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request.opened", set("repository.id", 0)) },
			reason:  "repository.id",
		},
		"pull_request opened without head sha": {
			event:   "pull_request",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request.opened", del("pull_request.head.sha")) },
			reason:  "pull_request.head.sha",
		},
		"pull_request opened, head sha not hex": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.opened", set("pull_request.head.sha", "../../../git/refs/heads/dev"))
			},
			reason: "pull_request.head.sha",
		},
		"pull_request opened, head sha upper case": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.opened", set("pull_request.head.sha", strings.ToUpper(hHead)))
			},
			reason: "pull_request.head.sha",
		},
		"pull_request edited, number 0": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.edited", set("number", 0), set("pull_request.number", 0))
			},
			reason: "pull_request.number",
		},
		"pull_request edited, numbers disagree": {
			event:   "pull_request",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request.edited", set("number", 13)) },
			reason:  "number",
		},
		"pull_request synchronize without base ref": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.synchronize", del("pull_request.base.ref"))
			},
			reason: "pull_request.base.ref",
		},
		"pull_request reopened without author": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.reopened", set("pull_request.user", nil))
			},
			reason: "pull_request.user.login",
		},
		"pull_request ready_for_review without updated_at": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.ready_for_review", del("pull_request.updated_at"))
			},
			reason: "pull_request.updated_at",
		},
		"pull_request opened, updated_at not a time": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.opened", set("pull_request.updated_at", "yesterday"))
			},
			reason: "pull_request.updated_at",
		},
		"pull_request closed as merged without merge commit": {
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.closed", set("pull_request.merged", true), set("pull_request.merge_commit_sha", nil))
			},
			reason: "pull_request.merge_commit_sha",
		},
		"pull_request opened, 64-digit head sha is fine but the head is missing its base": {
			// A SHA-256 repository's head passes; the missing base does not.
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.opened", set("pull_request.head.sha", sha64), del("pull_request.base"))
			},
			reason: "pull_request.base.ref",
		},
		"pull_request labeled without a pull request": {
			// An action the handler ignores still needs its event's shape.
			event: "pull_request",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request.opened", set("action", "labeled"), del("pull_request"))
			},
			reason: "pull_request",
		},
		"pull_request_review submitted without review user": {
			event:   "pull_request_review",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request_review.submitted", del("review.user")) },
			reason:  "review.user.login",
		},
		"pull_request_review submitted without review id": {
			event:   "pull_request_review",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request_review.submitted", del("review.id")) },
			reason:  "review.id",
		},
		"pull_request_review submitted without review state": {
			event: "pull_request_review",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request_review.submitted", set("review.state", ""))
			},
			reason: "review.state",
		},
		"pull_request_review dismissed without head sha": {
			event: "pull_request_review",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "pull_request_review.dismissed", del("pull_request.head.sha"))
			},
			reason: "pull_request.head.sha",
		},
		"pull_request_review edited without repository": {
			event:   "pull_request_review",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "pull_request_review.edited", del("repository")) },
			reason:  "repository",
		},
		"check_run rerequested without head sha": {
			event:   "check_run",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "check_run.rerequested", del("check_run.head_sha")) },
			reason:  "check_run.head_sha",
		},
		"check_run requested_action without run id": {
			event:   "check_run",
			payload: func(t testing.TB) []byte { return fixtureWith(t, "check_run.requested_action", del("check_run.id")) },
			reason:  "check_run.id",
		},
		"check_suite rerequested without head sha": {
			event: "check_suite",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "check_suite.rerequested", del("check_suite.head_sha"))
			},
			reason: "check_suite.head_sha",
		},
		"merge_group checks_requested without base ref": {
			event: "merge_group",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "merge_group.checks_requested", del("merge_group.base_ref"))
			},
			reason: "merge_group.base_ref",
		},
		"merge_group checks_requested, head sha not hex": {
			event: "merge_group",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "merge_group.checks_requested", set("merge_group.head_sha", "HEAD"))
			},
			reason: "merge_group.head_sha",
		},
		"merge_group checks_requested without installation": {
			event: "merge_group",
			payload: func(t testing.TB) []byte {
				return fixtureWith(t, "merge_group.checks_requested", set("installation.id", 0))
			},
			reason: "installation.id",
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			h := newHarness(t, func(o *harnessOptions) { o.storeDir = dir })
			before := dirState(t, dir)
			h.gh.ResetCalls()
			wantRefused(t, h, dir, before, h.deliver(tc.event, tc.payload(t)), tc.reason)
		})
	}
}

// TestForeignEventPayloadIsRefused (issue 16, item 6): the signature
// covers the body, not X-GitHub-Event, so a captured body can be re-sent
// as another event. A pull_request_review edited body sent as a
// pull_request edit would be read as the reviewer editing the PR body (its
// changes.body.from) and credit the reviewer with what the author ticked.
// A payload whose top-level keys belong to another event is refused.
func TestForeignEventPayloadIsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		fixture, as, reason string
		edits               []func(map[string]any)
	}{
		"review edited as pull_request":    {fixture: "pull_request_review.edited", as: "pull_request", reason: "review in a pull_request payload"},
		"review submitted as pull_request": {fixture: "pull_request_review.submitted", as: "pull_request", reason: "review in a pull_request payload"},
		"review edited as pull_request, with a number": {
			fixture: "pull_request_review.edited", as: "pull_request", reason: "review in a pull_request payload",
			edits: []func(map[string]any){set("number", hPR)},
		},
		"pull_request edited as pull_request_review": {fixture: "pull_request.edited", as: "pull_request_review", reason: "number in a pull_request_review payload"},
		"pull_request edited as pull_request_review, without its number": {
			fixture: "pull_request.edited", as: "pull_request_review", reason: "no review in a pull_request_review payload",
			edits: []func(map[string]any){del("number")},
		},
		"pull_request with a review object":         {fixture: "pull_request.edited", as: "pull_request", reason: "review in a pull_request payload", edits: []func(map[string]any){set("review", map[string]any{"id": 1})}},
		"check_run as check_suite":                  {fixture: "check_run.rerequested", as: "check_suite", reason: "check_run in a check_suite payload"},
		"check_suite as check_run":                  {fixture: "check_suite.rerequested", as: "check_run", reason: "check_suite in a check_run payload"},
		"merge_group as check_suite":                {fixture: "merge_group.checks_requested", as: "check_suite", reason: "merge_group in a check_suite payload"},
		"pull_request as merge_group":               {fixture: "pull_request.closed", as: "merge_group", reason: "in a merge_group payload: it was made for another event"},
		"check_suite with a check_run":              {fixture: "check_suite.rerequested", as: "check_suite", reason: "check_run in a check_suite payload", edits: []func(map[string]any){set("check_run", map[string]any{"id": 1})}},
		"pull_request as installation":              {fixture: "pull_request.opened", as: "installation", reason: "in a installation payload: it was made for another event"},
		"installation as installation_repositories": {fixture: "installation.created", as: "installation_repositories", reason: "no repositories_added in a installation_repositories payload"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			h := newHarness(t, func(o *harnessOptions) { o.storeDir = dir })
			// The PR is open with the author's ticks, so that a body read as
			// an edit would change what the ledger says.
			mustOK(t, h.opened(prState{Body: body("xxxx", "xxxx"), At: t0}))
			before := dirState(t, dir)
			runs := len(h.gh.CheckRuns(hRepo))
			h.gh.ResetCalls()
			wantRefused(t, h, dir, before, h.deliver(tc.as, fixtureWith(t, tc.fixture, tc.edits...)), tc.reason)
			if n := len(h.gh.CheckRuns(hRepo)); n != runs {
				t.Errorf("%d check runs after the foreign delivery, want %d", n, runs)
			}
		})
	}
}

// TestReplayedBodyIsNotHandledTwice (issue 16, item 6): the delivery ID is
// not signed either, so a captured delivery re-sent under a new ID would be
// handled again. The body is remembered as well as the ID: the replay is a
// no-op, under any ID, and refused under another event's name.
func TestReplayedBodyIsNotHandledTwice(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, func(o *harnessOptions) { o.storeDir = dir })
	s := prState{Body: body("xxxx", ""), At: t0}
	mustOK(t, h.opened(s))
	old := s.Body
	s = prState{Body: body("xxxx", "xx"), At: t0.Add(time.Minute)}
	h.setPull(s)
	edit := h.editPayload(hReviewer, old, s)
	mustOK(t, h.deliverID("pull_request", "edit-1", edit))
	if line := itemLine(t, h.run(reviewerList, hHead), items(reviewerList)[1]); !strings.Contains(line, hReviewer) {
		t.Fatalf("the reviewer's edit was not recorded: %q", line)
	}
	ledger, runs := h.ledger(), len(h.gh.CheckRuns(hRepo))
	before := dirState(t, dir)

	for name, tc := range map[string]struct {
		event, id string
		status    int
	}{
		"same ID (GitHub's redelivery)": {event: "pull_request", id: "edit-1", status: http.StatusOK},
		"new ID":                        {event: "pull_request", id: "edit-replayed", status: http.StatusOK},
		"new ID, another event":         {event: "pull_request_review", id: "edit-as-review", status: http.StatusBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			h.gh.ResetCalls()
			w := h.deliverID(tc.event, tc.id, edit)
			if w.Code != tc.status {
				t.Errorf("answer %d %q, want %d", w.Code, strings.TrimSpace(w.Body.String()), tc.status)
			}
			if calls := h.calls(); len(calls.ops) != 0 {
				t.Errorf("GitHub called: %v", calls.ops)
			}
			if n := len(h.gh.CheckRuns(hRepo)); n != runs {
				t.Errorf("%d check runs, want %d", n, runs)
			}
			if got := h.ledger(); !slices.EqualFunc(got, ledger, func(a, b store.Record) bool {
				return a.SK == b.SK && a.Version == b.Version && string(a.Data) == string(b.Data)
			}) {
				t.Errorf("ledger changed:\n%s\nwas\n%s", jsonOf(got), jsonOf(ledger))
			}
			if after := dirState(t, dir); !mapsEqual(before, after) && tc.status != http.StatusOK {
				t.Errorf("store changed by a refused delivery")
			}
		})
	}

	if !strings.Contains(h.logs.String(), `"body of a handled delivery under a new ID: no-op"`) {
		t.Error("the replay under a new ID was not logged as one")
	}

	// A new edit (another body) under a new ID is handled as usual.
	old = s.Body
	s = prState{Body: body("xxxx", "xxx"), At: t0.Add(2 * time.Minute)}
	mustOK(t, h.edited(hReviewer, old, s))
	if line := itemLine(t, h.run(reviewerList, hHead), items(reviewerList)[2]); !strings.Contains(line, hReviewer) {
		t.Errorf("a new edit after the replays was not recorded: %q", line)
	}
	if n := len(h.gh.CheckRuns(hRepo)); n <= runs {
		t.Errorf("%d check runs after a new edit, want more than %d", n, runs)
	}
}

func jsonOf(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// schemaActions reads the actions @octokit/webhooks-schemas knows for each
// event ("pull_request$labeled" and so on).
func schemaActions(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", githubtest.WebhookSchemaPath))
	if errors.Is(err, fs.ErrNotExist) && os.Getenv("CI") != "true" {
		t.Skipf("%s not installed (run npm ci)", githubtest.WebhookSchemaPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for name := range schema.Definitions {
		if event, action, ok := strings.Cut(name, "$"); ok {
			out[event] = append(out[event], action)
		}
	}
	return out
}

// TestNoActionCostsA500 guards validate's table against handlers.go: for
// every action GitHub documents for every event Handlers routes, a signed
// payload that has the envelope but not the event's objects, or has them
// empty, is answered without a 5xx, a GitHub call or a write. An action a
// handler starts acting on without a check in eventShapes fails here.
func TestNoActionCostsA500(t *testing.T) {
	actions := schemaActions(t)
	dir := t.TempDir()
	h := newHarness(t, func(o *harnessOptions) { o.storeDir = dir })
	var events []string
	for _, hd := range All(h.app) {
		events = append(events, hd.Handles()...)
	}
	// The top-level objects of each event, per the webhook schema.
	objects := map[string][]string{
		"pull_request": {"pull_request", "number"}, "pull_request_review": {"pull_request", "review"},
		"check_run": {"check_run"}, "check_suite": {"check_suite"}, "merge_group": {"merge_group"},
		"installation": {"installation"}, "installation_repositories": {"installation", "repositories_added", "repositories_removed"},
	}
	envelope := func(action string) map[string]any {
		return map[string]any{
			"action":       action,
			"installation": map[string]any{"id": githubtest.FixtureInstallation},
			"repository":   map[string]any{"id": githubtest.FixtureRepoID, "name": hName, "full_name": hRepo, "owner": map[string]any{"login": hOwner}},
			"sender":       map[string]any{"login": hAuthor, "type": "User"},
		}
	}
	for _, event := range events {
		if len(actions[event]) == 0 {
			t.Errorf("event %s: no actions in the webhook schema", event)
		}
		for _, action := range actions[event] {
			empty := envelope(action)
			for _, key := range objects[event] {
				if key == "number" {
					empty[key] = 0
				} else if _, ok := empty[key]; !ok {
					empty[key] = map[string]any{}
				}
			}
			for name, p := range map[string]map[string]any{
				"action only":   {"action": action},
				"envelope only": envelope(action),
				"empty objects": empty,
			} {
				payload, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				before := dirState(t, dir)
				h.gh.ResetCalls()
				w := h.deliver(event, payload)
				if w.Code >= 500 {
					t.Errorf("%s.%s, %s: %d %q", event, action, name, w.Code, strings.TrimSpace(w.Body.String()))
				}
				if calls := h.calls(); len(calls.ops) != 0 {
					t.Errorf("%s.%s, %s: GitHub called: %v", event, action, name, calls.ops)
				}
				// A delivery answered 2xx is marked done; only that.
				after := dirState(t, dir)
				if w.Code < 300 {
					for _, m := range []map[string]string{before, after} {
						for k := range m {
							if strings.HasPrefix(k, "deliveries/") {
								delete(m, k)
							}
						}
					}
				}
				if !mapsEqual(before, after) {
					t.Errorf("%s.%s, %s: answered %d and the store changed", event, action, name, w.Code)
				}
			}
		}
	}
}
