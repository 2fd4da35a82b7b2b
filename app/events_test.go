package app

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/checklist"
)

func TestSameStructure(t *testing.T) {
	const base = "Intro.\n\n## Author Checklist\n- [x] Tests\n- [ ] Docs\n\n## Reviewer Checklist\n- [ ] Read it\n"
	for name, tc := range map[string]struct {
		edited string
		same   bool
	}{
		"identical":               {base, true},
		"intro reworded":          {strings.Replace(base, "Intro.", "A longer intro.\n\nWith a second paragraph.", 1), true},
		"blank lines shift lines": {strings.ReplaceAll(base, "\n\n", "\n\n\n\n"), true},
		"box ticked":              {strings.Replace(base, "- [ ] Docs", "- [x] Docs", 1), false},
		"box unticked":            {strings.Replace(base, "- [x] Tests", "- [ ] Tests", 1), false},
		"item text changed":       {strings.Replace(base, "Docs", "Documentation", 1), false},
		"item struck":             {strings.Replace(base, "- [ ] Docs", "- [ ] ~~Docs~~", 1), false},
		"item nested":             {strings.Replace(base, "- [ ] Docs", "  - [ ] Docs", 1), false},
		"box added outside":       {"- [ ] todo\n\n" + base, false},
		"heading renamed":         {strings.Replace(base, "## Reviewer Checklist", "## Reviewer Checklist (v2)", 1), false},
		"heading level changed":   {strings.Replace(base, "## Reviewer Checklist", "### Reviewer Checklist", 1), false},
		// The same headings and boxes, but a box now sits under the other
		// heading: sections differ.
		"box moved across a heading": {"Intro.\n\n## Author Checklist\n- [x] Tests\n\n## Reviewer Checklist\n- [ ] Docs\n- [ ] Read it\n", false},
	} {
		t.Run(name, func(t *testing.T) {
			a, b := checklist.Parse([]byte(base)), checklist.Parse([]byte(tc.edited))
			if got := sameStructure(a, b); got != tc.same {
				t.Errorf("sameStructure = %v, want %v", got, tc.same)
			}
			if got := sameStructure(b, a); got != tc.same {
				t.Errorf("sameStructure reversed = %v, want %v", got, tc.same)
			}
			if tc.same {
				// Same structure must mean the same judgement under any facts.
				ra, rb := checklist.Evaluate(a, nil, nil), checklist.Evaluate(b, nil, nil)
				for i := range ra {
					if ra[i].Status != rb[i].Status || ra[i].Ticked != rb[i].Ticked || ra[i].Total != rb[i].Total {
						t.Errorf("same structure, different result for %s", ra[i].Checklist.Name)
					}
				}
			}
		})
	}
}

// syncWriter collects dry-run output.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// runs decodes the printed check runs.
func (w *syncWriter) runs(t *testing.T) []github.CreateCheckRunOptions {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []github.CreateCheckRunOptions
	for _, line := range strings.Split(strings.TrimSpace(w.b.String()), "\n") {
		if line == "" {
			continue
		}
		var p struct {
			Body github.CreateCheckRunOptions `json:"body"`
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		out = append(out, p.Body)
	}
	return out
}

// TestEditedWritesOnlyWhenAResultChanges drives App.Edited over the dry-run
// GitHub: edits that change no result print nothing.
func TestEditedWritesOnlyWhenAResultChanges(t *testing.T) {
	ctx := context.Background()
	out := &syncWriter{}
	a, _ := newTestApp(t, out)
	t0 := time.Date(2024, 5, 6, 9, 15, 2, 0, time.UTC)
	alice, bob := Actor{Login: "alice"}, Actor{Login: "bob"}
	pr := func(body string, at time.Time) PRState {
		return PRState{Owner: "acme", Repo: "api", Number: 7, HeadSHA: "abc", Base: "main", Author: "alice", Body: body, UpdatedAt: at}
	}
	b0 := "## Reviewer Checklist\n- [ ] Are the commit messages appropriate?\n"
	b1 := "## Reviewer Checklist\n- [x] Are the commit messages appropriate?\n"
	if err := a.Opened(ctx, pr(b0, t0), alice); err != nil {
		t.Fatal(err)
	}
	if n := len(out.runs(t)); n != 2 {
		t.Fatalf("opened printed %d runs", n)
	}
	for i, tc := range []struct {
		from, to string
		by       Actor
		posts    int
	}{
		{b0, "Intro\n\n" + b0, alice, 0},                              // text only
		{"Intro\n\n" + b0, "- [x] lunch\n\nIntro\n\n" + b0, alice, 0}, // a box outside any checklist
		{b0, b1, bob, 2},                 // a counted tick
		{b1, b1 + "\nThanks!", alice, 0}, // text only again
	} {
		before := len(out.runs(t))
		if err := a.Edited(ctx, pr(tc.to, t0.Add(time.Duration(i+1)*time.Minute)), tc.from, tc.by); err != nil {
			t.Fatal(err)
		}
		if got := len(out.runs(t)) - before; got != tc.posts {
			t.Errorf("edit %d posted %d runs, want %d", i, got, tc.posts)
		}
	}
	last := out.runs(t)
	if got := last[len(last)-1]; got.Name != "Reviewer Checklist" || got.GetOutput().GetTitle() != "Reviewer Checklist: 1 of 1 ticked" {
		t.Errorf("last run %s %q", got.Name, got.GetOutput().GetTitle())
	}
}

func TestChangedRuns(t *testing.T) {
	a := CheckRun{Name: "A", HeadSHA: "h", Conclusion: "success", Title: "A: 1 of 1 ticked", Summary: "s"}
	b := CheckRun{Name: "B", HeadSHA: "h", Conclusion: "failure", Title: "B: 0 of 1 ticked", Summary: "s"}
	b2 := b
	b2.Conclusion, b2.Title = "success", "B: 1 of 1 ticked"
	a2 := a
	a2.HeadSHA = "h2"
	a3 := a
	a3.At = time.Now() // the time alone is no change
	for name, tc := range map[string]struct {
		posted, now []CheckRun
		want        []string
	}{
		"same":             {[]CheckRun{a, b}, []CheckRun{a3, b}, nil},
		"one changed":      {[]CheckRun{a, b}, []CheckRun{a, b2}, []string{"B"}},
		"new head":         {[]CheckRun{a, b}, []CheckRun{a2, b}, []string{"A"}},
		"not posted":       {[]CheckRun{a}, []CheckRun{a, b}, []string{"B"}},
		"nothing posted":   {nil, []CheckRun{a, b}, []string{"A", "B"}},
		"nothing to judge": {[]CheckRun{a, b}, nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, r := range changedRuns(tc.posted, tc.now) {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("changedRuns = %v, want %v", got, tc.want)
			}
		})
	}
}
