package checklist

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ReleaseGateName is the name of the check run checkoff's release gate
// posts on merge commits. A re-run of a check with this name re-judges a
// merge, so no checklist may take it.
const ReleaseGateName = "Release Gate"

// reservedNames are the check-run names checkoff posts itself.
var reservedNames = []string{ReleaseGateName}

// NameKey returns the form check-run names are compared on: invisible
// characters (Unicode format characters such as zero-width spaces, and
// other default-ignorable code points) removed, NFKC-normalised so that
// compatibility variants (a no-break space, full-width letters, ligatures)
// become what they look like, whitespace runs collapsed to one space,
// trimmed and case-folded. Two names with the same key read alike on
// github.com.
func NameKey(name string) string {
	stripped := strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, name)
	var b strings.Builder
	space := false
	for _, r := range norm.NFKC.String(stripped) {
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
	// Folding can leave a string that is not NFKC again (rarely); a second
	// pass makes the key stable.
	return norm.NFKC.String(b.String())
}

// SameName reports whether two check-run names read alike (NameKey).
func SameName(a, b string) bool { return NameKey(a) == NameKey(b) }

// ReservedName reports whether name reads like a check-run name checkoff
// posts itself (ReleaseGateName), and so may not name a checklist.
func ReservedName(name string) bool {
	key := NameKey(name)
	for _, r := range reservedNames {
		if key == NameKey(r) {
			return true
		}
	}
	return false
}

// invisible reports whether r renders as nothing, or changes only how its
// neighbours render: format characters (zero-width space and joiners,
// bidirectional overrides, the soft hyphen), variation selectors and the
// other default-ignorable code points (the Hangul fillers, the combining
// grapheme joiner).
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r)
}

// nameProblem says why name cannot be a check-run name, or returns "".
// GitHub shows a check run's name as plain text in branch protection and
// the checks list; a name holding characters that render as nothing, or
// that break lines, reads as another name.
func nameProblem(name string) string {
	for _, r := range name {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character %U", r)
		case unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
			return fmt.Sprintf("contains the line break %U", r)
		case unicode.Is(unicode.Co, r) || unicode.Is(unicode.Cs, r) || r == unicode.ReplacementChar:
			return fmt.Sprintf("contains the character %U, which has no glyph", r)
		case invisible(r) && !unicode.Is(unicode.Variation_Selector, r):
			return fmt.Sprintf("contains the invisible character %U", r)
		}
	}
	if NameKey(name) == "" {
		return "has no visible text"
	}
	return ""
}
