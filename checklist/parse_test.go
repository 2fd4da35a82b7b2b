package checklist

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// The -update flag may already be declared by another test file of the
// package; declare it here only if not, so either file works alone.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// renderDoc is the compact text form of a Document used by the golden
// files: headings, items, then the items of each distinct heading's
// sections as Section returns them.
func renderDoc(d *Document) string {
	var b strings.Builder
	for _, h := range d.Headings {
		level := fmt.Sprintf("h%d", h.Level)
		switch {
		case h.Level == PseudoLevel:
			level = "bold"
		case h.Level == DetailsLevel && h.End == maxLine:
			level = "details-to-end"
		case h.Level == DetailsLevel:
			level = fmt.Sprintf("details-to-L%d", h.End)
		}
		fmt.Fprintf(&b, "heading L%d %s %q key=%q\n", h.Line, level, h.Text, h.Key)
	}
	for _, it := range d.Items {
		box := "[ ]"
		if it.Checked {
			box = "[x]"
		}
		struck := ""
		if it.Struck {
			struck = " struck"
		}
		fmt.Fprintf(&b, "item L%d d%d %s%s %q\n", it.Line, it.Depth, box, struck, it.Text)
	}
	seen := map[string]bool{}
	for _, h := range d.Headings {
		if seen[h.Key] || h.Key == "" {
			continue
		}
		seen[h.Key] = true
		items, at := d.Section(h.Text)
		var lines []string
		for _, it := range items {
			lines = append(lines, fmt.Sprintf("L%d", it.Line))
		}
		fmt.Fprintf(&b, "section %q at L%d: %s\n", h.Key, at.Line, strings.Join(lines, " "))
	}
	return b.String()
}

// compareGolden checks got against the golden file, or rewrites it under
// -update.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if updating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s mismatch\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestParseGolden parses every testdata/parse/*.md and compares the
// rendering with the .golden file beside it. Each body must also parse the
// same with CRLF and with lone-CR line endings.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/parse/*.md files")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".md")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc := Parse(body)
			compareGolden(t, strings.TrimSuffix(file, ".md")+".golden", []byte(renderDoc(doc)))

			lf := bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
			for ending, variant := range map[string][]byte{
				"CRLF": bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n")),
				"CR":   bytes.ReplaceAll(lf, []byte("\n"), []byte("\r")),
			} {
				if got := Parse(variant); !reflect.DeepEqual(got, doc) {
					t.Errorf("%s endings parse differently:\n%s\nwant\n%s", ending, renderDoc(got), renderDoc(doc))
				}
			}
		})
	}
}

// TestParseCases covers the rules golden files cannot hold (line endings,
// invalid bytes) and GitHub's table rules, in renderDoc form.
func TestParseCases(t *testing.T) {
	tests := map[string]struct {
		body string
		want string
	}{
		"empty": {"", ""},
		"blank": {" \n\t\n\n", ""},
		"crlf": {
			"## Author Checklist\r\n\r\n- [ ] a\r\n- [x] b\r\n",
			"heading L1 h2 \"Author Checklist\" key=\"author checklist\"\nitem L3 d0 [ ] \"a\"\nitem L4 d0 [x] \"b\"\nsection \"author checklist\" at L1: L3 L4\n",
		},
		"lone cr and mixed endings": {
			"## Author Checklist\r\r- [ ] a\n- [x] b\r\n- [ ] c\r",
			"heading L1 h2 \"Author Checklist\" key=\"author checklist\"\nitem L3 d0 [ ] \"a\"\nitem L4 d0 [x] \"b\"\nitem L5 d0 [ ] \"c\"\nsection \"author checklist\" at L1: L3 L4 L5\n",
		},
		"nul bytes": {
			"## Author\x00Checklist\n- [ ] a\x00b\n\x00- [x] c\n",
			"heading L1 h2 \"Author\uFFFDChecklist\" key=\"author\uFFFDchecklist\"\nitem L2 d0 [ ] \"a\uFFFDb \uFFFD- [x] c\"\nsection \"author\uFFFDchecklist\" at L1: L2\n",
		},
		"invalid utf-8": {
			"- [x] \xff\xfe ok \xc3\n- [ ] caf\xc3\xa9\n",
			"item L1 d0 [x] \"\uFFFD\uFFFD ok \uFFFD\"\nitem L2 d0 [ ] \"café\"\n",
		},
		"byte-order mark": {
			"\uFEFF## Author Checklist\n- [ ] a\n",
			"heading L1 h2 \"Author Checklist\" key=\"author checklist\"\nitem L2 d0 [ ] \"a\"\nsection \"author checklist\" at L1: L2\n",
		},
		"closing hashes and inline html in a heading": {
			"## Author <em>Checklist</em> ##\n",
			"heading L1 h2 \"Author Checklist\" key=\"author checklist\"\nsection \"author checklist\" at L1: \n",
		},
		"a link definition does not make a box a link": {
			"[x]: https://example.com\n\n- [x] done\n",
			"item L3 d0 [x] \"done\"\n",
		},
		"tabs around the box": {
			"-\t[x]\tdone\n",
			"item L1 d0 [x] \"done\"\n",
		},
		"table ends at an ordered list": {
			"| a |\n| - |\n| b |\n2. [ ] after\n   - [x] nested\n",
			"item L4 d0 [ ] \"after\"\nitem L5 d1 [x] \"nested\"\n",
		},
		"table ends at an empty item": {
			"| a |\n| - |\n-\n  - [x] under it\n",
			"item L4 d1 [x] \"under it\"\n",
		},
		"table ends at indented code": {
			"| a |\n| - |\n    - [ ] code\n",
			"",
		},
		"table in a list item ends at an ordered list": {
			"- [ ] a\n\n  | b |\n  | - |\n  3. [x] c\n",
			"item L1 d0 [ ] \"a\"\nitem L5 d1 [x] \"c\"\n",
		},
		"no table when header and delimiter cells differ": {
			"- [x] a\n| - | - |\n",
			"item L1 d0 [x] \"a | - | - |\"\n",
		},
		"no table from a lazy delimiter row": {
			"- [x] a\n| b |\n| - |\n",
			"item L1 d0 [x] \"a | b | | - |\"\n",
		},
		"=== under a table is a row": {
			"| a |\n| - |\n===\n2. [ ] b\n",
			"item L4 d0 [ ] \"b\"\n",
		},
		"no setext heading from a line above a table": {
			"**Author Checklist**\n| a |\n| - |\n| b |\n===\n",
			"heading L1 bold \"Author Checklist\" key=\"author checklist\"\nsection \"author checklist\" at L1: \n",
		},
		"over-indented dashes are no table delimiter": {
			"- [x] a\n        ---\n  2. [ ] b\n  ---\n",
			"",
		},
		"unbalanced link destinations stay text": {
			"- [ ] " + strings.Repeat("[a](", 100) + "\n- [x] " + strings.Repeat("[a](<", 50) + "\n",
			"item L1 d0 [ ] \"" + strings.Repeat("[a](", 100) + "\"\nitem L2 d0 [x] \"" + strings.Repeat("[a](<", 50) + "\"\n",
		},
		"bare URLs are text; emphasis inside one is emphasis (github.com keeps it, see mdParser)": {
			"- [ ] see https://example.com/a_b and https://example.com/__init__.py\n",
			"item L1 d0 [ ] \"see https://example.com/a_b and https://example.com/init.py\"\n",
		},
		"links within the limits still resolve": {
			"- [ ] [a](x(((y))))\n- [x] [b](<u v> \"t\")\n",
			"item L1 d0 [ ] \"a\"\nitem L2 d0 [x] \"b\"\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := renderDoc(Parse([]byte(tc.body))); got != tc.want {
				t.Errorf("Parse(%q):\n%s\nwant\n%s", tc.body, got, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":                {"Author Checklist", "author checklist"},
		"surrounding emoji":    {"✅ Author Checklist 🚀", "author checklist"},
		"zwj sequence":         {"👩‍💻️ Reviewer Checklist", "reviewer checklist"},
		"flag":                 {"🇩🇪 Checklist", "checklist"},
		"keycap keeps digit":   {"1️⃣ Checklist", "1️⃣ checklist"},
		"punctuation":          {"**Reviewer Checklist:**", "reviewer checklist"},
		"inner punctuation":    {"Does the file's code-style meet standards?", "does the file's code-style meet standards"},
		"whitespace runs":      {"  Author \t\n Checklist  ", "author checklist"},
		"unicode spaces":       {"Author\u00a0\u2003Checklist", "author checklist"},
		"simple folding":       {"ſtraße ΣΊΣΥΦΟΣ K", "straße σίσυφοσ k"},
		"only decoration":      {" ✅ -- !! ", ""},
		"empty":                {"", ""},
		"invalid utf-8":        {"a\xffb", "a\uFFFDb"},
		"inner emoji kept":     {"ship ✅ it", "ship ✅ it"},
		"variation selector":   {"Checklist\uFE0F", "checklist"},
		"optional marker kept": {"N/A: docs", "n/a: docs"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Normalize(tc.in)
			if got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := Normalize(got); again != got {
				t.Errorf("Normalize is not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestSection(t *testing.T) {
	doc := Parse([]byte(`- [ ] before any heading

## Author Checklist

- [x] a1
### Sub
- [ ] a2

**Reviewer Checklist**
- [ ] r1

**Other bold**
- [ ] o1

## ✅ author checklist:
- [ ] a3
# Top
- [x] t1
`))
	tests := map[string]struct {
		heading string
		lines   []int
		at      int // line of the first matching heading; 0 for none
	}{
		"two sections, lower headings inside": {"Author Checklist", []int{5, 7, 10, 13, 16}, 3},
		"pseudo-heading ends at bold":         {"reviewer checklist", []int{10}, 9},
		"absent":                              {"Release Checklist", nil, 0},
		"empty matches nothing":               {"", nil, 0},
		"decoration only matches nothing":     {" ✅ ", nil, 0},
		"top ends the file":                   {"Top", []int{18}, 17},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			items, at := doc.Section(tc.heading)
			var lines []int
			for _, it := range items {
				lines = append(lines, it.Line)
			}
			if !reflect.DeepEqual(lines, tc.lines) {
				t.Errorf("Section(%q) lines = %v, want %v", tc.heading, lines, tc.lines)
			}
			switch {
			case tc.at == 0 && at != nil:
				t.Errorf("Section(%q) heading = %+v, want nil", tc.heading, at)
			case tc.at != 0 && (at == nil || at.Line != tc.at):
				t.Errorf("Section(%q) heading = %+v, want line %d", tc.heading, at, tc.at)
			case at != nil && at != &doc.Headings[slices.IndexFunc(doc.Headings, func(h Heading) bool { return h.Line == at.Line })]:
				t.Errorf("Section(%q) heading does not point into doc.Headings", tc.heading)
			}
		})
	}
}

// TestParseLeavesInputAlone: Parse must not write to the caller's body,
// even when it has to clean it.
func TestParseLeavesInputAlone(t *testing.T) {
	body := []byte("\uFEFF## A\r\n- [ ] \x00\xff\r" + strings.Repeat(">", 2000) + " - [ ] deep\n")
	orig := bytes.Clone(body)
	Parse(body)
	if !bytes.Equal(body, orig) {
		t.Errorf("Parse modified its input")
	}
}

// TestParseConcurrent runs Parse from several goroutines on the shared
// parser (meaningful under -race).
func TestParseConcurrent(t *testing.T) {
	files, _ := filepath.Glob("testdata/parse/*.md")
	want := map[string]string{}
	for _, f := range files {
		body, _ := os.ReadFile(f)
		want[f] = renderDoc(Parse(body))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range files {
				body, _ := os.ReadFile(f)
				if got := renderDoc(Parse(body)); got != want[f] {
					t.Errorf("%s parses differently under concurrency", f)
				}
			}
		}()
	}
	wg.Wait()
}

// TestParseHostile feeds Parse what a hostile or broken client might send.
// Each body must parse without panic into a document that keeps
// checkParseInvariants, with the boxes a reader would count. Time is bounded
// by the limits in parse_limits.go and measured by the benchmarks, not here.
func TestParseHostile(t *testing.T) {
	const maxBody = 65536 // characters GitHub allows in a pull-request body
	const mib = 1 << 20

	t.Run("65536 characters", func(t *testing.T) {
		body, boxes := realisticBody(maxBody)
		body = []byte(string([]rune(string(body))[:maxBody-200]) + "\n## Last\n- [x] last box\n")
		doc := parseChecked(t, body)
		if n := utf8.RuneCount(body); n > maxBody {
			t.Fatalf("body has %d characters", n)
		}
		last := doc.Items[len(doc.Items)-1]
		if last.Text != "last box" || last.Line != countLines(body)-1 {
			t.Errorf("last item %+v, want \"last box\" on line %d", last, countLines(body)-1)
		}
		if len(doc.Items) < boxes/2 {
			t.Errorf("%d items, want about %d", len(doc.Items), boxes)
		}
	})

	t.Run("5000 items", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("## Author Checklist\n\n")
		for i := range 5000 {
			fmt.Fprintf(&b, "- [%s] step %d\n", map[bool]string{true: "x", false: " "}[i%3 == 0], i)
		}
		doc := parseChecked(t, []byte(b.String()))
		items, at := doc.Section("Author Checklist")
		if len(doc.Items) != 5000 || len(items) != 5000 || at == nil {
			t.Fatalf("%d items, %d in the section, want 5000", len(doc.Items), len(items))
		}
		for i, it := range items {
			if it.Line != i+3 || it.Text != fmt.Sprintf("step %d", i) || it.Checked != (i%3 == 0) || it.Depth != 0 {
				t.Fatalf("item %d = %+v", i, it)
			}
		}
	})

	t.Run("1000-deep list by indentation", func(t *testing.T) {
		var b strings.Builder
		for i := range 1000 {
			fmt.Fprintf(&b, "%s- [ ] level %d\n", strings.Repeat("  ", i), i)
		}
		doc := parseChecked(t, []byte(b.String()))
		if len(doc.Items) != 1000 {
			t.Fatalf("%d items, want 1000", len(doc.Items))
		}
		// Indentation is capped at maxPrefixColumns: deeper lines stay
		// items, one level below the deepest the cap reaches.
		for i, it := range doc.Items {
			want := min(i, maxPrefixColumns/2)
			if it.Line != i+1 || it.Text != fmt.Sprintf("level %d", i) || it.Depth != want {
				t.Fatalf("item %d = %+v, want depth %d", i, it, want)
			}
		}
	})

	t.Run("1000 list markers on one line", func(t *testing.T) {
		doc := parseChecked(t, []byte(strings.Repeat("- ", 999)+"1. [x] deep\n"))
		// The first and last maxPrefixMarkers/2 markers stay.
		if len(doc.Items) != 1 || doc.Items[0].Depth != maxPrefixMarkers-1 || !doc.Items[0].Checked {
			t.Fatalf("items %+v, want one checked box at depth %d", doc.Items, maxPrefixMarkers-1)
		}
	})

	t.Run("1000-deep block quote", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(strings.Repeat(">", 1000) + " - [x] deepest\n\n")
		for i := range 1000 {
			fmt.Fprintf(&b, "%s - [ ] quote %d\n", strings.Repeat(">", i+1), i)
		}
		doc := parseChecked(t, []byte(b.String()))
		if len(doc.Items) != 1001 || doc.Items[0].Text != "deepest" || doc.Items[1000].Text != "quote 999" {
			t.Fatalf("%d items, want 1001", len(doc.Items))
		}
	})

	t.Run("invalid UTF-8", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		body := make([]byte, maxBody)
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		parseChecked(t, body)
		doc := parseChecked(t, []byte("## Author \xc3\x28Checklist\n- [x] \xed\xa0\x80 surrogate \xf4\x90\x80\x80 too big\n"))
		if len(doc.Items) != 1 || doc.Items[0].Text != "\uFFFD\uFFFD\uFFFD surrogate \uFFFD\uFFFD\uFFFD\uFFFD too big" {
			t.Fatalf("items %+v", doc.Items)
		}
	})

	t.Run("NUL bytes", func(t *testing.T) {
		parseChecked(t, bytes.Repeat([]byte{0}, maxBody))
		doc := parseChecked(t, []byte("## Author Checklist\n\x00\n- [x] a\x00\n- [\x00] not a box\n"))
		if len(doc.Items) != 1 || doc.Items[0].Text != "a\uFFFD" {
			t.Fatalf("items %+v", doc.Items)
		}
	})

	t.Run("1 MiB realistic", func(t *testing.T) {
		body, boxes := realisticBody(mib)
		if doc := parseChecked(t, body); len(doc.Items) != boxes {
			t.Fatalf("%d items, want %d", len(doc.Items), boxes)
		}
	})

	// Each of these took goldmark over a second at 64 KiB, or minutes at
	// 1 MiB, before the limits.
	hostile := map[string]string{
		"unclosed links":   strings.Repeat("[a](", mib/4),
		"unclosed <links>": strings.Repeat("[a](<", mib/5),
		"block quotes":     strings.Repeat(">", mib),
		"list markers":     strings.Repeat("1. ", mib/3),
		"deep indentation": deepIndentation(mib),
		"brackets":         strings.Repeat("[", mib),
		"table splits":     strings.Repeat("| a |\n| - |\n2. [ ] x\n", mib/22),
	}
	for name, body := range hostile {
		t.Run("1 MiB "+name, func(t *testing.T) {
			doc := parseChecked(t, []byte(body))
			if name == "table splits" && len(doc.Items) == 0 {
				t.Errorf("no items from the split tables")
			}
		})
	}
}

// deepIndentation is about size bytes of list items nesting ever deeper by
// indentation, each line opening many levels at once.
func deepIndentation(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString(strings.Repeat("  ", i%512) + strings.Repeat("- ", 1024) + "[ ] x\n")
	}
	return b.String()
}

func parseChecked(t *testing.T, body []byte) *Document {
	t.Helper()
	doc := Parse(body)
	checkParseInvariants(t, body, doc)
	return doc
}
