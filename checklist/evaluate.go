package checklist

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keySep separates the checklist name from the item text in an item key.
// ParseConfig rejects names holding control characters, so it cannot occur
// in a name.
const keySep = "\x1f"

// KeyChecklist returns the name of the checklist an item key
// (ItemResult.Key, Change.Key) belongs to: the ledger stores keys and must
// tell a reviewer checklist's from others without knowing their format.
func KeyChecklist(key string) string {
	name, _, _ := strings.Cut(key, keySep)
	return name
}

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
	cls := withDefaultsAll(cfg.Checklists)
	own := assign(doc, cls)
	rule := markerRuleOf(cfg)
	out := make([]Result, len(cls))
	for i, cl := range cls {
		out[i] = evaluate(own[i], cl, rule, facts)
	}
	return out
}

// withDefaults fills what a Config built in Go (not by ParseConfig) may
// leave empty.
func withDefaults(cl Checklist) Checklist {
	if cl.Scope == "" {
		cl.Scope = SectionScope
	}
	if cl.Heading == "" && cl.Scope != BodyScope {
		cl.Heading = cl.Name
	}
	if cl.TickedBy == "" {
		cl.TickedBy = Anyone
	}
	return cl
}

func withDefaultsAll(cls []Checklist) []Checklist {
	out := make([]Checklist, len(cls))
	for i, cl := range cls {
		out[i] = withDefaults(cl)
	}
	return out
}

func evaluate(o owned, cl Checklist, rule markerRule, facts *Facts) Result {
	res := Result{Checklist: cl, Status: Missing, Select: cl.Select}
	if !o.found {
		return res
	}
	boxes, present := sectionBoxes(o.items, cl, rule)
	res.Heading = o.at
	res.Items = make([]ItemResult, len(boxes))

	tmpl := make([]string, len(cl.Items)) // what each template item matches on
	var required, tmplOptional map[string]bool
	if len(cl.Items) > 0 {
		required = make(map[string]bool, len(cl.Items))
		tmplOptional = make(map[string]bool)
		for i, t := range cl.Items {
			rest, marked := rule.strip(t)
			tmpl[i] = Normalize(rest)
			required[tmpl[i]] = true
			if marked {
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
	if complete(res) {
		res.Status = Complete
	}
	return res
}

// complete decides a present checklist. A pick-N group needs exactly N
// counted ticks. Otherwise every required box must be counted, and a
// section must hold at least one (deleting the items does not pass), while
// a body checklist with nothing to tick is complete: nothing was asked.
func complete(r Result) bool {
	if len(r.MissingItems) > 0 || len(r.ExtraItems) > 0 {
		return false
	}
	switch {
	case r.Select > 0:
		return r.Ticked == r.Select
	case r.Checklist.Scope == BodyScope:
		return r.Ticked == r.Total
	}
	return r.Total > 0 && r.Ticked == r.Total
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
	isAuthor := strings.EqualFold(rec.By, facts.Author) ||
		slices.ContainsFunc(facts.Authors, func(a string) bool { return strings.EqualFold(rec.By, a) })
	switch cl.TickedBy {
	case Author:
		switch {
		case facts.BotAuthor && (rec.Bot || isBotLogin(rec.By)):
			return ", a bot: a bot never ticks for anyone"
		case facts.BotAuthor && len(facts.Authors) == 0:
			return ", but the pull request was opened by a bot and has no assignee: assign the person responsible"
		case facts.BotAuthor && strings.EqualFold(rec.By, facts.Author):
			return ", a bot: a bot never ticks for anyone"
		case !isAuthor:
			return ", not the author"
		}
		return ""
	case Reviewer:
		switch {
		case isAuthor:
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

// owned is what a checklist owns of a body: its boxes, in document order,
// whether it is present, and its first heading.
type owned struct {
	items []Item
	at    *Heading
	found bool
}

// assign gives each checklist of cls (defaults filled) its boxes. A box
// inside a <details> whose summary is a configured heading belongs to that
// checklist alone (the innermost such <details>); any other box belongs to
// every checklist whose heading's section holds it. A body checklist owns
// the boxes no section checklist owns, and is always present.
func assign(doc *Document, cls []Checklist) []owned {
	out := make([]owned, len(cls))
	byKey := map[string][]int{}
	var bodies []int
	for i, cl := range cls {
		if cl.Scope == BodyScope {
			bodies = append(bodies, i)
			out[i].found = true
			continue
		}
		if k := HeadingKey(cl.Heading); k != "" {
			byKey[k] = append(byKey[k], i)
		}
	}
	type span struct {
		from, to int // the lines strictly between hold the section's boxes
		who      []int
		details  bool
	}
	var spans []span
	hasDetails := false
	for hi := range doc.Headings {
		h := &doc.Headings[hi]
		who := byKey[h.Key]
		if who == nil {
			continue
		}
		for _, i := range who {
			if out[i].at == nil {
				out[i].at, out[i].found = h, true
			}
		}
		details := h.Level == DetailsLevel
		hasDetails = hasDetails || details
		spans = append(spans, span{from: h.Line, to: doc.sectionEnd(hi), who: who, details: details})
	}
	if len(spans) == 0 && len(bodies) == 0 {
		return out
	}
	stamp := make([]int, len(cls)) // the last item each checklist took, +1
	for n, it := range doc.Items {
		inner := -1
		if hasDetails {
			for s := range spans {
				if sp := &spans[s]; sp.details && it.Line > sp.from && it.Line < sp.to && (inner < 0 || sp.from > spans[inner].from) {
					inner = s
				}
			}
		}
		taken := false
		for s := range spans {
			sp := &spans[s]
			if inner >= 0 && s != inner || inner < 0 && (sp.details || it.Line <= sp.from || it.Line >= sp.to) {
				continue
			}
			for _, i := range sp.who {
				if stamp[i] != n+1 {
					stamp[i] = n + 1
					out[i].items = append(out[i].items, it)
				}
			}
			taken = true
		}
		if !taken {
			for _, i := range bodies {
				out[i].items = append(out[i].items, it)
			}
		}
	}
	return out
}

// sectionBoxes gives the items a checklist owns their keys and optional
// state, and counts how often each normalised text (box.match) occurs.
// It is the one place an item's optional state is decided, so that every
// way of making an item optional reaches Diff as a waiver and Evaluate's
// waiverCounts.
func sectionBoxes(items []Item, cl Checklist, rule markerRule) (boxes []box, seen map[string]int) {
	boxes = make([]box, len(items))
	seen = make(map[string]int, len(items))
	used := make(map[string]bool, len(items))
	prefix := cl.Name + keySep
	for i, it := range items {
		rest, marked := rule.strip(it.Text)
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
	return boxes, seen
}

// markerRule is how optional markers are recognised (optional_markers and
// optional_match).
type markerRule struct {
	markers  []string
	anywhere bool
}

func markerRuleOf(cfg *Config) markerRule {
	return markerRule{markers: cfg.OptionalMarkers, anywhere: cfg.OptionalMatch == MatchAnywhere}
}

// strip reports whether text carries an optional marker and returns text
// without it: what the item is matched on, so that marking an item
// optional keeps its key and its template match.
func (m markerRule) strip(text string) (string, bool) {
	if rest, ok := stripMarker(text, m.markers); ok || !m.anywhere {
		return rest, ok
	}
	return stripMarkerAnywhere(text, m.markers)
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

// stripMarkerAnywhere finds the first of markers that stands in text as a
// whole word (case-insensitively; not next to a letter, a digit or one of
// "-_/", so that "non-optional" and "docs/optional" hold no marker), and
// returns text with that occurrence replaced by a space.
func stripMarkerAnywhere(text string, markers []string) (string, bool) {
	for i := 0; i < len(text); {
		prev, _ := utf8.DecodeLastRuneInString(text[:i])
		if i == 0 || !wordRune(prev) {
			for _, m := range markers {
				rest, ok := cutPrefixFold(text[i:], m)
				if !ok {
					continue
				}
				if next, _ := utf8.DecodeRuneInString(rest); rest == "" || !wordRune(next) {
					return text[:i] + " " + rest, true
				}
			}
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return text, false
}

// wordRune reports whether r continues a word for stripMarkerAnywhere.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '/'
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
