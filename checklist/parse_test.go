package checklist

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
		if h.Level == PseudoLevel {
			level = "bold"
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
