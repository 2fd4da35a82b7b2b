package checklist

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// bodyConfig is the config of a team with Author and Reviewer sections
// that also requires every other task of the body.
func bodyConfig(t *testing.T) *Config {
	t.Helper()
	cfg, err := ParseConfig("checkoff.yml", []byte(
		"checklists:\n  - name: Author Checklist\n    ticked_by: author\n  - name: Reviewer Checklist\n    ticked_by: reviewer\n"+
			"  - name: Tasks\n    scope: body\n    ticked_by: author\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func tasksKey(text string) string { return "Tasks" + keySep + Normalize(text) }

// TestBodyScopeAttributed: the ledger records the body checklist's ticks
// and waivers like a section's, and Evaluate counts them only from whom
// ticked_by admits.
func TestBodyScopeAttributed(t *testing.T) {
	cfg := bodyConfig(t)
	before := Parse([]byte("- [ ] Update the changelog\n- [ ] Tell support\n\n## Author Checklist\n- [ ] Tested\n"))
	after := Parse([]byte("- [x] Update the changelog\n- [ ] ~~Tell support~~\n\n## Author Checklist\n- [x] Tested\n"))
	got := Diff(before, after, cfg)
	want := []Change{
		{Checklist: "Author Checklist", Key: authorKey("Tested"), Text: "Tested", Checked: true},
		{Checklist: "Tasks", Key: tasksKey("Update the changelog"), Text: "Update the changelog", Checked: true},
		{Checklist: "Tasks", Key: tasksKey("Tell support"), Text: "Tell support", Checked: true, Waiver: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff = %+v\nwant %+v", got, want)
	}

	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		by     string
		status Status
		reason string
	}{
		"ticked and waived by the author": {by: "amy", status: Complete},
		"ticked and waived by someone else": {by: "rob", status: Incomplete,
			reason: "ticked by @rob, not the author"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := Tick{Checked: true, By: tc.by, At: at, CanWrite: true}
			facts := &Facts{Author: "amy", Contributors: map[string]bool{"amy": true},
				Ticks:   map[string]Tick{tasksKey("Update the changelog"): rec},
				Waivers: map[string]Tick{tasksKey("Tell support"): rec}}
			r := Evaluate(after, cfg, facts)[2]
			checkInvariants(t, []Result{r}, facts)
			if r.Status != tc.status || r.Items[0].Reason != tc.reason || r.Heading != nil {
				t.Errorf("got %v, reason %q, heading %v; want %v, %q", r.Status, r.Items[0].Reason, r.Heading, tc.status, tc.reason)
			}
			if tc.status == Incomplete && r.Items[1].Optional {
				t.Errorf("a waiver by @%s made a body task optional", tc.by)
			}
		})
	}
}

// TestAnywhereWaiverAttributed: a marker written anywhere is a waiver like
// a prefix: Diff records it under the item's unchanged key, and it counts
// only from whom ticked_by admits.
func TestAnywhereWaiverAttributed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OptionalMatch = MatchAnywhere
	before := Parse([]byte("## Reviewer Checklist\n- [x] Update docs\n"))
	after := Parse([]byte("## Reviewer Checklist\n- [x] Update docs (N/A)\n"))
	key := reviewerKey("Update docs")
	got := Diff(before, after, cfg)
	want := []Change{{Checklist: "Reviewer Checklist", Key: key, Text: "Update docs (N/A)", Checked: true, Waiver: true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff = %+v, want %+v", got, want)
	}
	facts := &Facts{Author: "amy", Contributors: map[string]bool{"amy": true},
		Waivers: map[string]Tick{key: {Checked: true, By: "amy", CanWrite: true}}}
	r := Evaluate(after, cfg, facts)[1]
	if it := r.Items[0]; it.Optional || !strings.Contains(it.Reason, "marked optional by @amy, the author") {
		t.Errorf("the author's N/A on a reviewer item: optional=%v reason=%q", it.Optional, it.Reason)
	}
	// The default stays a prefix: "(N/A)" at the end is text.
	if r := Evaluate(after, DefaultConfig(), nil)[1]; r.Items[0].Optional {
		t.Errorf("prefix rule took a trailing marker")
	}
}

func TestStripMarkerAnywhere(t *testing.T) {
	markers := []string{"N/A", "OPTIONAL", "POST-MERGE"}
	tests := map[string]struct {
		in     string
		rest   string
		marked bool
	}{
		"parenthesised at the end": {"Update docs (N/A)", "Update docs ( )", true},
		"after a strikethrough":    {"Storybook N/A, no new components", "Storybook  , no new components", true},
		"hyphenated marker":        {"Ramp flag (post-merge)", "Ramp flag ( )", true},
		"at the start":             {"N/A: docs", " : docs", true},
		"inside a hyphenated word": {"Make the field non-optional", "Make the field non-optional", false},
		"inside a path":            {"Check docs/optional/x.md", "Check docs/optional/x.md", false},
		"longer word":              {"OPTIONALLY tidy", "OPTIONALLY tidy", false},
		"letters after":            {"N/Ab", "N/Ab", false},
		"unicode letter before":    {"éoptional x", "éoptional x", false},
		"none":                     {"Tests", "Tests", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rest, marked := stripMarkerAnywhere(tc.in, markers)
			if rest != tc.rest || marked != tc.marked {
				t.Errorf("stripMarkerAnywhere(%q) = %q, %v; want %q, %v", tc.in, rest, marked, tc.rest, tc.marked)
			}
		})
	}
}

// TestSelect: a pick-N group is complete with exactly N counted ticks;
// ticks that do not count under ticked_by are not picks.
func TestSelect(t *testing.T) {
	cfg := &Config{Checklists: []Checklist{{Name: "Type", TickedBy: Reviewer, Select: 1, AllowExtraItems: true}},
		OptionalMarkers: []string{"N/A"}}
	key := func(s string) string { return "Type" + keySep + Normalize(s) }
	writer := Tick{Checked: true, By: "rob", CanWrite: true}
	author := Tick{Checked: true, By: "amy", CanWrite: true}
	tests := map[string]struct {
		body   string
		ticks  map[string]Tick
		status Status
		ticked int
	}{
		"one pick":               {"## Type\n- [x] Bug\n- [ ] Feature\n", map[string]Tick{key("Bug"): writer}, Complete, 1},
		"none":                   {"## Type\n- [ ] Bug\n- [ ] Feature\n", nil, Incomplete, 0},
		"two":                    {"## Type\n- [x] Bug\n- [x] Feature\n", map[string]Tick{key("Bug"): writer, key("Feature"): writer}, Incomplete, 2},
		"two, one by the author": {"## Type\n- [x] Bug\n- [x] Feature\n", map[string]Tick{key("Bug"): writer, key("Feature"): author}, Complete, 1},
		"only the author's":      {"## Type\n- [x] Bug\n- [ ] Feature\n", map[string]Tick{key("Bug"): author}, Incomplete, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			facts := &Facts{Author: "amy", Contributors: map[string]bool{"amy": true}, Ticks: tc.ticks}
			r := Evaluate(Parse([]byte(tc.body)), cfg, facts)[0]
			checkInvariants(t, []Result{r}, facts)
			if r.Status != tc.status || r.Ticked != tc.ticked || r.Select != 1 {
				t.Errorf("got %v %d ticked (select %d), want %v %d", r.Status, r.Ticked, r.Select, tc.status, tc.ticked)
			}
		})
	}
}

func TestCheckTemplateBodyAndSelect(t *testing.T) {
	cfg, err := ParseConfig("c.yml", []byte("checklists:\n  - name: Tasks\n    scope: body\n    items: [Update the changelog]\n"+
		"  - name: Type\n    select: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := CheckTemplate(Parse([]byte("- [ ] Update the changelog\n\n## Type\n- [ ] Bug\n")), cfg)
	want := []string{"line 3: Type: select is 2, but only 1 boxes can be ticked"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
	got = CheckTemplate(Parse([]byte("No tasks.\n\n## Type\n- [ ] Bug\n- [ ] Feature\n- [x] Chore\n")), cfg)
	want = []string{"Tasks: missing item \"Update the changelog\"", "line 6: Type: box \"Chore\" is ticked; a template leaves every box unticked"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
}

func TestMatchPath(t *testing.T) {
	tests := map[string]struct {
		glob, file string
		want       bool
	}{
		"exact":                      {"schema.rb", "schema.rb", true},
		"star stays in its segment":  {"*.go", "app/x.go", false},
		"star at the root":           {"*.go", "main.go", true},
		"double star, zero segments": {"**/*.go", "main.go", true},
		"double star, many":          {"**/*.go", "a/b/c.go", true},
		"trailing double star":       {"docs/**", "docs/a/b.md", true},
		"trailing double star, dir":  {"docs/**", "docs", true},
		"not under":                  {"docs/**", "doc/a.md", false},
		"middle double star":         {"db/**/up.sql", "db/up.sql", true},
		"middle double star, deep":   {"db/**/up.sql", "db/2024/01/up.sql", true},
		"middle double star, wrong":  {"db/**/up.sql", "db/2024/down.sql", false},
		"question mark":              {"v?.txt", "v1.txt", true},
		"class":                      {"[ab].md", "b.md", true},
		"longer path":                {"a/*", "a/b/c", false},
		"invalid glob":               {"a/[b", "a/[b", false},
		"leading slash glob":         {"/a", "/a", false},
		"double star inside segment": {"a**", "abc", false},
		"many double stars":          {strings.Repeat("**/", 200) + "x", strings.Repeat("a/", 100) + "y", false},
		"empty file":                 {"**", "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := MatchPath(tc.glob, tc.file); got != tc.want {
				t.Errorf("MatchPath(%q, %q) = %v, want %v", tc.glob, tc.file, got, tc.want)
			}
		})
	}
}

func TestHeadingKey(t *testing.T) {
	tests := map[string]string{
		":white_check_mark: Reviewer Checklist": "reviewer checklist",
		"Reviewer Checklist :eyes:":             "reviewer checklist",
		"Reviewer :+1: Checklist":               "reviewer checklist",
		"Deploy 10:30:00":                       "deploy 10:30:00",
		"a:b:c":                                 "a:b:c",
		"Not :A: shortcode":                     "not :a: shortcode",
		":eyes:":                                "",
	}
	for in, want := range tests {
		if got := HeadingKey(in); got != want {
			t.Errorf("HeadingKey(%q) = %q, want %q", in, got, want)
		}
	}
}
