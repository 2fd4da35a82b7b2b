package checklist

import "fmt"

// CheckTemplate lists the problems of a pull-request template against cfg:
// each configured checklist's section must be present once, carry every
// required item and at least one box that is not optional (a pick-N group:
// at least N), hold no box outside the configured items when extra items
// are not allowed, and leave every box unticked. A body checklist needs no
// section and may hold no box; its required items and unticked boxes are
// checked the same way. Each message starts "line N: " where a line is known.
// An empty result means the template is fine. A nil cfg means
// DefaultConfig.
func CheckTemplate(doc *Document, cfg *Config) []string {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	if doc == nil {
		doc = &Document{}
	}
	var problems []string
	add := func(line int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if line > 0 {
			msg = fmt.Sprintf("line %d: %s", line, msg)
		}
		problems = append(problems, msg)
	}
	for _, res := range Evaluate(doc, cfg, nil) {
		cl := res.Checklist
		if res.Status == Missing {
			add(0, "%s: no heading %q", cl.Name, cl.Heading)
			continue
		}
		hl := 0
		if cl.Scope != BodyScope {
			if lines := headingLines(doc, cl.Heading); len(lines) > 1 {
				add(lines[1], "%s: heading %q appears again (first at line %d); keep one section", cl.Name, cl.Heading, lines[0])
			}
			hl = res.Heading.Line
			if len(res.Items) == 0 {
				add(hl, "%s: section has no boxes", cl.Name)
			} else if res.Total == 0 {
				add(hl, "%s: every box in the section is optional", cl.Name)
			}
		}
		if cl.Select > 0 && res.Total < cl.Select {
			add(hl, "%s: select is %d, but only %d boxes can be ticked", cl.Name, cl.Select, res.Total)
		}
		for _, t := range res.MissingItems {
			add(hl, "%s: missing item %q", cl.Name, t)
		}
		for _, it := range res.Items {
			if it.Checked {
				add(it.Line, "%s: box %q is ticked; a template leaves every box unticked", cl.Name, it.Text)
			}
		}
		extra := make(map[string]bool, len(res.ExtraItems))
		for _, x := range res.ExtraItems {
			extra[x] = true
		}
		for _, it := range res.Items {
			if extra[it.Text] {
				add(it.Line, "%s: box %q is not a configured item, and allow_extra_items is false", cl.Name, it.Text)
			}
		}
	}
	return problems
}

// headingLines returns the lines of every heading matching heading.
func headingLines(doc *Document, heading string) []int {
	key := HeadingKey(heading)
	var lines []int
	for _, h := range doc.Headings {
		if h.Key == key {
			lines = append(lines, h.Line)
		}
	}
	return lines
}
