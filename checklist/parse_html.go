package checklist

import (
	"bytes"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// maxLine stands for "to the end of the body" in section ends.
const maxLine = int(^uint(0) >> 1)

// maxHTMLHeadingText bounds the text kept of one raw-HTML heading or
// summary: headings are compared on at most maxNameLen characters, and an
// unclosed tag must not copy a large block.
const maxHTMLHeadingText = 4 * maxNameLen

// htmlBlock reads what github.com shows of a raw HTML block as structure:
//   - a <h1>–<h6> element in a top-level block is a heading of that level;
//   - <details> opens, and </details> closes, a section named by the
//     first <summary> of that <details>, wherever it stands (Markdown
//     inside <details> is top level).
//
// Text inside those elements is shown without tags, with entities
// resolved; an <img> contributes nothing. A <summary> or <hN> must close
// within its block: text outside HTML blocks is Markdown, read elsewhere.
func (w *walker) htmlBlock(n *ast.HTMLBlock) {
	lines := n.Lines()
	if lines.Len() == 0 {
		return
	}
	// Most blocks are comments or layout: look closer only when one of
	// the tags of interest may be there.
	interesting := false
	for i := 0; i < lines.Len() && !interesting; i++ {
		seg := lines.At(i)
		interesting = hasTagStart(seg.Value(w.src))
	}
	if n.HasClosure() && !interesting {
		interesting = hasTagStart(n.ClosureLine.Value(w.src))
	}
	if !interesting {
		return
	}
	s := htmlScan{w: w, top: w.topLevel && n.Parent() == w.root}
	for i := 0; i < lines.Len(); i++ {
		s.segment(lines.At(i))
	}
	if n.HasClosure() {
		s.segment(n.ClosureLine)
	}
	s.flush()
}

// rawHTML follows <details> and </details> written inline, so that an
// inline </details> still closes the section it ends on github.com.
func (w *walker) rawHTML(n *ast.RawHTML) {
	for i := 0; i < n.Segments.Len(); i++ {
		seg := n.Segments.At(i)
		v := seg.Value(w.src)
		if len(v) < 9 || v[0] != '<' {
			continue
		}
		name, closing, _ := tagName(v)
		if name == "details" {
			w.detailsTag(closing, w.out.lines.at(w.bodyOffset(seg.Start)))
		}
	}
}

// inlineDetails finds <details> and </details> written inline in block b
// ("Done. </details>"). When the body mentions an ignore marker the walk
// descends into every block and visit reaches the raw HTML itself; else
// only a block whose text holds such a tag is searched.
func (w *walker) inlineDetails(b ast.Node) {
	if w.markers {
		return
	}
	lines := b.Lines()
	found := false
	for i := 0; i < lines.Len() && !found; i++ {
		seg := lines.At(i)
		found = hasDetailsTag(seg.Value(w.src))
	}
	if !found {
		return
	}
	for n := b.FirstChild(); n != nil; {
		if raw, ok := n.(*ast.RawHTML); ok {
			w.rawHTML(raw)
		} else if n.FirstChild() != nil && n.Kind() != ast.KindCodeSpan {
			n = n.FirstChild()
			continue
		}
		for n != b && n.NextSibling() == nil {
			n = n.Parent()
		}
		if n == b {
			return
		}
		n = n.NextSibling()
	}
}

// hasDetailsTag reports whether v holds "<details" or "</details" in any
// case.
func hasDetailsTag(v []byte) bool {
	for i := bytes.IndexByte(v, '<'); i >= 0; {
		rest := v[i+1:]
		if len(rest) > 0 && rest[0] == '/' {
			rest = rest[1:]
		}
		if len(rest) >= 7 && bytes.EqualFold(rest[:7], []byte("details")) {
			return true
		}
		j := bytes.IndexByte(v[i+1:], '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// detailsTag opens or closes a <details> at line.
func (w *walker) detailsTag(closing bool, line int) {
	c := w.out
	if !closing {
		c.details = append(c.details, -1)
		return
	}
	if len(c.details) == 0 {
		return // a stray </details> closes nothing
	}
	if i := c.details[len(c.details)-1]; i >= 0 {
		c.headings[i].End = line
	}
	c.details = c.details[:len(c.details)-1]
}

func hasTagStart(v []byte) bool {
	for i := bytes.IndexByte(v, '<'); i >= 0 && i+1 < len(v); {
		switch c := v[i+1] | 0x20; {
		case c == 'd', c == 's', c == 'h', v[i+1] == '/':
			return true
		}
		j := bytes.IndexByte(v[i+1:], '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// htmlScan walks the tags of one HTML block.
type htmlScan struct {
	w   *walker
	top bool // a top-level block: <hN> is a heading

	// What text is being collected for: a <summary> or an <hN>.
	collecting int // 0 none, 1–6 heading level, summaryLevel
	line       int // where the element started
	buf        []byte
	inComment  bool
}

const summaryLevel = -1

func (s *htmlScan) segment(seg text.Segment) {
	v := seg.Value(s.w.src)
	for i := 0; i < len(v); {
		if s.inComment {
			end := bytes.Index(v[i:], []byte("-->"))
			if end < 0 {
				return
			}
			i += end + 3
			s.inComment = false
			continue
		}
		lt := bytes.IndexByte(v[i:], '<')
		if lt < 0 {
			s.text(v[i:])
			return
		}
		s.text(v[i : i+lt])
		i += lt
		if bytes.HasPrefix(v[i:], []byte("<!--")) {
			s.inComment = true
			i += 4
			continue
		}
		name, closing, size := tagName(v[i:])
		if size == 0 {
			s.text(v[i : i+1]) // a lone "<" is text
			i++
			continue
		}
		s.tag(name, closing, seg.Start+i)
		i += size
	}
}

// text collects displayed text for the element being read.
func (s *htmlScan) text(v []byte) {
	if s.collecting != 0 && len(s.buf) < maxHTMLHeadingText {
		s.buf = append(s.buf, v[:min(len(v), maxHTMLHeadingText-len(s.buf))]...)
	}
}

func (s *htmlScan) tag(name string, closing bool, off int) {
	w := s.w
	switch {
	case name == "details":
		if closing && s.collecting == summaryLevel {
			s.finish() // </details> ends an unclosed <summary>
		}
		w.detailsTag(closing, w.out.lines.at(w.bodyOffset(off)))
	case name == "summary" && !closing:
		// Only the first summary of the innermost <details> names it.
		if s.collecting == 0 && len(w.out.details) > 0 && w.out.details[len(w.out.details)-1] == -1 {
			s.start(summaryLevel, off)
		}
	case name == "summary" && closing:
		if s.collecting == summaryLevel {
			s.finish()
		}
	case len(name) == 2 && name[0] == 'h' && '1' <= name[1] && name[1] <= '6':
		level := int(name[1] - '0')
		switch {
		case !closing && s.collecting == 0 && s.top:
			s.start(level, off)
		case closing && s.collecting == level:
			s.finish()
		}
	case name == "br" && s.collecting != 0:
		s.buf = append(s.buf, ' ')
	}
}

func (s *htmlScan) start(what, off int) {
	s.collecting, s.buf = what, s.buf[:0]
	s.line = s.w.out.lines.at(s.w.bodyOffset(off))
}

// finish records the element read: a heading, or the name of the
// innermost <details>. An element with no text names nothing.
func (s *htmlScan) finish() {
	what := s.collecting
	s.collecting = 0
	txt := collapseSpace(util.ResolveEntityNames(util.ResolveNumericReferences(s.buf)))
	s.buf = s.buf[:0]
	if HeadingKey(txt) == "" {
		return
	}
	w := s.w
	if what != summaryLevel {
		w.addHeadingAt(txt, what, s.line)
		return
	}
	n := len(w.out.headings)
	w.addHeadingAt(txt, DetailsLevel, s.line)
	if len(w.out.headings) > n {
		w.out.details[len(w.out.details)-1] = n
		w.out.headings[n].End = maxLine
	}
}

// flush ends the block: an element left open ends with it.
func (s *htmlScan) flush() {
	if s.collecting != 0 {
		s.finish()
	}
}

// tagName reads the tag at the start of v ("<details open>", "</H2>"): its
// lower-cased name, whether it closes, and its length up to and including
// ">" (or to the end of v when the tag runs on past the line). size is 0
// when v does not start a tag.
func tagName(v []byte) (name string, closing bool, size int) {
	i := 1
	if i < len(v) && v[i] == '/' {
		closing = true
		i++
	}
	start := i
	for i < len(v) && (v[i]|0x20 >= 'a' && v[i]|0x20 <= 'z' || i > start && '0' <= v[i] && v[i] <= '9') {
		i++
	}
	if i == start || i-start > 10 {
		return "", false, 0
	}
	if i < len(v) && v[i] != '>' && v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != '/' {
		return "", false, 0
	}
	name = string(bytes.ToLower(v[start:i]))
	end := bytes.IndexByte(v[i:], '>')
	if end < 0 {
		return name, closing, len(v)
	}
	return name, closing, i + end + 1
}
