package checklist

import (
	"bytes"
	"cmp"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// mdParser is built once: goldmark parsers hold no per-document state, and
// assembling one (extensions, regexps) costs more than parsing a small body.
// It is goldmark with extension.GFM, except that:
//   - task-list boxes are parsed by taskBoxes;
//   - the link parser is wrapped in boundedLinks (parse_limits.go) and the
//     table transformer in gfmTables (parse_table.go);
//   - there is no Linkify. It triggers on every space and costs a fifth of
//     the parse, and a bare URL reads the same as text or as a link, with
//     one exception: emphasis markers inside a bare URL ("…/__init__.py",
//     "…/a~~b~~") are taken for emphasis here and dropped from the text,
//     where github.com keeps them in the link. Boxes and their states never
//     depend on it.
var mdParser = goldmark.New(
	goldmark.WithParser(parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithInlineParsers(boundedLinkParsers()...),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
	)),
	goldmark.WithExtensions(extension.Strikethrough),
	goldmark.WithParserOptions(
		parser.WithInlineParsers(util.Prioritized(taskBoxes{}, 0)),
		parser.WithParagraphTransformers(util.Prioritized(gfmTables{extension.NewTableParagraphTransformer()}, 200)),
		parser.WithASTTransformers(util.Prioritized(extension.NewTableASTTransformer(), 0)),
	),
).Parser()

// The markers of an ignore region, as other checklist tools spell them
// (whitespace inside the comment is free).
const (
	ignoreStart = "ignore-task-list-start"
	ignoreEnd   = "ignore-task-list-end"
	ignoreStem  = "ignore-task-list-"
)

// Parse reads a Markdown pull-request body. It never fails: invalid UTF-8
// and NUL bytes become U+FFFD, CRLF and lone CR line endings count as LF,
// and a leading byte-order mark is dropped. Only what github.com renders as
// a checkbox becomes an Item: goldmark's task-list extension is looser, so
// Parse adds GitHub's rules (see taskItem) and corrects goldmark's tables
// where they differ from GFM (see parse_table.go). Boxes inside ignore
// regions are left out.
func Parse(body []byte) *Document {
	src := sanitize(body)
	out := &collector{
		lines:  lineCounter{src: src, line: 1},
		budget: 4*len(src) + 1<<16,
	}
	w := walker{
		src:      src,
		root:     mdParser.Parse(text.NewReader(src)),
		markers:  bytes.Contains(src, []byte(ignoreStem)),
		out:      out,
		topLevel: true,
	}
	w.walk()
	return out.document()
}

// sanitize returns body without a leading byte-order mark, with invalid
// UTF-8 and NUL replaced by U+FFFD and every line ending turned into LF, so
// that line numbers count as GitHub counts them, and with absurdly deep
// line prefixes capped (capPrefix). body itself is never modified.
func sanitize(body []byte) []byte {
	body = bytes.TrimPrefix(body, []byte("\uFEFF"))
	if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 || bytes.IndexByte(body, '\r') >= 0 {
		body = cleanBytes(body)
	}
	return capLines(body)
}

func cleanBytes(body []byte) []byte {
	out := make([]byte, 0, len(body)+len(body)/8)
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '\r':
			out = append(out, '\n')
			i++
			if i < len(body) && body[i] == '\n' {
				i++
			}
		case c == 0:
			out = utf8.AppendRune(out, utf8.RuneError)
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, body[i:i+n]...)
			}
			i += n
		}
	}
	return out
}

// capLines applies capPrefix to every line long enough to need it, copying
// body only if a line changes.
func capLines(body []byte) []byte {
	var out []byte // nil until a line changes
	done := 0      // body[:done] is in out
	for start := 0; start < len(body); {
		end := bytes.IndexByte(body[start:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		if end-start > min(maxPrefixMarkers, maxPrefixColumns) {
			if line, changed := capPrefix(body[start:end]); changed {
				out = append(append(out, body[done:start]...), line...)
				done = end
			}
		}
		start = end + 1
	}
	if out == nil {
		return body
	}
	return append(out, body[done:]...)
}

// lineCounter turns byte offsets into 1-based line numbers. Offsets arrive
// in document order, so counting on from the last one keeps Parse linear.
type lineCounter struct {
	src  []byte
	off  int
	line int
}

func (c *lineCounter) at(off int) int {
	off = min(max(off, 0), len(c.src))
	if off < c.off {
		c.off, c.line = 0, 1
	}
	c.line += bytes.Count(c.src[c.off:off], []byte{'\n'})
	c.off = off
	return c.line
}

// collector gathers what the walkers find, in document order, with offsets
// into the sanitized body.
type collector struct {
	lines    lineCounter
	headings []Heading
	items    []Item
	itemOffs []int  // offset of each item's box, for ignore regions
	marks    []mark // ignore markers in document order
	budget   int    // bytes left for re-parsing split tables
	scratch  []byte // reused by walker.text
	// details holds, per <details> open at this point, the index in
	// headings of its summary, or -1 while it has none.
	details []int
}

// walker collects headings, boxes and ignore markers in one pass over a
// goldmark tree: the body's, or that of table rows re-parsed (splitTable).
type walker struct {
	src      []byte
	root     ast.Node
	markers  bool // the body mentions an ignore marker: look at raw HTML
	out      *collector
	topLevel bool // the root's children are top-level blocks of the body

	toBody func(int) int // maps offsets in a re-parsed fragment; nil for the body
	depth0 int           // list items enclosing the fragment
	done   bool          // a fragment took over the rest of the walk
}

// bodyOffset maps an offset in w.src to one in the sanitized body.
func (w *walker) bodyOffset(off int) int {
	if w.toBody == nil {
		return off
	}
	return w.toBody(off)
}

// mark is an ignore-region marker found in real HTML (not in code).
type mark struct {
	off   int
	start bool
}

// walk visits the tree in document order without recursion: a hostile body
// may nest blocks or emphasis thousands deep.
func (w *walker) walk() {
	depth := 0 // list items enclosing the current node, itself included
	n := w.root.FirstChild()
	for n != nil {
		descend := w.visit(n, depth)
		if w.done {
			return
		}
		if descend && n.FirstChild() != nil {
			if n.Kind() == ast.KindListItem {
				depth++
			}
			n = n.FirstChild()
			continue
		}
		for n != w.root && n.NextSibling() == nil {
			n = n.Parent()
			if n.Kind() == ast.KindListItem {
				depth--
			}
		}
		if n == w.root {
			return
		}
		n = n.NextSibling()
	}
}

// visit handles one node and reports whether to descend into it.
func (w *walker) visit(n ast.Node, depth int) bool {
	switch n := n.(type) {
	case *ast.Heading:
		if w.topLevel && n.Parent() == w.root {
			if tableUnderline(n) {
				// A paragraph, really: see tableUnderline.
				if boldOnly(n, w.src) {
					w.addHeading(w.headingText(n), PseudoLevel, w.nodeOffset(n))
				}
			} else {
				w.addHeading(w.headingText(n), n.Level, w.nodeOffset(n))
			}
		}
		return w.markers
	case *ast.Paragraph:
		if w.topLevel && n.Parent() == w.root {
			if boldOnly(n, w.src) {
				w.addHeading(w.headingText(n), PseudoLevel, w.nodeOffset(n))
			}
		}
		w.taskItem(n, depth)
		w.inlineDetails(n)
		return w.markers
	case *ast.TextBlock:
		w.taskItem(n, depth)
		w.inlineDetails(n)
		return w.markers
	case *ast.CodeBlock, *ast.FencedCodeBlock, *ast.CodeSpan:
		return false
	case *east.Table:
		w.splitTable(n, depth)
		return w.markers
	case *ast.HTMLBlock:
		if w.markers {
			for i := 0; i < n.Lines().Len(); i++ {
				w.scanMarkers(n.Lines().At(i))
			}
			if n.HasClosure() {
				w.scanMarkers(n.ClosureLine)
			}
		}
		w.htmlBlock(n)
		return false
	case *ast.RawHTML:
		if w.markers {
			for i := 0; i < n.Segments.Len(); i++ {
				w.scanMarkers(n.Segments.At(i))
			}
		}
		w.rawHTML(n)
		return false
	}
	return true
}

func (w *walker) addHeading(txt string, level, off int) {
	w.addHeadingAt(txt, level, w.out.lines.at(w.bodyOffset(off)))
}

// addHeadingAt records a heading at a line, unless one is already there:
// a line shows at most one (raw HTML can hold several tags on one line).
func (w *walker) addHeadingAt(txt string, level, line int) {
	if n := len(w.out.headings); n > 0 && w.out.headings[n-1].Line >= line {
		return
	}
	w.out.headings = append(w.out.headings, Heading{
		Text:  txt,
		Key:   HeadingKey(txt),
		Level: level,
		Line:  line,
	})
}

// nodeOffset is where a block starts in the source.
func (w *walker) nodeOffset(n ast.Node) int {
	if n.Lines().Len() > 0 {
		return n.Lines().At(0).Start
	}
	return n.Pos()
}

// taskBoxes parses task-list boxes as github.com draws them: "[ ]", "[x]"
// or "[X]" followed by a space or tab, as the first inline of the first
// block of a list item. It replaces goldmark's extension.TaskList, which
// also takes "[x]foo", "[x](url)" and "[\t]" for boxes, and uses a regexp.
type taskBoxes struct{}

func (taskBoxes) Trigger() []byte { return []byte{'['} }

func (taskBoxes) Parse(parent ast.Node, block text.Reader, _ parser.Context) ast.Node {
	if parent.HasChildren() {
		return nil
	}
	if item, ok := parent.Parent().(*ast.ListItem); !ok || item.FirstChild() != parent {
		return nil
	}
	line, seg := block.PeekLine()
	if len(line) < 4 || line[2] != ']' || (line[3] != ' ' && line[3] != '\t') {
		return nil
	}
	var checked bool
	switch line[1] {
	case ' ':
	case 'x', 'X':
		checked = true
	default:
		return nil
	}
	n := 3
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	block.Advance(n)
	box := east.NewTaskCheckBox(checked)
	box.SetPos(seg.Start)
	return box
}

// taskItem records the box that starts block b, if github.com would render
// one there. taskBoxes has checked the box itself; GitHub further requires:
//   - the block is a paragraph, not a heading ("- # [ ] a" is a heading);
//   - the box is on the same line as the list marker ("-\n  [ ] a" is
//     text);
//   - some content follows the box: a bare "- [ ] " is text.
func (w *walker) taskItem(b ast.Node, depth int) {
	cb, ok := b.FirstChild().(*east.TaskCheckBox)
	if !ok || depth == 0 {
		return
	}
	off := cb.Pos()
	src := w.src
	if off < 0 || off+3 >= len(src) || src[off] != '[' {
		return
	}
	if !afterMarker(src, off) || !hasContent(b, src, off+3) {
		return
	}
	text := w.text(b, cb)
	off = w.bodyOffset(off)
	w.out.items = append(w.out.items, Item{
		Text:    text,
		Checked: cb.IsChecked,
		Struck:  struck(cb, src),
		Line:    w.out.lines.at(off),
		Depth:   w.depth0 + depth - 1,
	})
	w.out.itemOffs = append(w.out.itemOffs, off)
}

// afterMarker reports whether the box at off directly follows a list marker
// on its line: GitHub ignores a box that starts the item's second line.
func afterMarker(src []byte, off int) bool {
	i := off
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t') {
		i--
	}
	if i == off || i == 0 {
		return false
	}
	switch src[i-1] {
	case '-', '*', '+':
		return true
	case '.', ')':
		return i >= 2 && src[i-2] >= '0' && src[i-2] <= '9'
	}
	return false
}

// hasContent reports whether block b holds anything but whitespace after
// offset from.
func hasContent(b ast.Node, src []byte, from int) bool {
	lines := b.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		start := max(seg.Start, from)
		if start < seg.Stop && !util.IsBlank(src[start:seg.Stop]) {
			return true
		}
	}
	return false
}

// struck reports whether everything after the box is one strikethrough.
func struck(cb ast.Node, src []byte) bool {
	found := false
	for n := cb.NextSibling(); n != nil; n = n.NextSibling() {
		switch n := n.(type) {
		case *east.Strikethrough:
			if found {
				return false
			}
			found = true
		case *ast.Text:
			if !util.IsBlank(n.Segment.Value(src)) {
				return false
			}
		default:
			return false
		}
	}
	return found
}

// boldOnly reports whether paragraph p is made only of strong emphasis
// ("**Reviewer Checklist**", "__x__", "***x***").
func boldOnly(p ast.Node, src []byte) bool {
	strong := false
	for n := p.FirstChild(); n != nil; n = n.NextSibling() {
		switch n := n.(type) {
		case *ast.Emphasis:
			if n.Level == 2 {
				strong = true
				continue
			}
			if inner, ok := n.FirstChild().(*ast.Emphasis); ok && inner.Level == 2 && inner.NextSibling() == nil {
				strong = true
				continue
			}
			return false
		case *ast.Text:
			if !util.IsBlank(n.Segment.Value(src)) {
				return false
			}
		default:
			return false
		}
	}
	return strong
}

// headingText is the displayed text of a heading: text, except that an
// image contributes nothing ("## ![icon](…) Reviewer Checklist" reads
// "Reviewer Checklist" on github.com).
func (w *walker) headingText(b ast.Node) string {
	return w.inlineText(b, nil, true)
}

// text is the displayed text of the inlines of block b (after the inline
// skip, when given): markup, raw HTML and link targets dropped, escapes and
// entities resolved, whitespace collapsed. An image gives its alt text:
// item texts are ledger keys, and keep the form they always had.
func (w *walker) text(b, skip ast.Node) string {
	return w.inlineText(b, skip, false)
}

func (w *walker) inlineText(b, skip ast.Node, noImages bool) string {
	src := w.src
	buf := w.out.scratch[:0]
	n := b.FirstChild()
	if skip != nil {
		n = skip.NextSibling()
	}
	for n != nil {
		descend := true
		switch n := n.(type) {
		case *ast.Text:
			v := n.Segment.Value(src)
			if n.IsRaw() || n.Parent().Kind() == ast.KindCodeSpan {
				buf = append(buf, v...)
			} else {
				buf = appendUnescaped(buf, v)
			}
			if n.SoftLineBreak() || n.HardLineBreak() {
				buf = append(buf, ' ')
			}
		case *ast.String:
			if n.IsCode() || n.IsRaw() {
				buf = append(buf, n.Value...)
			} else {
				buf = appendUnescaped(buf, n.Value)
			}
		case *ast.AutoLink:
			buf = append(buf, n.Label(src)...)
			descend = false
		case *ast.RawHTML, *east.TaskCheckBox:
			descend = false
		case *ast.Image:
			descend = !noImages
		}
		if descend && n.FirstChild() != nil {
			n = n.FirstChild()
			continue
		}
		for n != b && n.NextSibling() == nil {
			n = n.Parent()
		}
		if n == b {
			break
		}
		n = n.NextSibling()
	}
	w.out.scratch = buf
	return collapseSpace(buf)
}

// appendUnescaped appends text with backslash escapes and entity references
// resolved, as GitHub displays it.
func appendUnescaped(buf, v []byte) []byte {
	if bytes.IndexByte(v, '\\') < 0 && bytes.IndexByte(v, '&') < 0 {
		return append(buf, v...)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v) && util.IsPunct(v[i+1]):
			i++
			buf = append(buf, v[i])
		case c == '&':
			end := bytes.IndexByte(v[i:min(len(v), i+40)], ';')
			if end < 0 {
				buf = append(buf, c)
				continue
			}
			ref := v[i : i+end+1]
			res := util.ResolveEntityNames(util.ResolveNumericReferences(ref))
			if bytes.Equal(res, ref) {
				buf = append(buf, c)
				continue
			}
			buf = append(buf, res...)
			i += end
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

// collapseSpace returns b trimmed, with every whitespace run turned into
// one space. It overwrites b.
func collapseSpace(b []byte) string {
	out := b[:0] // never longer than what has been read: writing in place is safe
	space := false
	for i := 0; i < len(b); {
		n, isSpace := 1, false
		if c := b[i]; c < utf8.RuneSelf {
			isSpace = c == ' ' || ('\t' <= c && c <= '\r')
		} else {
			var r rune
			r, n = utf8.DecodeRune(b[i:])
			isSpace = unicode.IsSpace(r)
		}
		if isSpace {
			space = true
		} else {
			if space && len(out) > 0 {
				out = append(out, ' ')
			}
			space = false
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return string(out)
}

// scanMarkers records the ignore markers inside one HTML segment.
func (w *walker) scanMarkers(seg text.Segment) {
	v := seg.Value(w.src)
	for i := 0; ; i += 4 {
		at := bytes.Index(v[i:], []byte("<!--"))
		if at < 0 {
			return
		}
		i += at
		rest := bytes.TrimLeft(v[i+4:], " \t\n")
		start := bytes.HasPrefix(rest, []byte(ignoreStart))
		if !start && !bytes.HasPrefix(rest, []byte(ignoreEnd)) {
			continue
		}
		if start {
			rest = rest[len(ignoreStart):]
		} else {
			rest = rest[len(ignoreEnd):]
		}
		rest = bytes.TrimLeft(rest, " \t\n")
		if bytes.HasPrefix(rest, []byte("-->")) {
			w.out.marks = append(w.out.marks, mark{off: w.bodyOffset(seg.Start + i), start: start})
		}
	}
}

// document assembles the result, leaving out boxes in ignore regions. A
// region runs from a start marker to the next end marker; a start marker
// with no end after it ignores nothing, as in the tools that set the
// convention, so a stray marker cannot hide boxes.
func (c *collector) document() *Document {
	for _, i := range c.details {
		if i >= 0 {
			c.headings[i].End = maxLine // never closed: to the end
		}
	}
	doc := &Document{Headings: c.headings, Items: c.items}
	if len(c.marks) == 0 {
		return doc
	}
	slices.SortStableFunc(c.marks, func(a, b mark) int { return cmp.Compare(a.off, b.off) })
	var regions [][2]int
	open := -1
	for _, m := range c.marks {
		switch {
		case m.start && open < 0:
			open = m.off
		case !m.start && open >= 0:
			regions = append(regions, [2]int{open, m.off})
			open = -1
		}
	}
	kept := c.items[:0]
	for i, it := range c.items {
		off := c.itemOffs[i]
		// The first region ending after off holds it if it starts before.
		r, _ := slices.BinarySearchFunc(regions, off, func(reg [2]int, off int) int { return cmp.Compare(reg[1], off+1) })
		if r < len(regions) && regions[r][0] <= off {
			continue
		}
		kept = append(kept, it)
	}
	doc.Items = kept
	return doc
}

// Section returns the items of every section whose heading matches
// heading (HeadingKey), in document order, and the first such heading (nil
// when none does; an empty heading matches nothing). A section runs from
// its heading to the next heading of the same or a higher level, so a
// pseudo-heading's section ends at any heading or bold-only paragraph; a
// <details> summary's section ends at its closing tag. Section knows no
// configuration: Evaluate further gives a box inside a <details> named
// after a configured checklist to that checklist alone.
func (d *Document) Section(heading string) (items []Item, at *Heading) {
	key := HeadingKey(heading)
	if key == "" {
		return nil, nil
	}
	var spans [][2]int // (heading line, end line) of each matching section
	for i := range d.Headings {
		h := &d.Headings[i]
		if h.Key != key {
			continue
		}
		if at == nil {
			at = h
		}
		spans = append(spans, [2]int{h.Line, d.sectionEnd(i)})
	}
	for _, it := range d.Items {
		for _, s := range spans {
			if it.Line > s[0] && it.Line < s[1] {
				items = append(items, it)
				break
			}
		}
	}
	return items, at
}

// sectionEnd is the line that ends the section of heading i: the next
// heading of the same or a higher level, or for a <details> summary its
// closing tag. Boxes on lines strictly between the two belong to it.
func (d *Document) sectionEnd(i int) int {
	h := &d.Headings[i]
	if h.Level == DetailsLevel {
		return h.End
	}
	for _, next := range d.Headings[i+1:] {
		if next.Level <= h.Level {
			return next.Line
		}
	}
	return maxLine
}
