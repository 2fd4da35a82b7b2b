package checklist

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keySep separates the checklist name from the item text in an item key.
// ParseConfig rejects names holding control characters, so it cannot occur
// in a name.
const keySep = "\x1f"

// Reasons a box does not count. The app shows them in check-run output, so
// they say what to do where something can be done.
const (
	reasonNotTicked = "not ticked"
	reasonNoRecord  = "no record of who ticked it: untick and tick again"
	reasonNoAuthor  = "the pull request's author is unknown"
)

// Evaluate judges doc against every checklist of cfg, in configuration
// order. With facts nil, ticks are taken as they stand; with facts, a tick
// counts only when the ledger shows it was made by someone the checklist's
// ticked_by allows. It is pure and fails closed: on any doubt a tick does
// not count. A nil cfg means DefaultConfig.
func Evaluate(doc *Document, cfg *Config, facts *Facts) []Result {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	if doc == nil {
		doc = &Document{}
	}
	out := make([]Result, len(cfg.Checklists))
	for i, cl := range cfg.Checklists {
		out[i] = evaluate(doc, withDefaults(cl), cfg.OptionalMarkers, facts)
	}
	return out
}

// withDefaults fills what a Config built in Go (not by ParseConfig) may
// leave empty.
func withDefaults(cl Checklist) Checklist {
	if cl.Heading == "" {
		cl.Heading = cl.Name
	}
	if cl.TickedBy == "" {
		cl.TickedBy = Anyone
	}
	return cl
}

func evaluate(doc *Document, cl Checklist, markers []string, facts *Facts) Result {
	res := Result{Checklist: cl, Status: Missing}
	boxes, present, at := sectionBoxes(doc, cl, markers)
	if at == nil {
		return res
	}
	res.Heading = at
	res.Items = make([]ItemResult, len(boxes))

	tmpl := make([]string, len(cl.Items)) // what each template item matches on
	var required, tmplOptional map[string]bool
	if len(cl.Items) > 0 {
		required = make(map[string]bool, len(cl.Items))
		tmplOptional = make(map[string]bool)
		for i, t := range cl.Items {
			tmpl[i] = matchKey(t, markers)
			required[tmpl[i]] = true
			if _, marked := stripMarker(t, markers); marked {
				tmplOptional[tmpl[i]] = true
			}
		}
	}
	for i, b := range boxes {
		ir := ItemResult{Item: b.Item, Key: b.key, Optional: b.optional}
		var waiverReason string
		if b.optional && !tmplOptional[b.match] {
			ir.Optional, ir.WaivedBy, waiverReason = waiverCounts(b.key, cl, facts)
		}
		judge(&ir, cl, facts)
		if !ir.Optional && !ir.Counted && waiverReason != "" {
			ir.Reason += "; " + waiverReason
		}
		if !ir.Optional {
			res.Total++
			if ir.Counted {
				res.Ticked++
			}
		}
		res.Items[i] = ir
		if required != nil && !cl.AllowExtraItems && !required[b.match] {
			res.ExtraItems = append(res.ExtraItems, b.Text)
		}
	}
	for i, t := range cl.Items {
		if present[tmpl[i]] == 0 {
			res.MissingItems = append(res.MissingItems, t)
		}
	}

	res.Status = Incomplete
	if res.Total > 0 && res.Ticked == res.Total && len(res.MissingItems) == 0 && len(res.ExtraItems) == 0 {
		res.Status = Complete
	}
	return res
}

// waiverCounts decides whether an item the body shows optional is optional:
// its waiver must have been made by someone the checklist admits, exactly as
// a tick must. Otherwise the item stays required and reason says why.
func waiverCounts(key string, cl Checklist, facts *Facts) (optional bool, by, reason string) {
	if facts == nil {
		return true, "", ""
	}
	rec, ok := facts.Waivers[key]
	if ok {
		by = rec.By
	}
	if cl.TickedBy == Anyone {
		return true, by, ""
	}
	if !ok || !rec.Checked || rec.By == "" {
		return false, by, "marked optional with no record of who did it: remove the mark and add it again"
	}
	if why := refuse(rec, cl, facts); why != "" {
		return false, by, "marked optional by @" + rec.By + why
	}
	return true, by, ""
}

// judge decides whether one box's tick counts, and why not. An optional
// box may stay unticked without a reason.
func judge(ir *ItemResult, cl Checklist, facts *Facts) {
	ir.Counted, ir.Reason = tickCounts(ir, cl, facts)
	if ir.Optional && ir.Reason == reasonNotTicked {
		ir.Reason = ""
	}
}

func tickCounts(ir *ItemResult, cl Checklist, facts *Facts) (counted bool, reason string) {
	if facts == nil {
		if !ir.Checked {
			return false, reasonNotTicked
		}
		return true, ""
	}
	rec, ok := facts.Ticks[ir.Key]
	if ok {
		ir.By = rec.By
	}
	// A reviewer may tick the Reviewer Checklist in an approving review's
	// body; the PR body's box then stays unticked.
	if !ir.Checked && !(ok && rec.Review && rec.Checked) {
		return false, reasonNotTicked
	}
	recorded := ok && rec.Checked && rec.By != ""
	switch cl.TickedBy {
	case Anyone:
		return true, ""
	case Author, Reviewer:
		if !recorded {
			return false, reasonNoRecord
		}
		if why := refuse(rec, cl, facts); why != "" {
			return false, "ticked by @" + rec.By + why
		}
		return true, ""
	}
	return false, "checklist requires ticks by " + strconv.Quote(string(cl.TickedBy)) + ", which checkoff does not know"
}

// refuse says why the person behind a recorded tick or waiver is not one
// the checklist admits, as a phrase to follow "ticked by @x" ("" when
// admitted). The same rule holds for both: whatever stops an item from
// holding a checklist back is a sign-off.
func refuse(rec Tick, cl Checklist, facts *Facts) string {
	if facts.Author == "" {
		return ", but " + reasonNoAuthor
	}
	switch cl.TickedBy {
	case Author:
		if !strings.EqualFold(rec.By, facts.Author) {
			return ", not the author"
		}
		return ""
	case Reviewer:
		switch {
		case strings.EqualFold(rec.By, facts.Author):
			return ", the author"
		case rec.Bot || isBotLogin(rec.By):
			return ", a bot"
		case !cl.AllowContributors && facts.Contributors == nil:
			return ", but the pull request's contributors are unknown"
		case !cl.AllowContributors && facts.Contributors[strings.ToLower(rec.By)]:
			return ", who contributed to this PR"
		case !rec.CanWrite:
			return ", who lacks write access"
		case !facts.ResetAt.IsZero() && rec.At.Before(facts.ResetAt):
			return " before the latest push: do it again"
		case rec.Review && facts.ReviewedHeads != nil && !facts.ReviewedHeads[rec.Commit]:
			return " in a review of an older commit: approve the latest commit again"
		}
		return ""
	}
	return ", whom role " + strconv.Quote(string(cl.TickedBy)) + " does not admit"
}

// isBotLogin reports a GitHub App's login ("renovate[bot]"), as a second
// guard should a caller not set Tick.Bot.
func isBotLogin(login string) bool {
	return strings.HasSuffix(strings.ToLower(login), "[bot]")
}

// box is one task item of a checklist's section with its identity.
type box struct {
	Item
	key      string // ItemResult.Key
	match    string // normalised text, optional marker stripped: what template items match on
	optional bool
}

// sectionBoxes returns the boxes of every section headed cl.Heading, in
// document order, with their keys, and how often each normalised text
// (box.match) occurs; at is nil when no such section exists.
func sectionBoxes(doc *Document, cl Checklist, markers []string) (boxes []box, seen map[string]int, at *Heading) {
	items, at := doc.Section(cl.Heading)
	if at == nil {
		return nil, nil, nil
	}
	boxes = make([]box, len(items))
	seen = make(map[string]int, len(items))
	used := make(map[string]bool, len(items))
	prefix := cl.Name + keySep
	for i, it := range items {
		rest, marked := stripMarker(it.Text, markers)
		m := Normalize(rest)
		// The nth box with the same text gets "#n", so that repeated
		// texts keep distinct ledger entries. The loop also steps over
		// a text that itself ends in "#n".
		n := seen[m] + 1
		key := prefix + m
		if n > 1 {
			key += "#" + strconv.Itoa(n)
		}
		for used[key] {
			n++
			key = prefix + m + "#" + strconv.Itoa(n)
		}
		seen[m] = n
		used[key] = true
		boxes[i] = box{Item: it, key: key, match: m, optional: it.Struck || marked}
	}
	return boxes, seen, at
}

// matchKey is what a configured template item is compared on.
func matchKey(text string, markers []string) string {
	rest, _ := stripMarker(text, markers)
	return Normalize(rest)
}

// stripMarker reports whether text starts with one of markers (compared
// case-insensitively, and followed by the end, a space or punctuation, so
// that "OPTIONALLY" is not "OPTIONAL"), and returns text without it.
func stripMarker(text string, markers []string) (string, bool) {
	t := strings.TrimLeftFunc(text, unicode.IsSpace)
	for _, m := range markers {
		rest, ok := cutPrefixFold(t, m)
		if !ok {
			continue
		}
		if rest == "" {
			return "", true
		}
		r, _ := utf8.DecodeRuneInString(rest)
		if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return rest, true
		}
	}
	return text, false
}

// cutPrefixFold is strings.CutPrefix under Unicode simple case folding.
func cutPrefixFold(s, prefix string) (string, bool) {
	if prefix == "" {
		return s, false
	}
	for _, pr := range prefix {
		sr, size := utf8.DecodeRuneInString(s)
		if size == 0 || !equalFoldRune(sr, pr) {
			return s, false
		}
		s = s[size:]
	}
	return s, true
}

func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
