package release

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/checkoff-app/checkoff/internal/markdown"
)

// GitHub's limits on what the gate posts, in characters. Lengths here are
// counted in bytes, never fewer than characters, so a text within the
// limit in bytes is within it in characters too.
const (
	maxCheckSummary = 65535 // a check run's output.summary
	maxCommentBody  = 65536 // an issue comment's body
)

// maxItemText bounds one box's text as shown: a box with a whole essay as
// its text would otherwise push every other box out of the list.
const maxItemText = 500

// mdEscape is the one escaping rule of everything checkoff posts.
func mdEscape(s string) string { return markdown.Escape(s) }

// itemText is a box's text as the gate shows it: at most maxItemText
// characters, on one line, escaped.
func itemText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxItemText {
		s = string([]rune(s)[:maxItemText-1]) + "…"
	}
	return mdEscape(s)
}

// fitList renders head, one "- item" line per item and tail within limit
// bytes. Items that do not fit are left out and counted on a last line,
// so the head (the verdict) and the tail always stand.
func fitList(head string, items []string, tail string, limit int) string {
	var b strings.Builder
	b.WriteString(head)
	for i, it := range items {
		line := "- " + it + "\n"
		need := len(line) + len(tail)
		if rest := len(items) - i - 1; rest > 0 {
			need += len(cutNote(rest, limit))
		}
		if b.Len()+need > limit {
			b.WriteString(cutNote(len(items)-i, limit))
			break
		}
		b.WriteString(line)
	}
	b.WriteString(tail)
	s := b.String()
	if len(s) > limit { // only with a head and tail over the limit: never the gate's own
		const ell = "…"
		cut := limit - len(ell)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + ell
	}
	return s
}

func cutNote(n, limit int) string {
	return fmt.Sprintf("- … and %d more not shown (GitHub allows %d characters here)\n", n, limit)
}
