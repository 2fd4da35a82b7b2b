package checklist

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics and that what it returns holds
// together: see checkParseInvariants. A body without CR must also parse the
// same with CRLF line endings.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/parse/*.md")
	for _, file := range files {
		if body, err := os.ReadFile(file); err == nil {
			f.Add(body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc := Parse(body)
		checkParseInvariants(t, body, doc)
		if !bytes.Contains(body, []byte{'\r'}) {
			crlf := bytes.ReplaceAll(body, []byte{'\n'}, []byte("\r\n"))
			if got := Parse(crlf); !reflect.DeepEqual(got, doc) {
				t.Fatalf("CRLF endings parse differently:\n%s\nwant\n%s", renderDoc(got), renderDoc(doc))
			}
		}
	})
}

// checkParseInvariants fails t when doc, parsed from body, breaks a rule
// that holds for any input:
//   - every line number lies within the body; depths are not negative;
//     levels are 1–6, PseudoLevel or DetailsLevel, and only a details
//     summary has an end, not before its line;
//   - texts are valid UTF-8 with whitespace collapsed; keys are the
//     heading keys of the texts, and normalising them changes nothing;
//   - headings and items come in document order, at most one per line;
//   - Section returns a subsequence of Items below its heading;
//   - no item lies inside a fenced code block, as a simple line scan finds
//     them (for bodies where that scan is reliable).
func checkParseInvariants(t *testing.T, body []byte, doc *Document) {
	t.Helper()
	lines := countLines(body)
	prev := 0
	for _, h := range doc.Headings {
		switch {
		case h.Line < 1 || h.Line > lines:
			t.Fatalf("heading %+v outside the body's %d lines", h, lines)
		case h.Line <= prev:
			t.Fatalf("heading %+v out of order (previous line %d)", h, prev)
		case h.Level < 1 || h.Level > DetailsLevel:
			t.Fatalf("heading %+v has a bad level", h)
		case (h.Level == DetailsLevel) != (h.End > 0) || h.End > 0 && h.End < h.Line:
			t.Fatalf("heading %+v: a details section ends before it starts, or another heading has an end", h)
		case h.Key != HeadingKey(h.Text) || Normalize(h.Key) != h.Key:
			t.Fatalf("heading %+v: key is not the normalised text", h)
		}
		checkText(t, h.Text)
		prev = h.Line
	}
	prev = 0
	for _, it := range doc.Items {
		switch {
		case it.Line < 1 || it.Line > lines:
			t.Fatalf("item %+v outside the body's %d lines", it, lines)
		case it.Line <= prev:
			t.Fatalf("item %+v out of order (previous line %d)", it, prev)
		case it.Depth < 0:
			t.Fatalf("item %+v has a negative depth", it)
		}
		checkText(t, it.Text)
		prev = it.Line
	}
	for _, h := range doc.Headings {
		items, at := doc.Section(h.Text)
		if h.Key == "" {
			if items != nil || at != nil {
				t.Fatalf("Section(%q) matched with an empty key", h.Text)
			}
			continue
		}
		if at == nil || at.Key != h.Key || at.Line > h.Line {
			t.Fatalf("Section(%q) heading %+v, want the first with key %q", h.Text, at, h.Key)
		}
		i := 0
		for _, it := range items {
			for i < len(doc.Items) && doc.Items[i] != it {
				i++
			}
			if i == len(doc.Items) {
				t.Fatalf("Section(%q) item %+v is not in Items in order", h.Text, it)
			}
			if it.Line <= at.Line {
				t.Fatalf("Section(%q) item %+v before its heading", h.Text, it)
			}
		}
	}
	if fenced, ok := fencedLines(body); ok {
		for _, it := range doc.Items {
			if fenced[it.Line] {
				t.Fatalf("item %+v lies in a fenced code block", it)
			}
		}
	}
}

func checkText(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("text %q is not valid UTF-8", s)
	}
	if strings.Join(strings.Fields(s), " ") != s {
		t.Fatalf("text %q has uncollapsed whitespace", s)
	}
}

// bodyLineEnds splits body into lines at LF, CRLF and lone CR.
func bodyLineEnds(body []byte) [][]byte {
	norm := bytes.ReplaceAll(body, []byte("\r\n"), []byte{'\n'})
	norm = bytes.ReplaceAll(norm, []byte{'\r'}, []byte{'\n'})
	return bytes.Split(norm, []byte{'\n'})
}

func countLines(body []byte) int { return len(bodyLineEnds(body)) }

// fencedLines finds the lines of fenced code blocks whose opening fence
// starts in column 0, by a scan independent of goldmark: such a fence can
// belong to no container (a line that does not continue a container ends
// it, and a fence is never a lazy continuation). Two things defeat the
// scan, so bodies with them are not judged (ok is false): an HTML block,
// which can hold a fence line, and a fence indented by 1–3 spaces outside
// the fences found, which may or may not lie in a list item.
func fencedLines(body []byte) (fenced map[int]bool, ok bool) {
	if bytes.IndexByte(body, '<') >= 0 {
		return nil, false
	}
	body = bytes.TrimPrefix(body, []byte("\uFEFF"))
	fenced = map[int]bool{}
	var fence byte
	width := 0
	for i, line := range bodyLineEnds(body) {
		n := i + 1
		if fence == 0 {
			if trimmed := bytes.TrimLeft(line, " "); len(trimmed) < len(line) && len(line)-len(trimmed) <= 3 &&
				(bytes.HasPrefix(trimmed, []byte("```")) || bytes.HasPrefix(trimmed, []byte("~~~"))) {
				return nil, false
			}
			if len(line) < 3 || (line[0] != '`' && line[0] != '~') {
				continue
			}
			run := len(line) - len(bytes.TrimLeft(line, string(line[:1])))
			if run < 3 || (line[0] == '`' && bytes.IndexByte(line[run:], '`') >= 0) {
				continue
			}
			fence, width = line[0], run
			fenced[n] = true
			continue
		}
		fenced[n] = true
		trimmed := bytes.TrimLeft(line, " ")
		if len(line)-len(trimmed) > 3 {
			continue
		}
		run := len(trimmed) - len(bytes.TrimLeft(trimmed, string(fence)))
		if run >= width && len(bytes.Trim(trimmed[run:], " \t")) == 0 {
			fence = 0
		}
	}
	return fenced, true
}

// TestFencedLines pins the independent scan FuzzParse relies on.
func TestFencedLines(t *testing.T) {
	body := "a\n```go\nin\n````\nafter\n~~~~\n~~~\n  ~~~~\n``` `x`\n- [ ] x\n```\nunclosed\n"
	got, ok := fencedLines([]byte(body))
	var lines []int
	for l := range got {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	if want := []int{2, 3, 4, 6, 7, 8, 11, 12, 13}; !ok || !slices.Equal(lines, want) {
		t.Errorf("fencedLines = %v, %t; want %v", lines, ok, want)
	}
	if _, ok := fencedLines([]byte("<div>\n```\n")); ok {
		t.Errorf("fencedLines judged a body with HTML")
	}
	if _, ok := fencedLines([]byte(" ```\n```\n* [X] a\n")); ok {
		t.Errorf("fencedLines judged a body with an indented fence")
	}
}
