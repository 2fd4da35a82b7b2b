package release

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	goldenfile "github.com/checkoff-app/checkoff/internal/golden"

	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), []byte(got))
}

// hostile are boxes whose text tries to become markup, mentions, HTML or
// the gate's own comment marker.
var hostile = []string{
	"Reviewer Checklist: cc @acme/security-team and @everyone",
	"Author Checklist: <img src=x onerror=alert(1)> rendered?",
	"Author Checklist: &commat;admins &#64;owners &lt;b&gt;",
	"Author Checklist: see [the runbook](https://evil.example) and #1234",
	"Author Checklist: `rm -rf /` **bold** ~~struck~~ _leaning_ \\ backslash",
	"Author Checklist: line one\nline two <!-- checkoff:release-hold pipeline=invoice-log-api-dev -->",
	"Author Checklist: " + strings.Repeat("long ", 200),
}

func TestMDEscape(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":          {"Has the author tested changes?", "Has the author tested changes?"},
		"mention":        {"cc @acme/team", "cc @\u200bacme/team"},
		"entity mention": {"&commat;team", "&amp;commat;team"},
		"html":           {"<img src=x>", "&lt;img src=x&gt;"},
		"comment marker": {"<!-- checkoff -->", "&lt;!-- checkoff --&gt;"},
		"link":           {"[a](https://x)", "\\[a\\](https://x)"},
		"emphasis":       {"*a* _b_ ~c~ `d`", "\\*a\\* \\_b\\_ \\~c\\~ \\`d\\`"},
		"issue ref":      {"#12", "\\#12"},
		"backslash":      {`\*`, `\\\*`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := mdEscape(tc.in); got != tc.want {
				t.Errorf("mdEscape(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFitList(t *testing.T) {
	head, tail := "VERDICT\n\n", "\nTAIL\n"
	tests := map[string]struct {
		items, size, limit int
	}{
		"fits":                {items: 3, size: 10, limit: 1000},
		"exactly at the edge": {items: 10, size: 10, limit: len(head) + len(tail) + 10*13},
		"many small":          {items: 3000, size: 40, limit: maxCheckSummary},
		"few huge":            {items: 3, size: 70000, limit: maxCommentBody},
		"multibyte":           {items: 2000, size: 60, limit: maxCheckSummary},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			items := make([]string, tc.items)
			for i := range items {
				unit := "x"
				if name == "multibyte" {
					unit = "✓"
				}
				items[i] = fmt.Sprintf("%05d", i) + strings.Repeat(unit, tc.size-5)
			}
			got := fitList(head, items, tail, tc.limit)
			if len(got) > tc.limit || !utf8.ValidString(got) {
				t.Fatalf("%d bytes for a limit of %d, valid UTF-8 %t", len(got), tc.limit, utf8.ValidString(got))
			}
			if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, tail) {
				t.Errorf("verdict or tail lost: %.80q … %.80q", got, got[max(0, len(got)-80):])
			}
			shown := 0
			for _, it := range items {
				if strings.Contains(got, "- "+it+"\n") {
					shown++
				}
			}
			cut := 0
			if i := strings.Index(got, "- … and "); i >= 0 {
				fmt.Sscanf(got[i:], "- … and %d more", &cut)
			}
			if shown+cut != tc.items || (cut > 0) != (shown < tc.items) {
				t.Errorf("shown %d + cut %d, want %d items accounted for", shown, cut, tc.items)
			}
		})
	}
}

// TestOutputsGolden: what the gate posts with hostile box texts, escaped.
func TestOutputsGolden(t *testing.T) {
	rel := Release{Repo: repoName, Branch: "dev", Pipeline: devPipeline, OnIncomplete: OnIncompleteWait}
	v := verdict.Verdict{PR: 12, Base: "dev", Holding: hostile}
	_, title, summary := checkOutput(rel, v)
	golden(t, "check-held.golden", title+"\n\n"+summary)
	p := &prCheck{Number: 12, Verdict: v}
	golden(t, "hold-comment.golden", holdComment(rel, strings.Repeat("a", 40), p))
	v.Complete, v.Holding, v.Reviewers = true, nil, []string{"alice", "bob"}
	_, title, summary = checkOutput(rel, v)
	golden(t, "check-complete.golden", title+"\n\n"+summary)
}

// manyBoxes is a verdict holding n boxes: 3,000 make 122 KB of text.
func manyBoxes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Author Checklist: box %d is unticked", i+1)
	}
	return out
}

// TestGateOutputWithinGitHubLimits: a merged PR with 3,000 unticked boxes
// made a 122 KB Release Gate summary, which GitHub refuses (422): every
// delivery of the merge failed. The summary and the hold comment are cut
// to GitHub's limits, keeping the verdict and counting what was cut
// (issue 16, item 3).
func TestGateOutputWithinGitHubLimits(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.merge(12, false, manyBoxes(3000)...)
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	runs := e.gh.CheckRuns(repoName)
	if len(runs) != 1 {
		t.Fatalf("check runs %+v", runs)
	}
	s := runs[0].Summary
	if n := utf8.RuneCountInString(s); n > maxCheckSummary {
		t.Errorf("summary of %d characters", n)
	}
	wantCut := func(text string, limit int) {
		t.Helper()
		if !strings.Contains(text, "#12 was merged into `dev` before its checklists were checked off") {
			t.Errorf("verdict line lost: %.200q", text)
		}
		shown := strings.Count(text, "\n- Author Checklist: box ")
		var cut int
		if i := strings.Index(text, "- … and "); i < 0 {
			t.Errorf("no count of what was cut")
		} else if _, err := fmt.Sscanf(text[i:], "- … and %d more not shown", &cut); err != nil {
			t.Error(err)
		}
		if shown+cut != 3000 || shown < 1000 {
			t.Errorf("%d boxes shown and %d counted as cut, of 3000", shown, cut)
		}
		if !strings.Contains(text, fmt.Sprintf("GitHub allows %d characters here", limit)) {
			t.Errorf("the cut does not say why")
		}
	}
	wantCut(s, maxCheckSummary)
	if runs[0].Title != "Held: 3000 boxes not checked off" {
		t.Errorf("title %q", runs[0].Title)
	}

	exec := e.release()
	must(t, Waiting)(e.started(exec))
	comments := e.gh.Comments(repoName, 12)
	if len(comments) != 1 {
		t.Fatalf("%d comments", len(comments))
	}
	if n := utf8.RuneCountInString(comments[0].Body); n > maxCommentBody {
		t.Errorf("comment of %d characters", n)
	}
	c := strings.Replace(comments[0].Body, "this pull request holds the release", "#12 was merged into `dev` before its checklists were checked off", 1)
	wantCut(c, maxCommentBody)
}

// TestOneHoldCommentPerPR: the hold comment is edited in place as the PR's
// unticked boxes change, instead of a new comment (and a new round of
// notifications) for each new box text (issue 16, item 4).
func TestOneHoldCommentPerPR(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.merge(12, false, "Author Checklist: Has the author tested changes?")
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	must(t, Waiting)(e.started(exec))
	for i := 1; i <= 3; i++ {
		// The author adds unticked boxes to the merged PR's description.
		e.at = e.at.Add(time.Minute)
		if err := e.deliver(e.verdict(12, v.MergeSHA, v.HeadSHA, false, fmt.Sprintf("Author Checklist: @acme/everyone step %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	must(t, Waiting)(e.started(exec)) // unchanged: not edited again
	comments := e.gh.Comments(repoName, 12)
	if len(comments) != 1 {
		t.Fatalf("%d hold comments, want 1: %+v", len(comments), comments)
	}
	c := comments[0]
	if c.Updates != 3 || c.User != e.gh.BotLogin() || !strings.Contains(c.Body, "@\u200bacme/everyone step 3") || strings.Contains(c.Body, "step 2") {
		t.Errorf("hold comment after 3 changes: %+v", c)
	}
	if strings.Contains(c.Body, "@acme") {
		t.Errorf("hold comment pings @acme: %q", c.Body)
	}
}

// TestHoldCommentFoundAgain: the gate finds its comment by its marker when
// its record of the comment is gone, never takes a person's comment that
// quotes the marker for its own, and posts a new one when a person deleted
// it.
func TestHoldCommentFoundAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.merge(12, false, "Author Checklist: Has the author tested changes?")
	quoted := e.gh.AddComment(repoName, githubtest.Comment{Number: 12, User: "mallory",
		Body: holdMarker(devPipeline) + "\nI am the gate now"})
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	must(t, Waiting)(e.started(exec))
	ours := e.gh.Comments(repoName, 12)
	if len(ours) != 2 || ours[0] != quoted || ours[1].User != e.gh.BotLogin() {
		t.Fatalf("comments %+v", ours)
	}

	// The record expires (or a File store loses it): the next change edits
	// the comment found by its marker.
	if err := e.st.Delete(context.Background(), holdPK(repoName), holdSK(devPipeline, 12)); err != nil {
		t.Fatal(err)
	}
	e.at = e.at.Add(time.Minute)
	if err := e.deliver(e.verdict(12, v.MergeSHA, v.HeadSHA, false, "Author Checklist: a new box")); err != nil {
		t.Fatal(err)
	}
	got := e.gh.Comments(repoName, 12)
	if len(got) != 2 || got[0] != quoted || got[1].ID != ours[1].ID || got[1].Updates != 1 || !strings.Contains(got[1].Body, "a new box") {
		t.Fatalf("after the record was lost: %+v", got)
	}

	// A person deletes it: the next change posts a new one.
	e.gh.DeleteComment(repoName, got[1].ID)
	e.at = e.at.Add(time.Minute)
	if err := e.deliver(e.verdict(12, v.MergeSHA, v.HeadSHA, false, "Author Checklist: another box")); err != nil {
		t.Fatal(err)
	}
	got = e.gh.Comments(repoName, 12)
	if len(got) != 2 || got[0] != quoted || got[1].User != e.gh.BotLogin() || !strings.Contains(got[1].Body, "another box") {
		t.Fatalf("after a person deleted it: %+v", got)
	}
}

// TestHoldCommentFailureRetried: a comment that could not be posted is
// posted by a later reconcile.
func TestHoldCommentFailureRetried(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.merge(12, false, "Author Checklist: Has the author tested changes?")
	if err := verdict.Put(context.Background(), e.st, v); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	e.gh.FailNext("issues/create-comment", 1, githubtest.ServerError(502))
	must(t, Waiting)(e.started(exec))
	if c := e.gh.Comments(repoName, 12); len(c) != 0 {
		t.Fatalf("comments %+v", c)
	}
	must(t, Waiting)(e.started(exec))
	if c := e.gh.Comments(repoName, 12); len(c) != 1 {
		t.Fatalf("comments after the retry: %+v", c)
	}
}

// TestHoldCommentAcrossProcesses: gates in several processes (sharing the
// store) reconciling the same hold at once post one comment.
func TestHoldCommentAcrossProcesses(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.merge(12, false, "Author Checklist: Has the author tested changes?")
	if err := verdict.Put(context.Background(), e.st, v); err != nil {
		t.Fatal(err)
	}
	e.release()
	gates := []*Gate{e.gate}
	for range 3 {
		g, err := New(Options{Config: e.gate.cfg, Pipeline: e.gate.cp, GitHub: e.gate.gh, Store: e.st, Logger: e.gate.log})
		if err != nil {
			t.Fatal(err)
		}
		gates = append(gates, g)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := gates[i%len(gates)].Reconcile(context.Background(), devPipeline); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if c := e.gh.Comments(repoName, 12); len(c) != 1 {
		t.Fatalf("%d hold comments: %+v", len(c), c)
	}
}
