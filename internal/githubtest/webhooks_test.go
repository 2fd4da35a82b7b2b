package githubtest

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantFixtures are the deliveries checkoff handles; each must have a
// fixture.
var wantFixtures = []string{
	"check_run.requested_action", "check_run.rerequested", "check_suite.rerequested",
	"installation.created", "merge_group.checks_requested", "ping",
	"pull_request.closed", "pull_request.edited", "pull_request.opened", "pull_request.ready_for_review",
	"pull_request.reopened", "pull_request.synchronize",
	"pull_request_review.dismissed", "pull_request_review.edited", "pull_request_review.submitted",
}

func TestFixturesMatchWebhookSchema(t *testing.T) {
	if _, err := webhookSchema(); err != nil && os.Getenv("CI") != "true" {
		t.Skipf("webhook schema unavailable (run npm ci): %v", err)
	}
	have := map[string]bool{}
	for _, name := range Fixtures() {
		have[name] = true
		t.Run(name, func(t *testing.T) {
			raw, err := fixtures.ReadFile("testdata/webhooks/" + name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			ValidateWebhook(t, Event(name), raw)
			var p map[string]any
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if _, action, ok := strings.Cut(name, "."); ok && p["action"] != action {
				t.Errorf("action = %v, want %s (from the file name)", p["action"], action)
			}
			if name != "ping" && Event(name) != "installation" {
				if _, ok := p["installation"].(map[string]any)["id"]; !ok {
					t.Errorf("App deliveries carry installation.id; %s has none", name)
				}
			}
		})
	}
	for _, name := range wantFixtures {
		if !have[name] {
			t.Errorf("missing fixture %s", name)
		}
	}
}

// TestValidationCatchesBrokenPayloads shows the fixture test can fail.
func TestValidationCatchesBrokenPayloads(t *testing.T) {
	schema, err := webhookSchema()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("webhook schema unavailable (run npm ci): %v", err)
	}
	tests := map[string]struct {
		name string
		edit func(p map[string]any)
		want string
	}{
		"number as string": {"pull_request.opened", func(p map[string]any) { p["number"] = "12" }, "$.number: want integer, got string"},
		"unknown field":    {"pull_request.opened", func(p map[string]any) { p["colour"] = "red" }, "$.colour: property is not allowed"},
		"missing sender":   {"pull_request_review.submitted", func(p map[string]any) { delete(p, "sender") }, `missing required property "sender"`},
		"opened but closed": {"pull_request.opened", func(p map[string]any) { Set(p, "pull_request.state", "closed") },
			`$.pull_request.state: "closed" is not one of ["open"]`},
		"unknown action":         {"pull_request.opened", func(p map[string]any) { p["action"] = "exploded" }, "oneOf"},
		"edited without changes": {"pull_request.edited", func(p map[string]any) { delete(p, "changes") }, `missing required property "changes"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			payload := UncheckedPayload(t, tc.name, tc.edit)
			problems := strings.Join(schema.validate(Event(tc.name), payload), "\n")
			if !strings.Contains(problems, tc.want) {
				t.Errorf("problems = %q, want %q", problems, tc.want)
			}
		})
	}
}

func TestPayloadVariants(t *testing.T) {
	const newBody = "## Author Checklist\r\n- [x] Unit tests cover the change\r\n"
	p := Payload(t, "pull_request.edited", func(p map[string]any) {
		Set(p, "changes.body.from", p["pull_request"].(map[string]any)["body"])
		Set(p, "pull_request.body", newBody)
		Set(p, "pull_request.labels", []any{})
	})
	var got struct {
		Changes struct {
			Body struct{ From string }
		}
		PullRequest struct{ Body string } `json:"pull_request"`
	}
	if err := json.Unmarshal(p, &got); err != nil {
		t.Fatal(err)
	}
	if got.PullRequest.Body != newBody || got.Changes.Body.From == "" || got.Changes.Body.From == newBody {
		t.Errorf("variant = %+v", got)
	}
	// The fixture itself is untouched by edits.
	again := UncheckedPayload(t, "pull_request.edited", nil)
	if strings.Contains(string(again), `"body":"## Author Checklist\r\n- [x] Unit tests cover the change\r\n"`) {
		t.Error("edit leaked into the fixture")
	}
}

func TestSet(t *testing.T) {
	p := map[string]any{"a": map[string]any{"list": []any{map[string]any{"x": 1.0}}}}
	Set(p, "a.list.0.x", 2)
	Set(p, "b.c", "new")
	Set(p, "a.gone", nil)
	if p["a"].(map[string]any)["list"].([]any)[0].(map[string]any)["x"] != 2 || p["b"].(map[string]any)["c"] != "new" {
		t.Errorf("p = %v", p)
	}
	if v, ok := p["a"].(map[string]any)["gone"]; !ok || v != nil {
		t.Error("Set to nil should store null")
	}
	defer func() {
		if recover() == nil {
			t.Error("Set through a string did not panic")
		}
	}()
	Set(p, "b.c.d", 1)
}

func TestMissingSchemaIsNotExist(t *testing.T) {
	// Callers skip (outside CI) or fail (CI=true) on fs.ErrNotExist.
	if _, err := findWebhookSchema(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, WebhookSchemaPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "app", "x")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := findWebhookSchema(sub); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("broken schema file: err = %v, want a parse error", err)
	}
}

func BenchmarkPayload(b *testing.B) {
	if _, err := webhookSchema(); err != nil {
		b.Skip(err)
	}
	for i := 0; i < b.N; i++ {
		Payload(b, "pull_request.edited", func(p map[string]any) { Set(p, "pull_request.body", "x") })
	}
}

// TestFixtureConstants keeps the exported Fixture* values and the files in
// step.
func TestFixtureConstants(t *testing.T) {
	get := func(name, path string) any {
		var p map[string]any
		if err := json.Unmarshal(UncheckedPayload(t, name, nil), &p); err != nil {
			t.Fatal(err)
		}
		var cur any = p
		for _, part := range strings.Split(path, ".") {
			cur = cur.(map[string]any)[part]
		}
		return cur
	}
	checks := []struct {
		name, path string
		want       any
	}{
		{"pull_request.opened", "repository.full_name", FixtureRepo},
		{"pull_request.opened", "repository.id", float64(FixtureRepoID)},
		{"pull_request.opened", "repository.default_branch", FixtureBaseBranch},
		{"pull_request.opened", "installation.id", float64(FixtureInstallation)},
		{"pull_request.opened", "number", float64(FixturePull)},
		{"pull_request.opened", "pull_request.user.login", FixtureAuthor},
		{"pull_request.opened", "pull_request.base.ref", FixtureBaseBranch},
		{"pull_request.opened", "pull_request.base.sha", FixtureBaseSHA},
		{"pull_request.opened", "pull_request.head.sha", FixtureHeadSHA},
		{"pull_request.edited", "pull_request.head.sha", FixtureHeadSHA},
		{"pull_request.edited", "sender.login", FixtureReviewer},
		{"pull_request.synchronize", "before", FixtureHeadSHA},
		{"pull_request.synchronize", "after", FixtureNewHeadSHA},
		{"pull_request.synchronize", "pull_request.head.sha", FixtureNewHeadSHA},
		{"pull_request.closed", "pull_request.merged", true},
		{"pull_request.closed", "pull_request.merge_commit_sha", FixtureMergeSHA},
		{"pull_request_review.submitted", "review.user.login", FixtureReviewer},
		{"pull_request_review.submitted", "review.state", "approved"},
		{"check_run.rerequested", "check_run.app.id", float64(FixtureAppID)},
		{"check_run.requested_action", "requested_action.identifier", "recheck"},
		{"ping", "hook.app_id", float64(FixtureAppID)},
	}
	for _, c := range checks {
		if got := get(c.name, c.path); got != c.want {
			t.Errorf("%s %s = %v, want %v", c.name, c.path, got, c.want)
		}
	}
}
