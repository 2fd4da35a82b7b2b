package checklist

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestCheckTemplate(t *testing.T) {
	good, err := os.ReadFile("testdata/eval/template_untouched.md")
	if err != nil {
		t.Fatal(err)
	}
	strict := DefaultConfig()
	strict.Checklists[0].AllowExtraItems = false
	tests := map[string]struct {
		body string
		cfg  *Config
		want []string
	}{
		"default template": {body: string(good)},
		"template with extra boxes": {
			body: string(good) + "- [ ] Checked the migration guide\n",
		},
		"no sections": {
			body: "Describe your change.\n",
			want: []string{
				`Author Checklist: no heading "Author Checklist"`,
				`Reviewer Checklist: no heading "Reviewer Checklist"`,
			},
		},
		"ticked and missing items": {
			body: "## Author Checklist\n- [x] Do the changes implement the correct feature?\n- [ ] Did you update your tests?\n" +
				"- [ ] Does a build from the Cmd Line Pass?\n- [X] Has the author tested changes?\n\n" +
				"## Reviewer Checklist\n- [ ] Do the changes implement the correct functionality?\n- [ ] Are there a sufficient amount of Unit Tests included?\n" +
				"- [ ] Does the file's code-style and inline comments meet standards?\n- [ ] N/A: Are the commit messages appropriate?\n",
			want: []string{
				`line 1: Author Checklist: missing item "Did you implement and update your Unit Tests?"`,
				`line 2: Author Checklist: box "Do the changes implement the correct feature?" is ticked; a template leaves every box unticked`,
				`line 5: Author Checklist: box "Has the author tested changes?" is ticked; a template leaves every box unticked`,
			},
		},
		"empty section": {
			body: "### Author Checklist\n\nNothing.\n\n" + string(good[strings.Index(string(good), "### Reviewer"):]),
			want: []string{
				`line 1: Author Checklist: section has no boxes`,
				`line 1: Author Checklist: missing item "Do the changes implement the correct feature?"`,
				`line 1: Author Checklist: missing item "Did you implement and update your Unit Tests?"`,
				`line 1: Author Checklist: missing item "Does a build from the Cmd Line Pass?"`,
				`line 1: Author Checklist: missing item "Has the author tested changes?"`,
			},
		},
		"only optional boxes": {
			body: "## QA\n- [ ] N/A: load test\n- [ ] ~~Soak test~~\n",
			cfg:  &Config{Checklists: []Checklist{{Name: "QA"}}, OptionalMarkers: []string{"N/A"}},
			want: []string{`line 1: QA: every box in the section is optional`},
		},
		"duplicate section": {
			body: string(good) + "\n## Notes\n\n**Author Checklist**\n- [ ] Has the author tested changes?\n",
			want: []string{`line 17: Author Checklist: heading "Author Checklist" appears again (first at line 3); keep one section`},
		},
		"extra box not allowed": {
			body: string(good[:strings.Index(string(good), "### Reviewer")]) + "- [ ] Checked the migration guide\n\n" +
				string(good[strings.Index(string(good), "### Reviewer"):]),
			cfg: strict,
			want: []string{
				`line 9: Author Checklist: box "Checked the migration guide" is not a configured item, and allow_extra_items is false`,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg == nil {
				cfg = DefaultConfig()
			}
			got := CheckTemplate(Parse([]byte(tc.body)), cfg)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := CheckTemplate(nil, nil); len(got) != 2 {
		t.Errorf("CheckTemplate(nil, nil) = %q, want two missing sections", got)
	}
}
