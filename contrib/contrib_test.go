package contrib

import (
	"bytes"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/checklist"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// prTemplates are the adopters' template and the project's own.
var prTemplates = []string{".github/pull_request_template.md", "../.github/pull_request_template.md"}

func TestPullRequestTemplates(t *testing.T) {
	example, err := checklist.ParseConfig("checkoff.yml", read(t, "checkoff.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range prTemplates {
		t.Run(path, func(t *testing.T) {
			body := read(t, path)
			doc := checklist.Parse(body)
			// What `checkoff check --template` reports, against the default
			// config and against the example config.
			for name, cfg := range map[string]*checklist.Config{"default": checklist.DefaultConfig(), "checkoff.yml": example} {
				if problems := checklist.CheckTemplate(doc, cfg); len(problems) > 0 {
					t.Errorf("%s config: template problems:\n%s", name, strings.Join(problems, "\n"))
				}
			}
			// Out of the box every checklist is present and nothing is ticked.
			for _, r := range checklist.Evaluate(doc, checklist.DefaultConfig(), nil) {
				if r.Status != checklist.Incomplete || r.Ticked != 0 || r.Total != 4 || len(r.Items) != 4 {
					t.Errorf("%s: status %v, %d of %d ticked, %d boxes; want incomplete, 0 of 4, 4 boxes",
						r.Checklist.Name, r.Status, r.Ticked, r.Total, len(r.Items))
				}
			}
			// Once every box is ticked, both checklists are complete (taking
			// ticks as they stand): the template's items are the ones checkoff
			// requires, word for word.
			ticked := checklist.Parse(bytes.ReplaceAll(body, []byte("- [ ]"), []byte("- [x]")))
			for _, r := range checklist.Evaluate(ticked, checklist.DefaultConfig(), nil) {
				if r.Status != checklist.Complete || len(r.MissingItems) > 0 {
					t.Errorf("%s with every box ticked: status %v, missing %v; want complete", r.Checklist.Name, r.Status, r.MissingItems)
				}
			}
			if len(checklist.CheckTemplate(ticked, checklist.DefaultConfig())) == 0 {
				t.Error("CheckTemplate accepts a template with ticked boxes; the check above proves nothing")
			}
		})
	}
}

func TestCheckoffConfigExample(t *testing.T) {
	data := read(t, "checkoff.yml")
	cfg, err := checklist.ParseConfig("checkoff.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	// The example spells out the defaults, as its comments say: a team
	// that copies it gets what a repository with no file gets.
	if want := checklist.DefaultConfig(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("checkoff.yml decodes to\n%+v\nwant the defaults\n%+v", cfg, want)
	}
	// It shows every key of the schema; allow_contributors only where it
	// matters, on the reviewer checklist.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	keys := func(m *yaml.Node) []string {
		var out []string
		for i := 0; i < len(m.Content); i += 2 {
			out = append(out, m.Content[i].Value)
		}
		sort.Strings(out)
		return out
	}
	if got, want := keys(top), []string{"branches", "checklists", "details_url", "incomplete_conclusion", "optional_markers", "optional_match", "reset_reviewer_on_push", "skip_authors"}; !reflect.DeepEqual(got, want) {
		t.Errorf("top-level keys %v, want every key %v", got, want)
	}
	checklistKeys := map[string][]string{
		"Author Checklist":   {"allow_extra_items", "heading", "items", "name", "ticked_by"},
		"Reviewer Checklist": {"allow_contributors", "allow_extra_items", "heading", "items", "name", "ticked_by"},
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "checklists" {
			continue
		}
		for _, cl := range top.Content[i+1].Content {
			var name string
			for j := 0; j+1 < len(cl.Content); j += 2 {
				if cl.Content[j].Value == "name" {
					name = cl.Content[j+1].Value
				}
			}
			if got, want := keys(cl), checklistKeys[name]; !reflect.DeepEqual(got, want) {
				t.Errorf("checklist %q at line %d has keys %v, want %v", name, cl.Line, got, want)
			}
		}
	}
}

// TestCheckoffConfigExampleEnforcesEveryBranch: whatever a team's branches
// are called, copying the example keeps every pull request's checklists
// enforced. Listing branches here would give PRs into any other branch a
// neutral check, which passes branch protection (issue 9, item 9).
func TestCheckoffConfigExampleEnforcesEveryBranch(t *testing.T) {
	cfg, err := checklist.ParseConfig("checkoff.yml", read(t, "checkoff.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Branches) != 0 {
		t.Fatalf("branches = %q: PRs into any other branch (main, trunk, release/*) get a neutral, passing check", cfg.Branches)
	}
	// The comment above the key says what it does and that empty is every
	// branch, so a team that edits it knows what it gives up.
	text := string(read(t, "checkoff.yml"))
	at := strings.Index(text, "\nbranches:")
	if at < 0 {
		t.Fatal("no top-level branches key")
	}
	comment := text[:at]
	comment = comment[strings.LastIndex(comment, "\n\n")+1:]
	for _, want := range []string{"every branch", "neutral"} {
		if !strings.Contains(comment, want) {
			t.Errorf("the comment on branches does not say %q:\n%s", want, comment)
		}
	}
}

// releases returns the example release config.
func releases(t *testing.T) *release.Config {
	t.Helper()
	cfg, err := release.ParseConfig("releases.yml", read(t, "releases.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestReleasesExample(t *testing.T) {
	type entry struct{ repo, branch, pipeline, stage, action, onIncomplete string }
	var got []entry
	for _, r := range releases(t).Releases {
		got = append(got, entry{r.Repo, r.Branch, r.Pipeline, r.Stage, r.Action, r.OnIncomplete})
	}
	want := []entry{
		{"acme/invoice-log-api", "dev", "invoice-log-api-dev", "ApproveChangeSet", "ChecklistApproval", release.OnIncompleteWait},
		{"acme/invoice-log-api", "master", "invoice-log-api-prod", "ApproveChangeSet", "", release.OnIncompleteWait},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("releases.yml = %+v, want %+v", got, want)
	}
}

func TestContributingGuides(t *testing.T) {
	var items []string
	for _, cl := range checklist.DefaultConfig().Checklists {
		items = append(items, "## "+cl.Heading)
		items = append(items, cl.Items...)
	}
	for _, path := range []string{"CONTRIBUTING.md", "../CONTRIBUTING.md"} {
		t.Run(path, func(t *testing.T) {
			text := string(read(t, path))
			// The check lists it explains are the ones checkoff enforces,
			// word for word.
			for _, want := range items {
				if !strings.Contains(text, want) {
					t.Errorf("does not carry %q", want)
				}
			}
			for _, want := range []string{"Topic branches", "`dev`", "`master`", "Phase 1", "Phase 2", "Commit message"} {
				if !strings.Contains(strings.ToLower(text), strings.ToLower(want)) {
					t.Errorf("has no %q section", want)
				}
			}
		})
	}
}
