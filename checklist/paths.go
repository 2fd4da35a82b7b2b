package checklist

import (
	"path"
	"strings"
)

// MatchPath reports whether file, a slash-separated path relative to the
// repository root ("app/checkrun.go"), matches glob. A glob is matched
// segment by segment with path.Match ("*" and "?" never cross a "/"), and a
// segment that is exactly "**" matches any number of segments, none
// included: "docs/**" matches "docs/a/b.md", "**/*.go" matches "main.go"
// and "app/x.go". A glob is matched against the whole path, so "*.go"
// matches only files at the root. An invalid glob (see paths in the
// README) matches nothing.
func MatchPath(glob, file string) bool {
	if globProblem(glob) != "" || file == "" || strings.HasPrefix(file, "/") {
		return false
	}
	return matchSegments(strings.Split(glob, "/"), strings.Split(file, "/"))
}

// matchSegments matches glob segments against path segments by dynamic
// programming, so that many "**" cost len(glob)×len(file) steps, not an
// exponential search. ok[j] says whether the glob segments so far match
// file[:j].
func matchSegments(glob, file []string) bool {
	ok := make([]bool, len(file)+1)
	next := make([]bool, len(file)+1)
	ok[0] = true
	for _, g := range glob {
		clear(next)
		if g == "**" {
			// Any number of segments: next[j] if ok[i] for some i <= j.
			reach := false
			for j := range ok {
				reach = reach || ok[j]
				next[j] = reach
			}
		} else {
			for j := 1; j <= len(file); j++ {
				if ok[j-1] {
					m, err := path.Match(g, file[j-1])
					next[j] = err == nil && m
				}
			}
		}
		ok, next = next, ok
	}
	return ok[len(file)]
}

// globProblem says what is wrong with a paths glob, or returns "".
func globProblem(glob string) string {
	switch {
	case glob == "":
		return "is empty"
	case strings.HasPrefix(glob, "/"):
		return "starts with \"/\"; globs are relative to the repository root"
	case strings.HasSuffix(glob, "/"):
		return "ends with \"/\"; write \"dir/**\" for everything under a directory"
	case strings.Contains(glob, "\\"):
		return "contains a backslash; paths are separated by \"/\""
	}
	for _, seg := range strings.Split(glob, "/") {
		switch {
		case seg == "":
			return "has an empty segment (\"//\")"
		case seg == "." || seg == "..":
			return "has a \".\" or \"..\" segment"
		case seg == "**":
			continue
		case strings.Contains(seg, "**"):
			return "uses \"**\" inside a segment; \"**\" must be a whole segment (\"a/**/b\")"
		}
		if _, err := path.Match(seg, ""); err != nil {
			return "is not a valid glob (unclosed \"[\")"
		}
	}
	return ""
}
