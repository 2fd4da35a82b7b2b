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
