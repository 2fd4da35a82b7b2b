package app

import (
	"bytes"
	"html"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goldenfile "github.com/checkoff-app/checkoff/internal/golden"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/checkoff-app/checkoff/checklist"
)

// judged parses body and evaluates it against the default config with
// facts, the way judge does.
func judged(t *testing.T, body string, facts *checklist.Facts) []checklist.Result {
	t.Helper()
	return checklist.Evaluate(checklist.Parse([]byte(body)), checklist.DefaultConfig(), facts)
}

func resultNamed(t *testing.T, rs []checklist.Result, name string) checklist.Result {
	t.Helper()
	for _, r := range rs {
		if r.Checklist.Name == name {
			return r
		}
	}
	t.Fatalf("no result %q", name)
	return checklist.Result{}
}

// key is the ledger key of a default item, as checklist computes it.
func key(t *testing.T, list, item string) string {
	t.Helper()
	body := "## " + list + "\n- [ ] " + item + "\n"
	r := resultNamed(t, judged(t, body, nil), list)
	if len(r.Items) != 1 {
		t.Fatalf("item %q not found", item)
	}
	return r.Items[0].Key
}

// golden compares got with the golden file at path, or rewrites it with
// -update: summaries are prose, read as a whole.
func golden(t *testing.T, path, got string) {
	t.Helper()
	goldenfile.Check(t, path, []byte(got))
}

// TestTitleAndSummary: a check run's title and summary, per kind of result,
// against testdata/summaries/*.golden.
func TestTitleAndSummary(t *testing.T) {
	const when = "2024-05-06T10:00:00Z"
	at, _ := time.Parse(time.RFC3339, when)
	a := checklist.DefaultConfig().Checklists[0].Items
	r := checklist.DefaultConfig().Checklists[1].Items
	allAuthor := "## Author Checklist\n- [x] " + strings.Join(a, "\n- [x] ") + "\n"
	for name, tc := range map[string]struct {
		body  string
		list  string
		facts *checklist.Facts
	}{
		"author complete": {
			body:  allAuthor,
			list:  "Author Checklist",
			facts: &checklist.Facts{Author: "alice", Ticks: ticks(t, "Author Checklist", a, "alice", at)},
		},
		"reviewer: every reason": {
			body: "## Reviewer Checklist\n- [x] " + r[0] + "\n- [x] " + r[1] + "\n- [x] " + r[2] + "\n- [ ] " + r[3] +
				"\n- [ ] N/A extra check\n- [ ] ~~waived by the author~~\n- [x] ticked by a contributor\n",
			list: "Reviewer Checklist",
			facts: &checklist.Facts{Author: "alice", Contributors: map[string]bool{"alice": true, "dave": true}, Ticks: map[string]checklist.Tick{
				key(t, "Reviewer Checklist", r[0]):                      {Checked: true, By: "bob", At: at, CanWrite: true},
				key(t, "Reviewer Checklist", r[1]):                      {Checked: true, By: "alice", At: at, CanWrite: true},
				key(t, "Reviewer Checklist", r[2]):                      {Checked: true, By: "carol", At: at},
				key(t, "Reviewer Checklist", "ticked by a contributor"): {Checked: true, By: "dave", At: at, CanWrite: true},
			}, Waivers: map[string]checklist.Tick{
				key(t, "Reviewer Checklist", "extra check"):          {Checked: true, By: "bob", At: at, CanWrite: true},
				key(t, "Reviewer Checklist", "waived by the author"): {Checked: true, By: "alice", At: at, CanWrite: true},
			}},
		},
		"section missing": {
			body:  allAuthor,
			list:  "Reviewer Checklist",
			facts: &checklist.Facts{Author: "alice"},
		},
		"items deleted": {
			body:  "## Author Checklist\nAll done, trust me.\n",
			list:  "Author Checklist",
			facts: &checklist.Facts{Author: "alice"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			res := resultNamed(t, judged(t, tc.body, tc.facts), tc.list)
			golden(t, filepath.Join("testdata", "summaries", strings.NewReplacer(" ", "_", ":", "").Replace(name)+".golden"),
				"title: "+title(res)+"\n--- summary\n"+summary(res))
		})
	}
}

// TestSummaryExtraItems: with allow_extra_items false, boxes not in the
// template are listed.
func TestSummaryExtraItems(t *testing.T) {
	cfg, err := checklist.ParseConfig(configPath, []byte("checklists:\n  - name: QA\n    items: [Smoke test]\n    allow_extra_items: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := checklist.Evaluate(checklist.Parse([]byte("## QA\n- [x] Smoke test\n- [x] Shipped *it*\n")), cfg, nil)
	if len(res) != 1 {
		t.Fatalf("results %v", res)
	}
	got := summary(res[0])
	want := "- ✅ Smoke test\n- ✅ Shipped it\n\n**Not in the template** (extra boxes are not allowed here):\n- Shipped it\n"
	if got != want {
		t.Errorf("summary\n got %q\nwant %q", got, want)
	}
	if c := conclusion(res[0].Status, cfg); c != "failure" {
		t.Errorf("conclusion %q", c)
	}
}

func ticks(t *testing.T, list string, items []string, by string, at time.Time) map[string]checklist.Tick {
	out := map[string]checklist.Tick{}
	for _, it := range items {
		out[key(t, list, it)] = checklist.Tick{Checked: true, By: by, At: at, CanWrite: true}
	}
	return out
}

// render turns a summary line into HTML the way github.com renders
// Markdown (CommonMark + GFM).
func render(t *testing.T, md string) string {
	t.Helper()
	var b bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(md), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var mention = regexp.MustCompile(`(^|[^\w])@[A-Za-z0-9]`)

// TestMdEscape: item text from the pull request body is shown as text in
// the check-run summary: no element, no entity and no mention survives.
func TestMdEscape(t *testing.T) {
	for name, text := range map[string]string{
		"mention":        "ask @octocat and @acme/security",
		"emphasis":       "**bold** and _em_ and *em*",
		"strikethrough":  "~~struck~~ and ~single~",
		"link":           "[click](/settings/tokens) and ![img](x.png) and [ref]",
		"html":           `<img src=x onerror=alert(1)> <a href="https://evil.example">x</a>`,
		"code":           "`rm -rf /`",
		"entity mention": "&#64;octocat &commat;octocat &#x40;octocat",
		"entity":         "&lt;b&gt; &amp;",
		"heading":        "# not a heading",
		"backslash":      `C:\path\*`,
		"reference":      "fixes #12",
	} {
		t.Run(name, func(t *testing.T) {
			out := render(t, "- "+mdEscape(text)+"\n")
			inner, ok := strings.CutPrefix(out, "<ul>\n<li>")
			inner, ok2 := strings.CutSuffix(inner, "</li>\n</ul>\n")
			if !ok || !ok2 {
				t.Fatalf("not one plain list item: %q", out)
			}
			if strings.Contains(inner, "<") {
				t.Errorf("markup survived: %q -> %q", text, inner)
			}
			shown := html.UnescapeString(inner)
			if m := mention.FindString(shown); m != "" {
				t.Errorf("mention survived: %q -> %q", text, shown)
			}
			if got := strings.ReplaceAll(shown, "\u200b", ""); got != text {
				t.Errorf("text not shown as written:\n got %q\nwant %q", got, text)
			}
		})
	}
}

// TestSummaryEscapesParsedItems runs a hostile body through Parse and
// Evaluate: what the parser hands on as displayed text must stay text.
func TestSummaryEscapesParsedItems(t *testing.T) {
	body := "## Author Checklist\n- [x] ping &amp;commat;octocat\n- [x] \\~\\~not struck\\~\\~\n- [x] \\<script\\>\n- [x] \\*\\*loud\\*\\*\n"
	res := resultNamed(t, judged(t, body, nil), "Author Checklist")
	out := render(t, summary(res))
	for _, bad := range []string{"<del>", "<script", "<strong>loud", "<em>"} {
		if strings.Contains(out, bad) {
			t.Errorf("summary renders %s:\n%s", bad, out)
		}
	}
	if m := mention.FindString(html.UnescapeString(out)); m != "" {
		t.Errorf("summary renders a mention %q:\n%s", m, out)
	}
}

func TestConclusion(t *testing.T) {
	for name, tc := range map[string]struct {
		status     checklist.Status
		configured string
		want       string
	}{
		"complete":                    {checklist.Complete, "", "success"},
		"complete, neutral otherwise": {checklist.Complete, "neutral", "success"},
		"incomplete, default":         {checklist.Incomplete, "", "failure"},
		"incomplete, failure":         {checklist.Incomplete, "failure", "failure"},
		"incomplete, action_required": {checklist.Incomplete, "action_required", "action_required"},
		"missing, neutral":            {checklist.Missing, "neutral", "neutral"},
		"missing, default":            {checklist.Missing, "", "failure"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := conclusion(tc.status, &checklist.Config{IncompleteConclusion: tc.configured}); got != tc.want {
				t.Errorf("conclusion = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSummaryTruncation(t *testing.T) {
	for name, tc := range map[string]struct {
		summary   string
		truncated bool
	}{
		"at the limit":          {strings.Repeat("a", maxSummary), false},
		"one over":              {strings.Repeat("a", maxSummary+1), true},
		"multibyte at the edge": {strings.Repeat("ä", maxSummary), true},
		"emoji":                 {strings.Repeat("- ✅ item\n", 10000), true},
	} {
		t.Run(name, func(t *testing.T) {
			o := CheckRun{Name: "X", HeadSHA: "abc", Conclusion: "failure", Summary: tc.summary}.options()
			got := o.GetOutput().GetSummary()
			if !utf8.ValidString(got) {
				t.Fatal("summary is not valid UTF-8")
			}
			if n := utf8.RuneCountInString(got); n > maxSummary || len(got) > maxSummary {
				t.Errorf("summary has %d characters, %d bytes; GitHub allows %d", n, len(got), maxSummary)
			}
			if tc.truncated != strings.HasSuffix(got, "… (truncated)") {
				t.Errorf("truncated = %v, want %v", !tc.truncated, tc.truncated)
			}
			if !tc.truncated && got != tc.summary {
				t.Error("summary changed though it fits")
			}
			if tc.truncated && !strings.HasPrefix(tc.summary, strings.TrimSuffix(got, "\n\n… (truncated)")) {
				t.Error("truncated summary is not a prefix of the original")
			}
		})
	}
}

func TestCheckRunOptions(t *testing.T) {
	at := time.Date(2024, 5, 6, 10, 0, 0, 0, time.UTC)
	o := CheckRun{Name: "Reviewer Checklist", HeadSHA: "abc", Conclusion: "failure", Title: "T", Summary: "S", Recheck: true, At: at}.options()
	if o.GetStatus() != "completed" || o.GetConclusion() != "failure" || !o.GetCompletedAt().Time.Equal(at) ||
		o.GetOutput().GetTitle() != "T" || o.GetOutput().GetSummary() != "S" {
		t.Errorf("options %+v", o)
	}
	if len(o.Actions) != 1 || o.Actions[0].Identifier != RecheckAction || len(o.Actions[0].Label) > 20 || len(o.Actions[0].Description) > 40 {
		t.Errorf("actions %+v (GitHub caps label at 20 and description at 40 characters)", o.Actions)
	}
	if o := (CheckRun{Name: "X", Conclusion: "success"}).options(); o.Actions != nil {
		t.Errorf("actions without Recheck: %+v", o.Actions)
	}
}

// TestTitleAndSummaryScopes renders a whole-body checklist and pick-N
// groups.
func TestTitleAndSummaryScopes(t *testing.T) {
	cfg, err := checklist.ParseConfig(configPath, []byte("checklists:\n  - name: Tasks\n    scope: body\n"+
		"  - name: Type of change\n    select: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		body    string
		list    int
		status  checklist.Status
		title   string
		summary string
	}{
		"body without a box": {
			body: "Fixes the login redirect.\n\n## Type of change\n- [x] Bug fix\n", list: 0, status: checklist.Complete,
			title:   "Tasks: no tasks",
			summary: "No tasks: the pull request body has no box outside the other checklists' sections.\n",
		},
		"body with tasks": {
			body: "- [x] Update the changelog\n- [ ] Tell support\n\n## Type of change\n- [x] Bug fix\n", list: 0, status: checklist.Incomplete,
			title:   "Tasks: 1 of 2 ticked",
			summary: "- ✅ Update the changelog\n- ⬜ Tell support — not ticked\n",
		},
		"pick one, one ticked": {
			body: "## Type of change\n- [x] Bug fix\n- [ ] New feature\n", list: 1, status: checklist.Complete,
			title:   "Type of change: pick exactly 1, 1 ticked",
			summary: "Exactly 1 picked.\n\n- ✅ Bug fix\n- ⬜ New feature\n",
		},
		"pick one, two ticked": {
			body: "## Type of change\n- [x] Bug fix\n- [x] New feature\n- [ ] Docs\n", list: 1, status: checklist.Incomplete,
			title:   "Type of change: pick exactly 1, 2 ticked",
			summary: "Pick exactly 1: 2 ticked.\n\n- ✅ Bug fix\n- ✅ New feature\n- ⬜ Docs\n",
		},
		"pick one, none ticked": {
			body: "## Type of change\n- [ ] Bug fix\n- [ ] New feature\n", list: 1, status: checklist.Incomplete,
			title:   "Type of change: pick exactly 1, 0 ticked",
			summary: "Pick exactly 1: 0 ticked.\n\n- ⬜ Bug fix\n- ⬜ New feature\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			res := checklist.Evaluate(checklist.Parse([]byte(tc.body)), cfg, nil)[tc.list]
			if res.Status != tc.status {
				t.Errorf("status %v, want %v", res.Status, tc.status)
			}
			if got := title(res); got != tc.title {
				t.Errorf("title\n got %q\nwant %q", got, tc.title)
			}
			if got := summary(res); got != tc.summary {
				t.Errorf("summary\n got %q\nwant %q", got, tc.summary)
			}
		})
	}
}

// TestResultRunDetailsURL: every checklist's check run links the page that
// explains the rule: details_url, or by default the README's "Who ticked".
func TestResultRunDetailsURL(t *testing.T) {
	custom, err := checklist.ParseConfig(configPath, []byte("details_url: https://wiki.example.com/checklists\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cfg  *checklist.Config
		want string
	}{
		"default":     {checklist.DefaultConfig(), "https://github.com/checkoff-app/checkoff#who-ticked"},
		"configured":  {custom, "https://wiki.example.com/checklists"},
		"built in Go": {&checklist.Config{Checklists: checklist.DefaultConfig().Checklists}, checklist.DefaultDetailsURL},
	} {
		t.Run(name, func(t *testing.T) {
			for _, r := range checklist.Evaluate(checklist.Parse(nil), tc.cfg, nil) {
				o := resultRun(r, tc.cfg, "abc", time.Time{}).options()
				if got := o.GetDetailsURL(); got != tc.want {
					t.Errorf("%s: details_url %q, want %q", r.Checklist.Name, got, tc.want)
				}
			}
		})
	}
	if o := (CheckRun{Name: "X", Conclusion: "success"}).options(); o.DetailsURL != nil {
		t.Errorf("details_url %q without DetailsURL", o.GetDetailsURL())
	}
}
