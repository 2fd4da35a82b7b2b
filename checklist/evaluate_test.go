package checklist

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// goldenResult is what the eval golden files record of a Result.
type goldenResult struct {
	Name         string       `json:"name"`
	Status       string       `json:"status"`
	HeadingLine  int          `json:"heading_line,omitempty"`
	Select       int          `json:"select,omitempty"`
	Ticked       int          `json:"ticked"`
	Total        int          `json:"total"`
	Items        []goldenItem `json:"items"`
	MissingItems []string     `json:"missing_items"`
	ExtraItems   []string     `json:"extra_items"`
}

type goldenItem struct {
	Line     int    `json:"line"`
	Text     string `json:"text"`
	Checked  bool   `json:"checked"`
	Optional bool   `json:"optional"`
	Counted  bool   `json:"counted"`
	Key      string `json:"key"`
	Reason   string `json:"reason,omitempty"`
}

func goldenResults(rs []Result) []goldenResult {
	out := make([]goldenResult, len(rs))
	for i, r := range rs {
		g := goldenResult{
			Name: r.Checklist.Name, Status: r.Status.String(), Ticked: r.Ticked, Total: r.Total, Select: r.Select,
			Items: []goldenItem{}, MissingItems: nonNil(r.MissingItems), ExtraItems: nonNil(r.ExtraItems),
		}
		if r.Heading != nil {
			g.HeadingLine = r.Heading.Line
		}
		for _, it := range r.Items {
			g.Items = append(g.Items, goldenItem{
				Line: it.Line, Text: it.Text, Checked: it.Checked, Optional: it.Optional,
				Counted: it.Counted, Key: strings.ReplaceAll(it.Key, keySep, " | "), Reason: it.Reason,
			})
		}
		out[i] = g
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestEvaluateGolden evaluates every testdata/eval/*.md, with the .yml
// beside it as config when there is one (DefaultConfig otherwise) and no
// attribution facts, against the .json beside it.
func TestEvaluateGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/eval/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no eval cases: %v", err)
	}
	for _, file := range files {
		base := strings.TrimSuffix(file, ".md")
		t.Run(filepath.Base(base), func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			if data, err := os.ReadFile(base + ".yml"); err == nil {
				if cfg, err = ParseConfig(base+".yml", data); err != nil {
					t.Fatal(err)
				}
			}
			rs := Evaluate(Parse(body), cfg, nil)
			checkInvariants(t, rs, nil)
			got, err := json.MarshalIndent(goldenResults(rs), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, base+".json", append(got, '\n'))
		})
	}
}

// checkInvariants checks what must hold of any evaluation.
func checkInvariants(t *testing.T, rs []Result, facts *Facts) {
	t.Helper()
	for _, r := range rs {
		ticked, total := 0, 0
		for _, it := range r.Items {
			var rec Tick
			var ok bool
			if facts != nil {
				rec, ok = facts.Ticks[it.Key]
			}
			reviewTick := ok && rec.Review && rec.Checked
			if it.Counted && !it.Checked && !reviewTick {
				t.Errorf("%s: %q counted but neither checked nor ticked in a review", r.Checklist.Name, it.Text)
			}
			if it.Counted != (it.Reason == "") && !(it.Optional && !it.Checked && !reviewTick) {
				t.Errorf("%s: %q counted=%v with reason %q", r.Checklist.Name, it.Text, it.Counted, it.Reason)
			}
			if !strings.HasPrefix(it.Key, r.Checklist.Name+keySep) {
				t.Errorf("%s: key %q lacks the checklist name", r.Checklist.Name, it.Key)
			}
			if !it.Optional {
				total++
				if it.Counted {
					ticked++
				}
			}
		}
		if r.Ticked != ticked || r.Total != total || r.Ticked > r.Total {
			t.Errorf("%s: ticked/total %d/%d, items say %d/%d", r.Checklist.Name, r.Ticked, r.Total, ticked, total)
		}
		body := r.Checklist.Scope == BodyScope
		present := r.Heading != nil || body
		counts := total > 0 && ticked == total
		switch {
		case r.Select != r.Checklist.Select:
			t.Errorf("%s: select %d, configured %d", r.Checklist.Name, r.Select, r.Checklist.Select)
		case r.Select > 0:
			counts = ticked == r.Select
		case body:
			counts = ticked == total // nothing asked is nothing missing
		}
		complete := present && counts && len(r.MissingItems) == 0 && len(r.ExtraItems) == 0
		if (r.Status == Complete) != complete {
			t.Errorf("%s: status %v, but complete=%v", r.Checklist.Name, r.Status, complete)
		}
		if (r.Status == Missing) != !present || body && r.Heading != nil {
			t.Errorf("%s: status %v with heading %v", r.Checklist.Name, r.Status, r.Heading)
		}
		keys := map[string]bool{}
		for _, it := range r.Items {
			if keys[it.Key] {
				t.Errorf("%s: key %q repeated", r.Checklist.Name, it.Key)
			}
			keys[it.Key] = true
		}
	}
}

func TestStatusString(t *testing.T) {
	tests := map[Status]string{Missing: "missing", Incomplete: "incomplete", Complete: "complete", Status(9): "Status(9)"}
	for s, want := range tests {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestEvaluateCRLF(t *testing.T) {
	lf, _ := os.ReadFile("testdata/eval/partial.md")
	crlf := strings.ReplaceAll(string(lf), "\n", "\r\n")
	want := Evaluate(Parse(lf), nil, nil)
	got := Evaluate(Parse([]byte(crlf)), nil, nil)
	if !reflect.DeepEqual(goldenResults(got), goldenResults(want)) {
		t.Errorf("CRLF body judged differently:\n%+v\nwant\n%+v", got, want)
	}
	if got[0].Ticked != 3 || got[0].Total != 4 {
		t.Errorf("author checklist %d/%d, want 3/4", got[0].Ticked, got[0].Total)
	}
}

func TestEvaluateNilInputs(t *testing.T) {
	rs := Evaluate(nil, nil, nil)
	if len(rs) != 2 || rs[0].Status != Missing || rs[1].Status != Missing {
		t.Errorf("Evaluate(nil, nil, nil) = %+v, want two missing checklists", rs)
	}
	// A Config built in Go may leave heading and ticked_by empty.
	cfg := &Config{Checklists: []Checklist{{Name: "Docs"}}}
	rs = Evaluate(Parse([]byte("## Docs\n- [x] Updated\n")), cfg, &Facts{Author: "amy"})
	if rs[0].Status != Complete || rs[0].Checklist.Heading != "Docs" || rs[0].Checklist.TickedBy != Anyone {
		t.Errorf("got %+v", rs[0])
	}
}

func TestStripMarker(t *testing.T) {
	markers := []string{"N/A", "OPTIONAL", "POST-MERGE", "Ωptional"}
	tests := map[string]struct {
		in     string
		rest   string
		marked bool
	}{
		"colon":               {"N/A: Migrations", ": Migrations", true},
		"lower case":          {"n/a - Migrations", " - Migrations", true},
		"space":               {"OPTIONAL Update docs", " Update docs", true},
		"alone":               {"N/A", "", true},
		"punctuation":         {"post-merge. Deploy", ". Deploy", true},
		"leading space":       {"  optional: x", ": x", true},
		"word continues":      {"Optionally bump", "Optionally bump", false},
		"letter after marker": {"N/Ab", "N/Ab", false},
		"digit after marker":  {"N/A2 x", "N/A2 x", false},
		"not at start":        {"Docs: N/A", "Docs: N/A", false},
		"in parentheses":      {"(N/A) x", "(N/A) x", false},
		"unicode fold":        {"ωPTIONAL: x", ": x", true},
		"empty":               {"", "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rest, marked := stripMarker(tc.in, markers)
			if rest != tc.rest || marked != tc.marked {
				t.Errorf("stripMarker(%q) = %q, %v; want %q, %v", tc.in, rest, marked, tc.rest, tc.marked)
			}
		})
	}
	if _, marked := stripMarker("anything", []string{""}); marked {
		t.Error("an empty marker matched")
	}
}

func TestEvaluateCustomMarkers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OptionalMarkers = []string{"Skip"}
	body := "## Author Checklist\n- [x] Do the changes implement the correct feature?\n- [x] Did you implement and update your Unit Tests?\n" +
		"- [ ] skip: Does a build from the Cmd Line Pass?\n- [ ] N/A: Has the author tested changes?\n"
	r := Evaluate(Parse([]byte(body)), cfg, nil)[0]
	if !r.Items[2].Optional || r.Items[3].Optional {
		t.Errorf("optional = %v, %v; want true, false (N/A is not a marker here)", r.Items[2].Optional, r.Items[3].Optional)
	}
	// "N/A: Has the author tested changes?" is not the template item
	// "Has the author tested changes?" when N/A is not a marker.
	if r.Ticked != 2 || r.Total != 3 || !reflect.DeepEqual(r.MissingItems, []string{"Has the author tested changes?"}) {
		t.Errorf("got %d/%d missing %q", r.Ticked, r.Total, r.MissingItems)
	}
}

const attributionBody = `## Author Checklist
- [x] Do the changes implement the correct feature?
- [x] Did you implement and update your Unit Tests?
- [x] Does a build from the Cmd Line Pass?
- [ ] Has the author tested changes?

## Reviewer Checklist
- [x] Do the changes implement the correct functionality?
- [x] Are there a sufficient amount of Unit Tests included?
- [ ] Does the file's code-style and inline comments meet standards?
- [x] Are the commit messages appropriate?
`

func authorKey(text string) string   { return "Author Checklist" + keySep + Normalize(text) }
func reviewerKey(text string) string { return "Reviewer Checklist" + keySep + Normalize(text) }

// TestEvaluateAttribution covers every reason a tick does not count. Each
// case judges one item of attributionBody against one ledger record.
func TestEvaluateAttribution(t *testing.T) {
	push := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	before, after := push.Add(-time.Minute), push.Add(time.Minute)
	const (
		feature   = "Do the changes implement the correct feature?"
		tested    = "Has the author tested changes?"
		function  = "Do the changes implement the correct functionality?"
		codeStyle = "Does the file's code-style and inline comments meet standards?"
	)
	good := Tick{Checked: true, By: "rob", At: after, CanWrite: true}
	with := func(mod func(*Tick)) *Tick { t := good; mod(&t); return &t }
	tests := map[string]struct {
		checklist int // 0 author, 1 reviewer
		text      string
		rec       *Tick // nil: no record
		reset     time.Time
		author    string
		counted   bool
		by        string
		reason    string
	}{
		"author: ticked by the author": {
			text: feature, rec: with(func(t *Tick) { t.By = "amy" }), counted: true, by: "amy",
		},
		"author: login compared case-insensitively": {
			text: feature, rec: with(func(t *Tick) { t.By = "AMY" }), counted: true, by: "AMY",
		},
		"author: ticked by someone else": {
			text: feature, rec: &good, by: "rob", reason: "ticked by @rob, not the author",
		},
		"author: no record": {
			text: feature, reason: "no record of who ticked it: untick and tick again",
		},
		"author: record says unticked": {
			text: feature, rec: with(func(t *Tick) { t.By = "amy"; t.Checked = false }), by: "amy",
			reason: "no record of who ticked it: untick and tick again",
		},
		"author: record without a login": {
			text: feature, rec: with(func(t *Tick) { t.By = "" }),
			reason: "no record of who ticked it: untick and tick again",
		},
		"author: unknown pull request author": {
			text: feature, rec: with(func(t *Tick) { t.By = "amy" }), author: "-", by: "amy",
			reason: "ticked by @amy, but the pull request's author is unknown",
		},
		"author: unticked in the body": {
			text: tested, rec: with(func(t *Tick) { t.By = "amy" }), by: "amy", reason: "not ticked",
		},
		"author: a review tick by someone else does not count": {
			text: tested, rec: with(func(t *Tick) { t.Review = true }), by: "rob", reason: "ticked by @rob, not the author",
		},
		"reviewer: ticked by a writer": {
			checklist: 1, text: function, rec: &good, counted: true, by: "rob",
		},
		"reviewer: ticked by the author": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.By = "Amy" }), by: "Amy", reason: "ticked by @Amy, the author",
		},
		"reviewer: ticked by a bot": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.By = "helper"; t.Bot = true }), by: "helper",
			reason: "ticked by @helper, a bot",
		},
		"reviewer: bot login without the bot flag": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.By = "renovate[bot]" }), by: "renovate[bot]",
			reason: "ticked by @renovate[bot], a bot",
		},
		"reviewer: ticked by someone without write access": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.CanWrite = false }), by: "rob",
			reason: "ticked by @rob, who lacks write access",
		},
		"reviewer: no record": {
			checklist: 1, text: function, reason: "no record of who ticked it: untick and tick again",
		},
		"reviewer: record says unticked": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.Checked = false }), by: "rob",
			reason: "no record of who ticked it: untick and tick again",
		},
		"reviewer: unknown pull request author": {
			checklist: 1, text: function, rec: &good, author: "-", by: "rob", reason: "ticked by @rob, but the pull request's author is unknown",
		},
		"reviewer: ticked before the latest push": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.At = before }), reset: push, by: "rob",
			reason: "ticked by @rob before the latest push: do it again",
		},
		"reviewer: ticked at the latest push": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.At = push }), reset: push, counted: true, by: "rob",
		},
		"reviewer: ticked after the latest push": {
			checklist: 1, text: function, rec: &good, reset: push, counted: true, by: "rob",
		},
		"reviewer: tick time unknown with a reset": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.At = time.Time{} }), reset: push, by: "rob",
			reason: "ticked by @rob before the latest push: do it again",
		},
		"reviewer: old tick without a reset": {
			checklist: 1, text: function, rec: with(func(t *Tick) { t.At = before }), counted: true, by: "rob",
		},
		"reviewer: review tick of an unticked box": {
			checklist: 1, text: codeStyle, rec: with(func(t *Tick) { t.Review = true }), counted: true, by: "rob",
		},
		"reviewer: review untick of an unticked box": {
			checklist: 1, text: codeStyle, rec: with(func(t *Tick) { t.Review = true; t.Checked = false }), by: "rob",
			reason: "not ticked",
		},
		"reviewer: body tick of an unticked box does not count": {
			checklist: 1, text: codeStyle, rec: &good, by: "rob", reason: "not ticked",
		},
		"reviewer: review tick by the author": {
			checklist: 1, text: codeStyle, rec: with(func(t *Tick) { t.Review = true; t.By = "amy" }), by: "amy",
			reason: "ticked by @amy, the author",
		},
		"reviewer: review tick before the latest push": {
			checklist: 1, text: codeStyle, rec: with(func(t *Tick) { t.Review = true; t.At = before }), reset: push, by: "rob",
			reason: "ticked by @rob before the latest push: do it again",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			key := authorKey(tc.text)
			if tc.checklist == 1 {
				key = reviewerKey(tc.text)
			}
			facts := &Facts{Author: "amy", Ticks: map[string]Tick{}, ResetAt: tc.reset, Contributors: map[string]bool{"amy": true}}
			switch tc.author {
			case "-":
				facts.Author = ""
			case "":
			default:
				facts.Author = tc.author
			}
			if tc.rec != nil {
				facts.Ticks[key] = *tc.rec
			}
			rs := Evaluate(Parse([]byte(attributionBody)), DefaultConfig(), facts)
			checkInvariants(t, rs, facts)
			var got *ItemResult
			for i := range rs[tc.checklist].Items {
				if it := &rs[tc.checklist].Items[i]; it.Key == key {
					got = it
				}
			}
			if got == nil {
				t.Fatalf("no item with key %q", key)
			}
			if got.Counted != tc.counted || got.By != tc.by || got.Reason != tc.reason {
				t.Errorf("counted=%v by=%q reason=%q; want counted=%v by=%q reason=%q",
					got.Counted, got.By, got.Reason, tc.counted, tc.by, tc.reason)
			}
		})
	}
}

// TestEvaluateAttributionComplete checks whole-checklist outcomes with a
// full ledger: the reviewer completes the Reviewer Checklist partly in the
// body and partly in an approving review.
func TestEvaluateAttributionComplete(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	facts := &Facts{Author: "amy", Ticks: map[string]Tick{}, Contributors: map[string]bool{"amy": true}}
	cfg := DefaultConfig()
	for _, text := range cfg.Checklists[0].Items[:3] {
		facts.Ticks[authorKey(text)] = Tick{Checked: true, By: "amy", At: at}
	}
	for _, text := range cfg.Checklists[1].Items {
		facts.Ticks[reviewerKey(text)] = Tick{Checked: true, By: "rob", At: at, CanWrite: true}
	}
	codeStyle := reviewerKey("Does the file's code-style and inline comments meet standards?")
	facts.Ticks[codeStyle] = Tick{Checked: true, By: "rob", At: at, CanWrite: true, Review: true}

	rs := Evaluate(Parse([]byte(attributionBody)), cfg, facts)
	checkInvariants(t, rs, facts)
	if rs[0].Status != Incomplete || rs[0].Ticked != 3 || rs[0].Total != 4 {
		t.Errorf("author: %v %d/%d, want incomplete 3/4", rs[0].Status, rs[0].Ticked, rs[0].Total)
	}
	if rs[1].Status != Complete || rs[1].Ticked != 4 {
		t.Errorf("reviewer: %v %d/%d, want complete 4/4", rs[1].Status, rs[1].Ticked, rs[1].Total)
	}

	// The same ticks, but the author ticked a reviewer box: fail closed.
	facts.Ticks[reviewerKey("Are the commit messages appropriate?")] = Tick{Checked: true, By: "amy", At: at, CanWrite: true}
	rs = Evaluate(Parse([]byte(attributionBody)), cfg, facts)
	if rs[1].Status != Incomplete || rs[1].Ticked != 3 {
		t.Errorf("reviewer with an author tick: %v %d/%d, want incomplete 3/4", rs[1].Status, rs[1].Ticked, rs[1].Total)
	}

	// Without facts, the body's ticks stand as they are.
	rs = Evaluate(Parse([]byte(attributionBody)), cfg, nil)
	if rs[1].Ticked != 3 || rs[1].Items[0].By != "" {
		t.Errorf("without facts: %d ticked, by %q", rs[1].Ticked, rs[1].Items[0].By)
	}
}

func TestEvaluateAnyoneWithFacts(t *testing.T) {
	cfg := &Config{Checklists: []Checklist{{Name: "QA", TickedBy: Anyone, AllowExtraItems: true}}}
	body := "## QA\n- [x] Smoke test\n- [ ] Load test\n"
	facts := &Facts{Author: "amy", Ticks: map[string]Tick{
		"QA" + keySep + "load test": {Checked: true, By: "bot[bot]", Bot: true, Review: true},
	}}
	r := Evaluate(Parse([]byte(body)), cfg, facts)[0]
	checkInvariants(t, []Result{r}, facts)
	// Anyone's tick counts, including one with no record and a bot's review tick.
	if r.Status != Complete || !r.Items[0].Counted || !r.Items[1].Counted || r.Items[1].By != "bot[bot]" {
		t.Errorf("got %+v", r)
	}
	// An unknown role counts nothing.
	cfg.Checklists[0].TickedBy = "owner"
	r = Evaluate(Parse([]byte(body)), cfg, facts)[0]
	if r.Status != Incomplete || r.Ticked != 0 || !strings.Contains(r.Items[0].Reason, `"owner"`) {
		t.Errorf("unknown role: %+v", r)
	}
}

// TestEvaluateBadInput: hostile bodies are evaluated without panic, and
// their invariants hold.
func TestEvaluateBadInput(t *testing.T) {
	var many strings.Builder
	many.WriteString("## Author Checklist\n")
	for i := range 5000 {
		fmt.Fprintf(&many, "- [x] item %d\n", i%50)
	}
	deep := "## Author Checklist\n" + strings.Repeat("> ", 1000) + "- [x] deep\n"
	// 1000 list items nested on one line; indenting each level on its own
	// line would make a 1 MB body, which the parser's own tests cover.
	nested := "## Author Checklist\n" + strings.Repeat("- ", 1000) + "[x] deep\n"
	big := strings.Repeat("## Author Checklist\n- [x] Has the author tested changes?\n", 1<<20/54)
	tests := map[string]string{
		"5000 items":       many.String(),
		"1000-deep quotes": deep,
		"1000-deep lists":  nested,
		"invalid utf-8":    "## Author Checklist\n- [x] \xff\xfe bad\n- [ ] \xc3\n",
		"nul bytes":        "## Author\x00 Checklist\n- [x] a\x00b\n",
		"1 MiB":            big,
		"65536 characters": strings.Repeat("x", 65536),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			facts := &Facts{Author: "amy", Ticks: map[string]Tick{}}
			rs := Evaluate(Parse([]byte(body)), DefaultConfig(), facts)
			checkInvariants(t, rs, facts)
			_ = Diff(Parse([]byte(body)), Parse([]byte(body+"\n- [ ] x\n")), nil)
			_ = CheckTemplate(Parse([]byte(body)), nil)
		})
	}
	// The 5000 items repeat 50 texts; each keeps its own key.
	rs := Evaluate(Parse([]byte(many.String())), DefaultConfig(), nil)
	if len(rs[0].Items) != 5000 || rs[0].Items[4999].Key != authorKey("item 49")+"#100" {
		t.Errorf("got %d items, last key %q", len(rs[0].Items), rs[0].Items[len(rs[0].Items)-1].Key)
	}
}

// benchBody builds a realistic PR body of about n bytes: a description,
// both default checklists, and extra ticked items to fill.
func benchBody(n int) []byte {
	var b strings.Builder
	b.WriteString("## Summary\n\nThis change reworks the **frobnicator** so that it `frobs` in O(n). See #123.\n\n")
	b.WriteString("```go\nfunc frob() {}\n```\n\n")
	for _, cl := range DefaultConfig().Checklists {
		fmt.Fprintf(&b, "## %s\n", cl.Name)
		for _, it := range cl.Items {
			fmt.Fprintf(&b, "- [x] %s\n", it)
		}
	}
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "- [x] Extra step %d: checked the _migration_ on [staging](https://example.com/%d)\n", i, i)
	}
	return []byte(b.String())
}

func BenchmarkEvaluate(b *testing.B) {
	cfg := DefaultConfig()
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"16KB", 16 << 10}, {"64KB", 64 << 10}} {
		body := benchBody(size.n)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rs := Evaluate(Parse(body), cfg, nil)
				if rs[0].Status != Complete {
					b.Fatal("benchmark body is not complete")
				}
			}
		})
	}
}

// BenchmarkEvaluateOnly isolates Evaluate from Parse, to tell which of the
// two a regression of BenchmarkEvaluate is in.
func BenchmarkEvaluateOnly(b *testing.B) {
	cfg := DefaultConfig()
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"16KB", 16 << 10}, {"64KB", 64 << 10}} {
		body := benchBody(size.n)
		doc := Parse(body)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(doc, cfg, nil)
			}
		})
	}
}

// TestEvaluateWaivers: an item the body shows optional is optional only
// when its waiver was made by someone the checklist admits; otherwise it
// stays required and says who marked it.
func TestEvaluateWaivers(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const body = "## Author Checklist\n- [x] N/A: Has the author tested changes?\n\n" +
		"## Reviewer Checklist\n- [ ] ~~Are the commit messages appropriate?~~\n"
	aKey, rKey := authorKey("Has the author tested changes?"), reviewerKey("Are the commit messages appropriate?")
	writer := Tick{Checked: true, By: "rob", At: at, CanWrite: true}
	with := func(mod func(*Tick)) *Tick { t := writer; mod(&t); return &t }
	tests := map[string]struct {
		checklist    int // 0 author, 1 reviewer
		waiver       *Tick
		reset        time.Time
		allowContrib bool
		optional     bool
		reason       string // of the item, when required
	}{
		"reviewer item waived by a writer": {checklist: 1, waiver: &writer, optional: true},
		"reviewer item waived by the author": {checklist: 1, waiver: with(func(t *Tick) { t.By = "amy" }),
			reason: "not ticked; marked optional by @amy, the author"},
		"reviewer item waived by a reader": {checklist: 1, waiver: with(func(t *Tick) { t.CanWrite = false }),
			reason: "not ticked; marked optional by @rob, who lacks write access"},
		"reviewer item waived by a contributor": {checklist: 1, waiver: with(func(t *Tick) { t.By = "carl" }),
			reason: "not ticked; marked optional by @carl, who contributed to this PR"},
		"reviewer item waived by a contributor, contributors allowed": {checklist: 1, allowContrib: true,
			waiver: with(func(t *Tick) { t.By = "carl" }), optional: true},
		"reviewer item waived before the latest push": {checklist: 1, waiver: &writer, reset: at.Add(time.Second),
			reason: "not ticked; marked optional by @rob before the latest push: do it again"},
		"reviewer item with no waiver record": {checklist: 1,
			reason: "not ticked; marked optional with no record of who did it: remove the mark and add it again"},
		"reviewer item whose last record takes the waiver back": {checklist: 1, waiver: with(func(t *Tick) { t.Checked = false }),
			reason: "not ticked; marked optional with no record of who did it: remove the mark and add it again"},
		"author item waived by the author": {waiver: with(func(t *Tick) { t.By = "amy" }), optional: true},
		"author item waived by a reviewer": {waiver: &writer, reason: "no record of who ticked it: untick and tick again; marked optional by @rob, not the author"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Checklists[1].AllowContributors = tc.allowContrib
			key := aKey
			if tc.checklist == 1 {
				key = rKey
			}
			facts := &Facts{Author: "amy", Ticks: map[string]Tick{}, Waivers: map[string]Tick{}, ResetAt: tc.reset,
				Contributors: map[string]bool{"amy": true, "carl": true}}
			if tc.waiver != nil {
				facts.Waivers[key] = *tc.waiver
			}
			rs := Evaluate(Parse([]byte(body)), cfg, facts)
			checkInvariants(t, rs, facts)
			it := rs[tc.checklist].Items[0]
			if it.Optional != tc.optional || (!tc.optional && it.Reason != tc.reason) {
				t.Errorf("optional=%v reason=%q; want optional=%v reason=%q", it.Optional, it.Reason, tc.optional, tc.reason)
			}
			if tc.waiver != nil && it.WaivedBy != tc.waiver.By {
				t.Errorf("waived by %q, want %q", it.WaivedBy, tc.waiver.By)
			}
			wantStatus := Incomplete
			if tc.optional && tc.checklist == 1 {
				wantStatus = Incomplete // the only item waived: no required box left
			}
			if rs[tc.checklist].Status != wantStatus {
				t.Errorf("status %v, want %v", rs[tc.checklist].Status, wantStatus)
			}
		})
	}

	// Without facts (checkoff check), the body's marks stand as they are.
	rs := Evaluate(Parse([]byte(body)), DefaultConfig(), nil)
	if !rs[0].Items[0].Optional || !rs[1].Items[0].Optional {
		t.Errorf("without facts: %+v", rs)
	}
	// A template item that is itself optional needs no waiver record.
	cfg := DefaultConfig()
	cfg.Checklists[1].Items = []string{"POST-MERGE: Deploy"}
	rs = Evaluate(Parse([]byte("## Reviewer Checklist\n- [ ] POST-MERGE: Deploy\n- [x] Reviewed\n")), cfg,
		&Facts{Author: "amy", Contributors: map[string]bool{"amy": true}, Ticks: map[string]Tick{reviewerKey("Reviewed"): writer}})
	if !rs[1].Items[0].Optional || rs[1].Status != Complete {
		t.Errorf("template-optional item: %+v", rs[1])
	}
}

// TestEvaluateReviewedHeads: a tick made in an approving review counts only
// for the commit that review approved (or one differing from it by
// "Update branch" merges, which the App lists in ReviewedHeads).
func TestEvaluateReviewedHeads(t *testing.T) {
	const body = "## Reviewer Checklist\n- [ ] Are the commit messages appropriate?\n"
	key := reviewerKey("Are the commit messages appropriate?")
	tests := map[string]struct {
		commit  string
		heads   map[string]bool
		counted bool
	}{
		"review of the head":                  {commit: "h2", heads: map[string]bool{"h2": true}, counted: true},
		"review of an update-branch ancestor": {commit: "h1", heads: map[string]bool{"h1": true, "h2": true}, counted: true},
		"review of an older head":             {commit: "h1", heads: map[string]bool{"h2": true}},
		"review of an unknown commit":         {commit: "", heads: map[string]bool{"h2": true}},
		"no commit rule":                      {commit: "h1", counted: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			facts := &Facts{Author: "amy", Contributors: map[string]bool{"amy": true}, ReviewedHeads: tc.heads, Ticks: map[string]Tick{
				key: {Checked: true, By: "rob", CanWrite: true, Review: true, Commit: tc.commit},
			}}
			rs := Evaluate(Parse([]byte(body)), DefaultConfig(), facts)
			checkInvariants(t, rs, facts)
			if it := rs[1].Items[0]; it.Counted != tc.counted {
				t.Errorf("counted=%v (%s), want %v", it.Counted, it.Reason, tc.counted)
			}
		})
	}
}

// TestEvaluateContributorsUnknown fails closed: with no contributor facts,
// no reviewer tick counts unless the checklist allows contributors.
func TestEvaluateContributorsUnknown(t *testing.T) {
	const body = "## Reviewer Checklist\n- [x] Reviewed\n"
	facts := &Facts{Author: "amy", Ticks: map[string]Tick{reviewerKey("Reviewed"): {Checked: true, By: "rob", CanWrite: true}}}
	cfg := DefaultConfig()
	if it := Evaluate(Parse([]byte(body)), cfg, facts)[1].Items[0]; it.Counted {
		t.Errorf("counted with contributors unknown")
	}
	cfg.Checklists[1].AllowContributors = true
	if it := Evaluate(Parse([]byte(body)), cfg, facts)[1].Items[0]; !it.Counted {
		t.Errorf("not counted with contributors allowed: %s", it.Reason)
	}
}

// TestEvaluateBotAuthor: a pull request a bot opened has its assignees as
// authors: their ticks count for author items, not for reviewer items, and
// the bot's own never count. Without an assignee nothing counts for the
// author checklist.
func TestEvaluateBotAuthor(t *testing.T) {
	const body = "## Author Checklist\n- [x] Has the author tested changes?\n\n## Reviewer Checklist\n- [x] Are the commit messages appropriate?\n"
	aKey, rKey := authorKey("Has the author tested changes?"), reviewerKey("Are the commit messages appropriate?")
	tests := map[string]struct {
		by        string
		assignees []string
		author    bool   // the author item counts
		reviewer  bool   // the reviewer item counts
		reason    string // of the author item, when it does not count
	}{
		"an assignee ticks":      {by: "amy", assignees: []string{"amy"}, author: true},
		"another assignee ticks": {by: "ann", assignees: []string{"amy", "ann"}, author: true},
		"the bot ticks":          {by: "copilot-swe-agent[bot]", assignees: []string{"amy"}, reason: "a bot never ticks"},
		"a writer ticks":         {by: "rob", assignees: []string{"amy"}, reviewer: true, reason: "not the author"},
		"no assignee":            {by: "amy", reviewer: true, reason: "assign the person responsible"},
		"an assignee reviews":    {by: "amy", assignees: []string{"amy"}, author: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tick := Tick{Checked: true, By: tc.by, CanWrite: true, Bot: strings.HasSuffix(tc.by, "[bot]")}
			facts := &Facts{Author: "copilot-swe-agent[bot]", BotAuthor: true, Authors: tc.assignees,
				Contributors: map[string]bool{"copilot-swe-agent[bot]": true},
				Ticks:        map[string]Tick{aKey: tick, rKey: tick}}
			rs := Evaluate(Parse([]byte(body)), DefaultConfig(), facts)
			checkInvariants(t, rs, facts)
			a, r := rs[0].Items[0], rs[1].Items[0]
			if a.Counted != tc.author || r.Counted != tc.reviewer {
				t.Errorf("author item counted=%v (%s), reviewer item counted=%v (%s)", a.Counted, a.Reason, r.Counted, r.Reason)
			}
			if tc.reason != "" && !strings.Contains(a.Reason, tc.reason) {
				t.Errorf("author item reason %q lacks %q", a.Reason, tc.reason)
			}
		})
	}
}

func TestKeyChecklist(t *testing.T) {
	rs := Evaluate(Parse([]byte("## Reviewer Checklist\n- [x] Ran it\n- [x] Ran it\n")), DefaultConfig(), nil)
	for _, it := range rs[1].Items {
		if got := KeyChecklist(it.Key); got != "Reviewer Checklist" {
			t.Errorf("KeyChecklist(%q) = %q", it.Key, got)
		}
	}
	if got := KeyChecklist("no separator"); got != "no separator" {
		t.Errorf("a key without a separator: %q", got)
	}
}
