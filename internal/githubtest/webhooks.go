package githubtest

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/checkoff-app/checkoff/internal/githubtest/internal/jsonschema"
)

// fixtures are embedded so tests of any package can load them.
//
//go:embed testdata/webhooks/*.json
var fixtures embed.FS

// WebhookSchemaPath is where the webhook schema is looked up, relative to
// the module root: npm @octokit/webhooks-schemas, installed by `npm ci`.
const WebhookSchemaPath = "node_modules/@octokit/webhooks-schemas/schema.json"

// Values the webhook fixtures share, for setting up a Server that matches
// them: pull request #12 by FixtureAuthor from feature/invoice-csv-export
// into dev, reviewed by FixtureReviewer. Opened, edited, ready_for_review
// are at FixtureHeadSHA; synchronize moves the head to FixtureNewHeadSHA;
// closed merges it as FixtureMergeSHA.
const (
	FixtureRepo         = "acme/invoice-log-api"
	FixtureRepoID       = 712345678
	FixtureBaseBranch   = "dev"
	FixtureInstallation = 51234567
	FixtureAppID        = 1001 // the default Server.AppID
	FixturePull         = 12
	FixtureReview       = 2045318876 // the review of the pull_request_review fixtures
	FixtureAuthor       = "alice-dev"
	FixtureReviewer     = "bob-reviews"
	FixtureBaseSHA      = "9c1f0e7a4b2d8c3e5f6a7b8c9d0e1f2a3b4c5d6e"
	FixtureHeadSHA      = "3f5a9d2c1b7e4f6a8c0d2e4f6a8b0c2d4e6f8a1b"
	FixtureNewHeadSHA   = "a41e7c9b3d5f7e9a1c3e5a7c9e1b3d5f7a9c1e3b"
	FixtureMergeSHA     = "e8d2b6f0a4c8e2b6d0f4a8c2e6b0d4f8a2c6e0b4"
)

// Fixtures lists the webhook fixture names, like "pull_request.edited".
func Fixtures() []string {
	entries, err := fs.ReadDir(fixtures, "testdata/webhooks")
	if err != nil {
		panic(err) // embedded at build time
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// Event returns the X-GitHub-Event of a fixture name: "pull_request" for
// "pull_request.edited", "ping" for "ping".
func Event(name string) string {
	event, _, _ := strings.Cut(name, ".")
	return event
}

// Payload returns the webhook fixture testdata/webhooks/<name>.json as JSON
// bytes, after edit (which may be nil) has changed its decoded form. The
// result is validated against @octokit/webhooks-schemas, so a variant a test
// builds is still a payload GitHub could send; without node_modules the
// check is skipped outside CI and fatal in CI (CI=true).
func Payload(t testing.TB, name string, edit func(p map[string]any)) []byte {
	t.Helper()
	out := UncheckedPayload(t, name, edit)
	schema, err := webhookSchema()
	switch {
	case errors.Is(err, fs.ErrNotExist) && os.Getenv("CI") != "true":
		t.Logf("githubtest: %s not installed; payload %s not validated", WebhookSchemaPath, name)
	case err != nil:
		t.Fatalf("githubtest: %v", err)
	default:
		if problems := schema.validate(Event(name), out); len(problems) > 0 {
			t.Fatalf("githubtest: payload %s does not match the webhook schema:\n%s", name, strings.Join(problems, "\n"))
		}
	}
	return out
}

// UncheckedPayload is Payload without the schema check, for deliberately
// malformed payloads.
func UncheckedPayload(t testing.TB, name string, edit func(p map[string]any)) []byte {
	t.Helper()
	raw, err := fixtures.ReadFile("testdata/webhooks/" + name + ".json")
	if err != nil {
		t.Fatalf("githubtest: no webhook fixture %q (have %v)", name, Fixtures())
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("githubtest: fixture %s: %v", name, err)
	}
	if edit != nil {
		edit(p)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("githubtest: marshal payload %s: %v", name, err)
	}
	return out
}

// ValidateWebhook checks a payload of the given event against
// @octokit/webhooks-schemas and fails the test on any mismatch. Without
// node_modules it skips the test, or fails it when CI=true.
func ValidateWebhook(t testing.TB, event string, payload []byte) {
	t.Helper()
	schema, err := webhookSchema()
	switch {
	case errors.Is(err, fs.ErrNotExist) && os.Getenv("CI") != "true":
		t.Skipf("githubtest: %s not installed (run npm ci); set CI=true to make this fatal", WebhookSchemaPath)
	case err != nil:
		t.Fatalf("githubtest: %v", err)
	}
	if problems := schema.validate(event, payload); len(problems) > 0 {
		t.Errorf("githubtest: %s payload does not match the webhook schema:\n%s", event, strings.Join(problems, "\n"))
	}
}

// Set changes a decoded payload at a dotted path, like
// "pull_request.body" or "pull_request.labels.0.name", creating objects on
// the way. It panics on a path through a non-object, which is a test bug.
func Set(p map[string]any, path string, value any) {
	parts := strings.Split(path, ".")
	var cur any = p
	for i, part := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[part] = value
				return
			}
			next, ok := c[part]
			if !ok || next == nil {
				next = map[string]any{}
				c[part] = next
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n >= len(c) {
				panic(fmt.Sprintf("githubtest.Set %s: %q is not an index of a %d-item array", path, part, len(c)))
			}
			if last {
				c[n] = value
				return
			}
			cur = c[n]
		default:
			panic(fmt.Sprintf("githubtest.Set %s: %s is a %T, not an object", path, strings.Join(parts[:i], "."), cur))
		}
	}
}

type webhookDoc struct{ doc *jsonschema.Document }

var (
	webhookOnce sync.Once
	webhookDocV *webhookDoc
	webhookErr  error
)

// webhookSchema loads the schema once, looking for node_modules from the
// working directory up.
func webhookSchema() (*webhookDoc, error) {
	webhookOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			webhookErr = err
			return
		}
		webhookDocV, webhookErr = findWebhookSchema(dir)
	})
	return webhookDocV, webhookErr
}

// findWebhookSchema loads WebhookSchemaPath from dir or the nearest parent
// that has it; the error wraps fs.ErrNotExist when none has.
func findWebhookSchema(dir string) (*webhookDoc, error) {
	for {
		data, err := os.ReadFile(filepath.Join(dir, WebhookSchemaPath))
		if err == nil {
			doc, err := jsonschema.Parse(data)
			if err != nil {
				return nil, fmt.Errorf("load %s: %w", WebhookSchemaPath, err)
			}
			return &webhookDoc{doc: doc}, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("find %s above the working directory: %w", WebhookSchemaPath, fs.ErrNotExist)
		}
		dir = parent
	}
}

// validate checks payload against the definition for event and its action
// ("pull_request$edited"), falling back to the event's own definition.
func (w *webhookDoc) validate(event string, payload []byte) []string {
	v, err := jsonschema.Decode(payload)
	if err != nil {
		return []string{fmt.Sprintf("not JSON: %v", err)}
	}
	obj, _ := v.(map[string]any)
	action, _ := obj["action"].(string)
	candidates := []string{event + "_event", event + "$event"}
	if action != "" {
		candidates = append([]string{event + "$" + action}, candidates...)
	}
	var ref string
	for _, name := range candidates {
		if _, err := w.doc.Resolve("#/definitions/" + name); err == nil {
			ref = "#/definitions/" + name
			break
		}
	}
	if ref == "" {
		return []string{fmt.Sprintf("the webhook schema has no definition for event %q action %q", event, action)}
	}
	var problems []string
	for _, e := range w.doc.ValidateRef(ref, v) {
		problems = append(problems, e.Error())
	}
	return problems
}
