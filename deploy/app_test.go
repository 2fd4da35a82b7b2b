package deploy

import (
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/checkoff-app/checkoff/internal/cfntest"

	"github.com/checkoff-app/checkoff/handlers"
	"github.com/checkoff-app/checkoff/webhook"
)

// automaticEvents reach every GitHub App whatever it subscribes to; a
// manifest cannot list them.
var automaticEvents = map[string]bool{"installation": true, "installation_repositories": true}

// eventPermission is the permission a GitHub App needs to subscribe to each
// webhook event (GitHub's "Webhook events and payloads" reference).
var eventPermission = map[string]string{
	"pull_request":        "pull_requests",
	"pull_request_review": "pull_requests",
	"check_run":           "checks",
	"check_suite":         "checks",
	"merge_group":         "merge_queues",
}

// The manifest's fields, per GitHub's "Registering a GitHub App from a
// manifest": anything else is a typo GitHub would silently ignore.
var manifestKeys = map[string]bool{
	"name": true, "url": true, "description": true, "hook_attributes": true, "redirect_url": true,
	"callback_urls": true, "setup_url": true, "public": true, "default_events": true,
	"default_permissions": true, "request_oauth_on_install": true, "setup_on_update": true,
}

// TestAppManifest checks app.yml asks for what checkoff uses and no more.
func TestAppManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root(t), "app.yml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cfntest.DecodeYAML(data)
	if err != nil {
		t.Fatalf("app.yml: %v", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("app.yml is %T, want a mapping", doc)
	}
	for k := range m {
		if !manifestKeys[k] {
			t.Errorf("app.yml: %q is not a GitHub App manifest field", k)
		}
	}
	if name, _ := m["name"].(string); name == "" || len(name) > 34 {
		t.Errorf("name %q: GitHub wants 1-34 characters", name)
	}
	if m["public"] != false {
		t.Errorf("public = %v, want false: install on your own account only", m["public"])
	}
	hook, _ := m["hook_attributes"].(map[string]any)
	for k := range hook {
		if k != "url" && k != "active" {
			t.Errorf("hook_attributes.%s is not a manifest field", k)
		}
	}
	u, err := url.Parse(fmtString(hook["url"]))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != webhook.WebhookPath {
		t.Errorf("hook_attributes.url %v: want https://<host>%s (the HttpApiUrl output + the dispatcher's path)", hook["url"], webhook.WebhookPath)
	}
	if hook["active"] != true {
		t.Errorf("hook_attributes.active = %v, want true", hook["active"])
	}
	if u, err := url.Parse(fmtString(m["redirect_url"])); err != nil || u.Host == "" {
		t.Errorf("redirect_url %v: GitHub sends the conversion code there", m["redirect_url"])
	}

	// Events: exactly those the dispatcher has handlers for.
	var handled []string
	for _, h := range handlers.All(nil) {
		for _, e := range h.Handles() {
			if !automaticEvents[e] {
				handled = append(handled, e)
			}
		}
	}
	sort.Strings(handled)
	events, err := cfntest.StringList(m["default_events"])
	if err != nil {
		t.Fatalf("default_events: %v", err)
	}
	sort.Strings(events)
	if !reflect.DeepEqual(events, handled) {
		t.Errorf("default_events %v, want the events handlers.All handles: %v", events, handled)
	}

	perms, _ := m["default_permissions"].(map[string]any)
	want := map[string]any{
		"checks":        "write", // check runs
		"pull_requests": "write", // PRs, reviews; comments on PRs holding a release
		"contents":      "read",  // .github/checkoff.yml, compare
		"metadata":      "read",  // collaborator permissions
		"merge_queues":  "read",  // merge_group events
	}
	if !reflect.DeepEqual(perms, want) {
		t.Errorf("default_permissions %v, want exactly %v", perms, want)
	}
	for _, e := range events {
		p, known := eventPermission[e]
		if !known {
			t.Errorf("event %s: no known permission requirement; add it to eventPermission", e)
			continue
		}
		if level := perms[p]; level != "read" && level != "write" {
			t.Errorf("event %s needs the %s permission, which app.yml does not grant", e, p)
		}
	}
}

func fmtString(v any) string {
	s, _ := v.(string)
	return s
}
