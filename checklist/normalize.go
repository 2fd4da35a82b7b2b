package checklist

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Normalize returns the form headings and item texts are compared on:
// case-folded, whitespace runs collapsed to one space, and surrounding
// punctuation, symbols, emoji (with their variation selectors and joiners)
// and spaces trimmed. "✅ **Author** checklist:" and "author checklist"
// normalise alike once the parser has stripped the inline markup.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(foldRune(r))
	}
	return strings.TrimFunc(b.String(), trimmable)
}

// foldRune maps every rune of a simple case-folding orbit to one member, so
// that "ſ", "S" and "s" (or "ς", "Σ" and "σ") compare equal.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < least {
			least = f
		}
	}
	return unicode.ToLower(least)
}

// trimmable reports whether r may be trimmed from either end of a
// normalised text: decoration rather than words.
func trimmable(r rune) bool {
	switch {
	case unicode.IsSpace(r), unicode.IsPunct(r), unicode.IsSymbol(r):
		return true
	case unicode.Is(unicode.Cf, r): // zero-width joiner, emoji tag characters
		return true
	case unicode.Is(unicode.Me, r): // combining enclosing keycap
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	}
	return false
}

// HeadingKey returns the form headings are compared on: Normalize, after
// dropping emoji shortcodes (":white_check_mark:", ":eyes:"), which
// github.com shows as emoji and Normalize would otherwise keep as words.
// Configured headings and body headings both go through it.
func HeadingKey(s string) string {
	if strings.IndexByte(s, ':') >= 0 {
		s = stripShortcodes(s)
	}
	return Normalize(s)
}

// stripShortcodes replaces each emoji shortcode in s with a space. A
// shortcode is ":name:" with name made of lower-case ASCII letters, digits,
// "_", "+" and "-", standing apart from letters and digits on both sides,
// so that "10:30:00" and "a:b:c" keep their text.
func stripShortcodes(s string) string {
	var b []byte
	last := 0 // s[:last] is in b
	for i := 0; i < len(s); i++ {
		if s[i] != ':' || (i > 0 && isAlnumByte(s[i-1])) {
			continue
		}
		j := i + 1
		for j < len(s) && isShortcodeByte(s[j]) {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != ':' || (j+1 < len(s) && isAlnumByte(s[j+1])) {
			continue
		}
		b = append(append(b, s[last:i]...), ' ')
		last = j + 1
		i = j
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

func isAlnumByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isShortcodeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '+' || c == '-'
}
