package githubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

const (
	testRepo = "acme/invoice-log-api"
	testInst = int64(42)
)

var (
	sha1st = strings.Repeat("1", 40)
	sha2nd = strings.Repeat("2", 40)
	sha3rd = strings.Repeat("3", 40)
	sha4th = strings.Repeat("4", 40)
)

// recorder is a testing.TB that keeps the fake's Errorf reports instead of
// failing, for tests that check the fake rejects bad requests.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// setup adds a repository with history: main at sha1st, feature at sha3rd
// (sha1st <- sha2nd <- sha3rd), and a release branch that diverged at sha1st.
func setup(s *Server) {
	s.AddRepo(Repo{FullName: testRepo, Installation: testInst})
	s.AddCommit(testRepo, Commit{SHA: sha1st, Message: "Initial commit", Author: "alice"})
	s.AddCommit(testRepo, Commit{SHA: sha2nd, Parents: []string{sha1st}, Message: "Add invoices", Author: "alice"})
	s.AddCommit(testRepo, Commit{SHA: sha3rd, Parents: []string{sha2nd}, Message: "Fix totals"})
	s.AddCommit(testRepo, Commit{SHA: sha4th, Parents: []string{sha1st}, Message: "Hotfix", Author: "carol"})
	s.SetBranch(testRepo, "main", sha1st)
	s.SetBranch(testRepo, "feature", sha3rd)
	s.SetBranch(testRepo, "release", sha4th)
	s.SetFile(testRepo, "main", ".github/checkoff.yml", "checklists:\n  - name: Author Checklist\n")
	s.SetFile(testRepo, "main", ".github/pull_request_template.md", "## Author Checklist\n")
	s.SetPermission(testRepo, "bob", "write")
	s.SetPermission(testRepo, "alice", "admin")
	s.SetPull(testRepo, PullRequest{Number: 12, User: "alice", HeadRef: "feature", HeadSHA: sha3rd, Files: []string{"src/export.go", "docs/csv.md"},
		Body: "## Author Checklist\n- [x] Tests added\n", Commits: []string{sha2nd, sha3rd}})
	s.SetReview(testRepo, 12, Review{User: "bob", State: "APPROVED", Body: "## Reviewer Checklist\n- [x] Read the code\n"})
	for i := 0; i < 3; i++ {
		s.AddDelivery(Delivery{StatusCode: 200, Event: "pull_request", Action: "opened", InstallationID: testInst, RepositoryID: 1})
	}
}

// call sends a request the way go-github would, with auth.
func call(t testing.TB, s *Server, method, path, auth string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github.v3+json")
	req.Header.Set("User-Agent", "githubtest")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

// TestOperationsAnswerWithinSchema is the self-test: a valid request to
// every operation in the subset succeeds, and every answer passed the
// response schema check (which would have failed this test through New).
func TestOperationsAnswerWithinSchema(t *testing.T) {
	s := New(t)
	setup(s)
	run := s.AddCheckRun(testRepo, CheckRun{Name: "Author Checklist", HeadSHA: sha3rd, Conclusion: "failure", Title: "1 of 2 ticked", Summary: "…"})
	jwt := "Bearer " + s.AppJWT()
	tok := "token " + s.InstallationToken(testInst)
	r := "/repos/" + testRepo
	delivery := s.Deliveries()[0].ID
	own := s.AddComment(testRepo, Comment{Number: 12, User: s.BotLogin(), Body: "<!-- marker -->\nHeld"})
	requests := []struct {
		method, path, auth string
		body               any
		want               int
	}{
		{"POST", r + "/check-runs", tok, map[string]any{
			"name": "Reviewer Checklist", "head_sha": sha3rd, "status": "completed", "conclusion": "action_required",
			"started_at": "2024-05-01T10:00:00Z", "completed_at": "2024-05-01T10:00:01Z", "details_url": "https://example.com/x",
			"external_id": "pr-12", "output": map[string]any{"title": "Reviewer Checklist: 0 of 2 ticked", "summary": "- [ ] one", "text": "more"},
			"actions": []any{map[string]any{"label": "Re-check", "description": "Evaluate the checklists again", "identifier": "recheck"}},
		}, 201},
		{"PATCH", fmt.Sprintf("%s/check-runs/%d", r, run.ID), tok, map[string]any{"conclusion": "success", "output": map[string]any{"title": "2 of 2", "summary": "done"}}, 200},
		{"GET", r + "/commits/" + sha3rd + "/check-runs?filter=latest&per_page=10", tok, nil, 200},
		{"GET", r + "/commits/feature/check-runs?check_name=Author+Checklist&status=completed", tok, nil, 200},
		{"GET", r + "/contents/.github/checkoff.yml?ref=main", tok, nil, 200},
		{"GET", r + "/contents/.github", tok, nil, 200},
		{"GET", r + "/collaborators/bob/permission", tok, nil, 200},
		{"GET", r + "/pulls/12", tok, nil, 200},
		{"GET", r + "/pulls/12/reviews?per_page=100", tok, nil, 200},
		{"GET", r + "/pulls/12/files?per_page=100", tok, nil, 200},
		{"GET", r + "/compare/main...feature", tok, nil, 200},
		{"GET", r + "/compare/release...feature?per_page=1&page=2", tok, nil, 200},
		{"GET", r + "/commits/" + sha2nd + "/pulls", tok, nil, 200},
		{"POST", r + "/issues/12/comments", tok, map[string]any{"body": "Held by #12: 1 box unticked"}, 201},
		{"GET", r + "/issues/12/comments?per_page=100&page=1", tok, nil, 200},
		{"PATCH", fmt.Sprintf("%s/issues/comments/%d", r, own.ID), tok, map[string]any{"body": "<!-- marker -->\nNo longer held"}, 200},
		{"GET", r + "/installation", jwt, nil, 200},
		{"POST", fmt.Sprintf("/app/installations/%d/access_tokens", testInst), jwt, map[string]any{"permissions": map[string]any{"checks": "write"}}, 201},
		{"POST", fmt.Sprintf("/app/installations/%d/access_tokens", testInst), jwt, nil, 201},
		{"GET", "/app/hook/deliveries?per_page=2", jwt, nil, 200},
		{"GET", fmt.Sprintf("/app/hook/deliveries/%d", delivery), jwt, nil, 200},
		{"POST", fmt.Sprintf("/app/hook/deliveries/%d/attempts", delivery), jwt, nil, 202},
		{"GET", "/app", jwt, nil, 200},
	}
	for _, rq := range requests {
		resp, body := call(t, s, rq.method, rq.path, rq.auth, rq.body)
		if resp.StatusCode != rq.want {
			t.Errorf("%s %s = %d, want %d: %s", rq.method, rq.path, resp.StatusCode, rq.want, body)
		}
	}
	covered := map[string]bool{}
	for _, c := range s.Calls() {
		if c.Status < 400 {
			covered[c.OperationID] = true
		}
	}
	for _, op := range s.api.ops {
		if !covered[op.id] {
			t.Errorf("operation %s (%s %s) not exercised by the self-test", op.id, op.method, op.template)
		}
	}
	if f := s.Failures(); len(f) > 0 {
		t.Errorf("failures recorded: %q", f)
	}
}

func TestRejectsWhatGitHubWould(t *testing.T) {
	long := strings.Repeat("x", 65536)
	r := "/repos/" + testRepo
	tests := map[string]struct {
		method, path string
		auth         string // "token", "jwt", or a literal header value
		body         any
		wantStatus   int
		wantFailure  string
	}{
		"conclusion not in enum": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "Author Checklist", "head_sha": sha3rd, "conclusion": "green"}, 422, `"green" is not one of`},
		"output title missing": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "Author Checklist", "head_sha": sha3rd, "output": map[string]any{"summary": "x"}}, 422, `missing required property "title"`},
		"summary too long": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A", "head_sha": sha3rd, "output": map[string]any{"title": "t", "summary": long}}, 422, "longer than maxLength 65535"},
		"four actions": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A", "head_sha": sha3rd, "actions": []any{action("a"), action("b"), action("c"), action("d")}}, 422, "more than maxItems 3"},
		"action label over 20": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A", "head_sha": sha3rd, "actions": []any{action("Re-check all the boxes")}}, 422, "label: string of 22 characters"},
		"action description over 40": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A", "head_sha": sha3rd, "actions": []any{map[string]any{"label": "a", "identifier": "a", "description": strings.Repeat("d", 41)}}}, 422, "description: string of 41"},
		"action identifier over 20": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A", "head_sha": sha3rd, "actions": []any{map[string]any{"label": "a", "description": "d", "identifier": strings.Repeat("i", 21)}}}, 422, "identifier: string of 21"},
		"action without description": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A", "head_sha": sha3rd, "actions": []any{map[string]any{"label": "a", "identifier": "a"}}}, 422, `missing required property "description"`},
		"completed without conclusion": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A", "head_sha": sha3rd, "status": "completed"}, 422, "conclusion is required when status is completed"},
		"unknown head sha": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A", "head_sha": strings.Repeat("f", 40)}, 422, "No commit found for SHA"},
		"head_sha missing": {"POST", r + "/check-runs", "token",
			map[string]any{"name": "A"}, 422, `missing required property "head_sha"`},
		"update completed without conclusion": {"PATCH", r + "/check-runs/{run}", "token",
			map[string]any{"status": "completed"}, 422, "matches none of the 2 anyOf alternatives"},
		"update to stale": {"PATCH", r + "/check-runs/{run}", "token",
			map[string]any{"conclusion": "stale"}, 422, "stale can only be set by GitHub"},
		"unknown query parameter":     {"GET", r + "/pulls/12/reviews?perpage=100", "token", nil, 422, `unknown query parameter "perpage"`},
		"query parameter not integer": {"GET", r + "/pulls/12/reviews?per_page=all", "token", nil, 422, `per_page="all" is not an integer`},
		"query enum":                  {"GET", r + "/commits/main/check-runs?filter=newest", "token", nil, 422, `"newest" is not one of`},
		"path parameter not integer":  {"GET", r + "/pulls/twelve", "token", nil, 422, `pull_number="twelve" is not an integer`},
		"no such operation":           {"GET", r + "/issues/12", "token", nil, 404, "no operation in the OpenAPI subset"},
		"wrong method":                {"DELETE", r + "/pulls/12", "token", nil, 404, "method not allowed"},
		"missing auth":                {"GET", r + "/pulls/12", "", nil, 401, "missing Authorization header"},
		"garbage token":               {"GET", r + "/pulls/12", "token ghs_madeup", nil, 401, "not issued by this fake"},
		"JWT on repo endpoint":        {"GET", r + "/pulls/12", "jwt", nil, 401, "needs an installation token"},
		"token on app endpoint":       {"GET", "/app/hook/deliveries", "bearer-token", nil, 401, "needs an app JWT"},
		"JWT as token scheme":         {"GET", "/app", "jwt-token-scheme", nil, 401, "must be sent as Bearer"},
		"basic auth":                  {"GET", "/app", "Basic dXNlcjpwYXNz", nil, 401, "not Bearer or token"},
		"comment too long":            {"POST", r + "/issues/12/comments", "token", map[string]any{"body": long + "x"}, 422, "body is too long"},
		"comment without body":        {"POST", r + "/issues/12/comments", "token", map[string]any{}, 422, `missing required property "body"`},
		"edited comment too long":     {"PATCH", r + "/issues/comments/{own}", "token", map[string]any{"body": long + "x"}, 422, "body is too long"},
		"edited comment blank":        {"PATCH", r + "/issues/comments/{own}", "token", map[string]any{"body": " \n"}, 422, "body can't be blank"},
		"edit of a person's comment":  {"PATCH", r + "/issues/comments/{theirs}", "token", map[string]any{"body": "gone"}, 403, "not by the App"},
		"body not JSON":               {"POST", r + "/issues/12/comments", "token", json.RawMessage(`{"body":`), 422, "not JSON"},
		"token asks for more than granted": {"POST", fmt.Sprintf("/app/installations/%d/access_tokens", testInst), "jwt",
			map[string]any{"permissions": map[string]any{"administration": "write"}}, 422, "not granted to this installation"},
		"token for a foreign repository": {"POST", fmt.Sprintf("/app/installations/%d/access_tokens", testInst), "jwt",
			map[string]any{"repositories": []any{"someone-elses"}}, 422, "not in installation"},
		"bad cursor": {"GET", "/app/hook/deliveries?cursor=abc", "jwt", nil, 422, "not a cursor"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec)
			setup(s)
			run := s.AddCheckRun(testRepo, CheckRun{Name: "A", HeadSHA: sha3rd})
			own := s.AddComment(testRepo, Comment{Number: 12, User: s.BotLogin(), Body: "held"})
			theirs := s.AddComment(testRepo, Comment{Number: 12, User: "bob", Body: "looks good"})
			path := strings.NewReplacer("{run}", fmt.Sprint(run.ID), "{own}", fmt.Sprint(own.ID), "{theirs}", fmt.Sprint(theirs.ID)).Replace(tc.path)
			auth := tc.auth
			switch auth {
			case "token":
				auth = "token " + s.InstallationToken(testInst)
			case "jwt":
				auth = "Bearer " + s.AppJWT()
			case "bearer-token":
				auth = "Bearer " + s.InstallationToken(testInst)
			case "jwt-token-scheme":
				auth = "token " + s.AppJWT()
			}
			var resp *http.Response
			var body []byte
			if raw, ok := tc.body.(json.RawMessage); ok {
				resp, body = callRaw(t, s, tc.method, path, auth, raw)
			} else {
				resp, body = call(t, s, tc.method, path, auth, tc.body)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			errs := rec.reported()
			if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), tc.wantFailure) {
				t.Errorf("failures = %q, want one containing %q", errs, tc.wantFailure)
			}
			if got := s.Failures(); len(got) != len(errs) {
				t.Errorf("Failures() = %d entries, reported %d", len(got), len(errs))
			}
			// A refused write changes nothing.
			if runs := s.CheckRuns(testRepo); len(runs) != 1 || runs[0].Updates != 0 || runs[0].Status != "queued" {
				t.Errorf("check runs changed by a refused request: %+v", runs)
			}
			if c := s.Comments(testRepo, 12); len(c) != 2 || c[0] != own || c[1] != theirs {
				t.Errorf("comments changed by a refused request: %+v", c)
			}
		})
	}
}

func action(label string) map[string]any {
	return map[string]any{"label": label, "description": "d", "identifier": "i"}
}

func callRaw(t testing.TB, s *Server, method, path, auth string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+strings.TrimPrefix(path, "/"), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("User-Agent", "githubtest")
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func TestHeaders(t *testing.T) {
	tests := map[string]struct {
		set         map[string]string
		wantStatus  int
		wantFailure string
	}{
		"no accept":                        {map[string]string{"Accept": ""}, 400, "missing Accept header"},
		"raw media type":                   {map[string]string{"Accept": "application/vnd.github.raw"}, 400, "does not serve"},
		"bad api version":                  {map[string]string{"X-GitHub-Api-Version": "2021-01-01"}, 400, "unsupported X-GitHub-Api-Version"},
		"no user agent":                    {map[string]string{"User-Agent": ""}, 403, "missing User-Agent"},
		"github+json is fine":              {map[string]string{"Accept": "application/vnd.github+json"}, 200, ""},
		"preview without a format is JSON": {map[string]string{"Accept": "application/vnd.github.squirrel-girl-preview"}, 200, ""},
		"v3 diff is not JSON":              {map[string]string{"Accept": "application/vnd.github.v3.diff"}, 400, "does not serve"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec)
			setup(s)
			req, _ := http.NewRequest("GET", s.URL+"repos/"+testRepo+"/pulls/12", nil)
			req.Header.Set("Accept", "application/vnd.github.v3+json")
			req.Header.Set("User-Agent", "githubtest")
			req.Header.Set("Authorization", "Bearer "+s.InstallationToken(testInst))
			for k, v := range tc.set {
				req.Header.Del(k)
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			if _, ok := tc.set["User-Agent"]; ok {
				req.Header["User-Agent"] = []string{""} // stop net/http adding its own
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			errs := strings.Join(rec.reported(), "\n")
			if tc.wantFailure == "" && errs != "" || !strings.Contains(errs, tc.wantFailure) {
				t.Errorf("failures = %q, want %q", errs, tc.wantFailure)
			}
		})
	}
}

func TestInstallationTokenRules(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec)
	setup(s)
	s.AddRepo(Repo{FullName: "other/repo", Installation: 7})
	s.AddRepo(Repo{FullName: "acme/second", Installation: testInst})
	s.SetPull("acme/second", PullRequest{Number: 1, User: "alice", HeadSHA: sha1st})
	pulls := "/repos/" + testRepo + "/pulls/12"

	foreign := "token " + s.InstallationToken(7)
	if resp, _ := call(t, s, "GET", pulls, foreign, nil); resp.StatusCode != 403 {
		t.Errorf("token of another installation: status %d, want 403", resp.StatusCode)
	}

	// A token narrowed to one repository works there and nowhere else.
	resp, body := call(t, s, "POST", fmt.Sprintf("/app/installations/%d/access_tokens", testInst), "Bearer "+s.AppJWT(),
		map[string]any{"repositories": []any{"second"}})
	if resp.StatusCode != 201 {
		t.Fatalf("narrowed token: %d %s", resp.StatusCode, body)
	}
	var tok struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
		Selection string    `json:"repository_selection"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Token, "ghs_") || time.Until(tok.ExpiresAt) < 59*time.Minute || tok.Selection != "selected" {
		t.Errorf("token = %+v, want ghs_ token valid for an hour, selected repositories", tok)
	}
	if resp, _ := call(t, s, "GET", "/repos/acme/second/pulls/1", "token "+tok.Token, nil); resp.StatusCode != 200 {
		t.Errorf("narrowed token on its repository: %d", resp.StatusCode)
	}
	if resp, _ := call(t, s, "GET", pulls, "token "+tok.Token, nil); resp.StatusCode != 403 {
		t.Errorf("narrowed token on another repository: %d, want 403", resp.StatusCode)
	}

	// Without pull_requests write or issues write no comment can be posted.
	s.SetInstallationPermissions(testInst, map[string]string{"checks": "write", "contents": "read", "metadata": "read", "pull_requests": "read"})
	readOnly := "token " + s.InstallationToken(testInst)
	if resp, _ := call(t, s, "POST", "/repos/"+testRepo+"/issues/12/comments", readOnly, map[string]any{"body": "hi"}); resp.StatusCode != 403 {
		t.Errorf("comment without write permission: %d, want 403", resp.StatusCode)
	}

	good := "token " + s.InstallationToken(testInst)
	s.ExpireTokens()
	if resp, _ := call(t, s, "GET", pulls, good, nil); resp.StatusCode != 401 {
		t.Errorf("expired token: %d, want 401", resp.StatusCode)
	}
	if got := s.TokensIssued(); got != 4 {
		t.Errorf("TokensIssued = %d, want 4", got)
	}
	want := []string{"token of installation 7", "restricted to other repositories", "needs installation permission issues:write|pull_requests:write", "expired"}
	errs := rec.reported()
	if len(errs) != len(want) {
		t.Fatalf("failures = %q, want %d", errs, len(want))
	}
	for i, w := range want {
		if !strings.Contains(errs[i], w) {
			t.Errorf("failure %d = %q, want %q", i, errs[i], w)
		}
	}
}

func TestAppJWTRules(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec)
	good := s.AppJWT()
	parts := strings.Split(good, ".")
	tests := map[string]string{
		"not a JWT":     "Bearer abc",
		"bad signature": "Bearer " + parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"wrong app":     "Bearer " + signJWT(t, "99", time.Now(), time.Now().Add(time.Minute)),
		"expired":       "Bearer " + signJWT(t, "1001", time.Now().Add(-5*time.Minute), time.Now().Add(-time.Minute)),
		"too long":      "Bearer " + signJWT(t, "1001", time.Now(), time.Now().Add(11*time.Minute)),
		"future iat":    "Bearer " + signJWT(t, "1001", time.Now().Add(5*time.Minute), time.Now().Add(6*time.Minute)),
		"installation":  "Bearer " + s.InstallationToken(1),
	}
	for name, auth := range tests {
		before := len(rec.reported())
		if resp, _ := call(t, s, "GET", "/app", auth, nil); resp.StatusCode != 401 {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
		if len(rec.reported()) == before {
			t.Errorf("%s: no failure reported", name)
		}
	}
	if resp, _ := call(t, s, "GET", "/app", "Bearer "+good, nil); resp.StatusCode != 200 {
		t.Errorf("good JWT: %d", resp.StatusCode)
	}
}

func signJWT(t *testing.T, iss string, iat, exp time.Time) string {
	key, _, err := sharedKey()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": iss, "iat": iat.Unix(), "exp": exp.Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestNotFoundIsNotAFailure(t *testing.T) {
	s := New(t) // any failure fails this test
	setup(s)
	tok := "token " + s.InstallationToken(testInst)
	r := "/repos/" + testRepo
	for _, path := range []string{
		r + "/contents/.github/missing.yml", r + "/contents/.github/checkoff.yml?ref=nope",
		r + "/pulls/99", r + "/collaborators/stranger/permission", r + "/compare/main...nope",
	} {
		if resp, _ := call(t, s, "GET", path, tok, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := call(t, s, "PATCH", r+"/check-runs/1", tok, map[string]any{"name": "x"}); resp.StatusCode != 404 {
		t.Errorf("PATCH unknown check run = %d, want 404", resp.StatusCode)
	}
	if resp, _ := call(t, s, "GET", "/repos/nobody/nothing/pulls/1", tok, nil); resp.StatusCode != 404 {
		t.Errorf("unknown repository = %d, want 404", resp.StatusCode)
	}
}

func TestConditionalRequests(t *testing.T) {
	s := New(t)
	setup(s)
	tok := "token " + s.InstallationToken(testInst)
	path := "/repos/" + testRepo + "/contents/.github/checkoff.yml?ref=main"
	resp, _ := call(t, s, "GET", path, tok, nil)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	get := func(ifNoneMatch string) int {
		req, _ := http.NewRequest("GET", s.URL+strings.TrimPrefix(path, "/"), nil)
		req.Header.Set("Accept", "application/vnd.github.v3+json")
		req.Header.Set("User-Agent", "githubtest")
		req.Header.Set("Authorization", tok)
		req.Header.Set("If-None-Match", ifNoneMatch)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(etag); got != 304 {
		t.Errorf("same ETag: %d, want 304", got)
	}
	s.SetFile(testRepo, "main", ".github/checkoff.yml", "checklists: []\n")
	if got := get(etag); got != 200 {
		t.Errorf("after the file changed: %d, want 200", got)
	}
	calls := s.Calls()
	last := calls[len(calls)-2]
	if !last.Conditional || last.Status != 304 || last.OperationID != "repos/get-content" || last.Write {
		t.Errorf("call log entry = %+v, want a conditional read answered 304", last)
	}
	if s.Reads() != 3 || s.Writes() != 0 || s.Count("repos/get-content") != 3 {
		t.Errorf("reads %d writes %d count %d, want 3 0 3", s.Reads(), s.Writes(), s.Count("repos/get-content"))
	}
}

func TestFaults(t *testing.T) {
	s := New(t)
	setup(s)
	tok := "token " + s.InstallationToken(testInst)
	path := "/repos/" + testRepo + "/pulls/12"

	s.FailNext("pulls/get", 2, ServerError(502))
	s.FailNext("", 1, SecondaryRateLimit(3*time.Second))
	var statuses []int
	for i := 0; i < 4; i++ {
		resp, _ := call(t, s, "GET", path, tok, nil)
		statuses = append(statuses, resp.StatusCode)
		if i == 2 && resp.Header.Get("Retry-After") != "3" {
			t.Errorf("secondary rate limit Retry-After = %q, want 3", resp.Header.Get("Retry-After"))
		}
	}
	if fmt.Sprint(statuses) != "[502 502 403 200]" {
		t.Errorf("statuses = %v, want [502 502 403 200]", statuses)
	}

	reset := time.Now().Add(time.Minute).Truncate(time.Second)
	s.FailNext("pulls/get", 1, RateLimit(429, reset))
	resp, _ := call(t, s, "GET", path, tok, nil)
	if resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Remaining") != "0" || resp.Header.Get("X-RateLimit-Reset") != fmt.Sprint(reset.Unix()) {
		t.Errorf("rate limit answer = %d %v", resp.StatusCode, resp.Header)
	}

	s.SetFault(func(c Call, r *http.Request) *Fault {
		if c.OperationID == "pulls/get" {
			return &Fault{Reset: true}
		}
		return nil
	})
	req, _ := http.NewRequest("GET", s.URL+strings.TrimPrefix(path, "/"), nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", tok)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("reset connection answered %d", resp.StatusCode)
	}

	s.SetFault(func(Call, *http.Request) *Fault { return &Fault{Delay: time.Second} })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req = req.WithContext(ctx)
	if resp, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Errorf("delayed answer: err %v, want deadline exceeded", err)
	}

	s.SetFault(func(Call, *http.Request) *Fault { return &Fault{Delay: 10 * time.Millisecond} })
	if resp, _ := call(t, s, "GET", path, tok, nil); resp.StatusCode != 200 {
		t.Errorf("delay without status should answer normally, got %d", resp.StatusCode)
	}
	s.SetFault(nil)

	// net/http retries an idempotent request once on a reset connection, so
	// the reset shows up once or twice; the abandoned request may not be
	// logged yet.
	var faulted []int
	for _, c := range s.Calls() {
		if c.Fault {
			faulted = append(faulted, c.Status)
		}
	}
	if got := fmt.Sprint(faulted); !strings.HasPrefix(got, "[502 502 403 429 0 ") || !strings.Contains(got, " 200") {
		t.Errorf("faulted call statuses = %v, want 502 502 403 429, reset (0), ..., delayed 200", faulted)
	}
}

func TestCheckRunLifecycle(t *testing.T) {
	s := New(t)
	setup(s)
	tok := "token " + s.InstallationToken(testInst)
	r := "/repos/" + testRepo
	resp, body := call(t, s, "POST", r+"/check-runs", tok, map[string]any{"name": "Author Checklist", "head_sha": sha3rd, "status": "in_progress"})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct{ ID int64 }
	_ = json.Unmarshal(body, &created)
	call(t, s, "PATCH", fmt.Sprintf("%s/check-runs/%d", r, created.ID), tok, map[string]any{
		"conclusion": "failure", "output": map[string]any{"title": "Author Checklist: 1 of 2 ticked", "summary": "- [ ] docs"}})
	call(t, s, "PATCH", fmt.Sprintf("%s/check-runs/%d", r, created.ID), tok, map[string]any{
		"conclusion": "success", "output": map[string]any{"title": "Author Checklist: 2 of 2 ticked", "summary": "all done"}})
	runs := s.CheckRuns(testRepo)
	if len(runs) != 1 {
		t.Fatalf("runs = %+v", runs)
	}
	got := runs[0]
	if got.Status != "completed" || got.Conclusion != "success" || got.Title != "Author Checklist: 2 of 2 ticked" || got.Updates != 2 || got.CompletedAt.IsZero() {
		t.Errorf("run = %+v", got)
	}
	// A newer run of the same name hides the old one unless filter=all.
	s.AddCheckRun(testRepo, CheckRun{Name: "Author Checklist", HeadSHA: sha3rd, Conclusion: "failure"})
	count := func(q string) int {
		_, body := call(t, s, "GET", r+"/commits/"+sha3rd+"/check-runs"+q, tok, nil)
		var list struct {
			TotalCount int `json:"total_count"`
		}
		_ = json.Unmarshal(body, &list)
		return list.TotalCount
	}
	if got := count(""); got != 1 {
		t.Errorf("latest = %d runs, want 1", got)
	}
	if got := count("?filter=all"); got != 2 {
		t.Errorf("all = %d runs, want 2", got)
	}
}

// TestResponseValidationCatchesBadShapes shows the self-test can fail: a
// rendered object missing a required field or carrying a wrong type is
// reported.
func TestResponseValidationCatchesBadShapes(t *testing.T) {
	s := New(t)
	setup(s)
	var pullsGet *operation
	for _, op := range s.api.ops {
		if op.id == "pulls/get" {
			pullsGet = op
		}
	}
	s.mu.Lock()
	good := s.pull(s.repos[testRepo], s.repos[testRepo].pulls[12])
	s.mu.Unlock()
	body, _ := json.Marshal(good)
	if p := s.api.validateResponse(pullsGet, 200, body); p != nil {
		t.Fatalf("good pull request rejected: %q", p)
	}
	delete(good, "head")
	good["number"] = "12"
	body, _ = json.Marshal(good)
	p := strings.Join(s.api.validateResponse(pullsGet, 200, body), "\n")
	if !strings.Contains(p, `missing required property "head"`) || !strings.Contains(p, "$.number: want integer, got string") {
		t.Errorf("problems = %q, want the missing head and the string number", p)
	}
}

// BenchmarkRoundTrip measures the fake's cost per request, with and without
// checking its own responses, for callers' benchmarks to subtract.
func BenchmarkRoundTrip(b *testing.B) {
	for _, check := range []bool{true, false} {
		name := "validate-responses"
		if !check {
			name = "skip-response-validation"
		}
		b.Run(name, func(b *testing.B) {
			s := New(b)
			setup(s)
			if !check {
				s.SkipResponseValidation()
			}
			tok := "token " + s.InstallationToken(testInst)
			body := map[string]any{"name": "Author Checklist", "head_sha": sha3rd, "conclusion": "success",
				"output": map[string]any{"title": "Author Checklist: 3 of 3 ticked", "summary": strings.Repeat("- [x] item\n", 20)}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if resp, _ := call(b, s, "GET", "/repos/"+testRepo+"/pulls/12", tok, nil); resp.StatusCode != 200 {
					b.Fatal(resp.StatusCode)
				}
				if resp, _ := call(b, s, "POST", "/repos/"+testRepo+"/check-runs", tok, body); resp.StatusCode != 201 {
					b.Fatal(resp.StatusCode)
				}
			}
		})
	}
}
