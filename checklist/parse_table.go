package checklist

import (
	"bytes"
	"regexp"
	"slices"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// gfmTables wraps goldmark's table paragraph transformer, which is looser
// than GFM (and github.com) in three ways:
//   - it pads a header row with fewer cells than the delimiter row, where
//     GFM requires the counts to match: "- [x] a\n| - | - |" is a list
//     item with a checkbox on github.com, not a table;
//   - on the path where a setext underline closes the paragraph it takes a
//     line of dashes alone ("---", indented past a setext underline) for a
//     delimiter row, which GFM never does;
//   - it accepts a delimiter row that is a lazy continuation line, where a
//     table, being no paragraph, cannot continue lazily: in
//     "- [x] a\n| b |\n| - |" github.com shows the two lines as text of the
//     list item.
//
// Like goldmark, it only considers the first line that looks like a
// delimiter row.
type gfmTables struct {
	inner parser.ParagraphTransformer
}

func (g gfmTables) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines := node.Lines()
	src := reader.Source()
	for i := 1; i < lines.Len(); i++ {
		delim, header := lines.At(i), lines.At(i-1)
		cells, dashesOnly := delimiterRow(delim.Value(src))
		if cells == 0 {
			continue
		}
		if dashesOnly || rowCells(header.Value(src)) != cells || lazyLine(node, delim, src) {
			return
		}
		break
	}
	g.inner.Transform(node, reader, pc)
}

// delimiterRow returns the number of cells of line if goldmark would take
// it for a table delimiter row (0 if not), and whether it holds nothing
// but dashes and spaces.
func delimiterRow(line []byte) (cells int, dashesOnly bool) {
	if w, _ := util.IndentWidth(line, 0); w > 3 {
		return 0, false
	}
	dashesOnly = true
	for _, c := range line {
		switch {
		case c == '|' || c == ':':
			dashesOnly = false
		case c == '-' || util.IsSpace(c):
		default:
			return 0, false
		}
	}
	cols := bytes.Split(line, []byte{'|'})
	if util.IsBlank(cols[0]) {
		cols = cols[1:]
	}
	if len(cols) > 0 && util.IsBlank(cols[len(cols)-1]) {
		cols = cols[:len(cols)-1]
	}
	for _, col := range cols {
		if !delimiterCell.Match(col) {
			return 0, false
		}
	}
	return len(cols), dashesOnly
}

// lazyLine reports whether the line holding seg, a line of paragraph p,
// lacks the prefixes of p's containers ("> " for a block quote, the content
// indentation for a list item) and so continues p only lazily. Tabs count
// to the next multiple of four columns.
func lazyLine(p ast.Node, seg text.Segment, src []byte) bool {
	var chain []ast.Node // p's containers, innermost first
	for n := p.Parent(); n != nil && n.Kind() != ast.KindDocument; n = n.Parent() {
		chain = append(chain, n)
	}
	if len(chain) == 0 || seg.Start > len(src) {
		return false
	}
	i := bytes.LastIndexByte(src[:seg.Start], '\n') + 1
	col := 0
	advance := func() {
		if src[i] == '\t' {
			col += 4 - col%4
		} else {
			col++
		}
		i++
	}
	for k := len(chain) - 1; k >= 0; k-- {
		switch c := chain[k].(type) {
		case *ast.Blockquote:
			for n := 0; n < 3 && i < seg.Start && src[i] == ' '; n++ {
				advance()
			}
			if i >= seg.Start || src[i] != '>' {
				return true
			}
			advance()
			if i < seg.Start && (src[i] == ' ' || src[i] == '\t') {
				advance()
			}
		case *ast.ListItem:
			if c.Pos() < 0 {
				return false
			}
			want := columnOf(src, c.Pos()) + c.Offset
			for col < want {
				if i >= seg.Start || (src[i] != ' ' && src[i] != '\t') {
					return true
				}
				advance()
			}
		}
	}
	return false
}

// columnOf is the column of offset off in its line, tabs counting to the
// next multiple of four.
func columnOf(src []byte, off int) int {
	col := 0
	for _, c := range src[bytes.LastIndexByte(src[:off], '\n')+1 : off] {
		if c == '\t' {
			col += 4 - col%4
		} else {
			col++
		}
	}
	return col
}

var delimiterCell = regexp.MustCompile(`^\s*:?-+:?\s*$`)

// rowCells counts the cells of a table row as GFM does: pipes split cells
// unless backslash-escaped, and a leading and a trailing pipe are optional.
func rowCells(line []byte) int {
	line = util.TrimRightSpace(util.TrimLeftSpace(line))
	line = bytes.TrimPrefix(line, []byte{'|'})
	if len(line) > 0 && line[len(line)-1] == '|' && (len(line) < 2 || line[len(line)-2] != '\\') {
		line = line[:len(line)-1]
	}
	cells := 1
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '|':
			cells++
		}
	}
	return cells
}

// splitTable ends table t at its first body row that starts another block
// and parses the body from that row on afresh. GFM ends a table at "the
// beginning of another block-level structure", and so does github.com; but
// goldmark builds tables out of paragraphs, so a line that cannot interrupt
// a paragraph (an ordered list not starting at 1, an empty list item,
// indented code, an HTML tag on its own) stays a table row there:
// "| a |\n| - |\n2. [ ] b" is a table and a checkbox on github.com.
// Likewise a "===" line under a table is a row in GFM, but goldmark starts
// a paragraph with it that swallows the lines after it.
//
// A top-level table hands the rest of the body to the new parse, since what
// follows the row may belong to the blocks it starts. A table inside a list
// item or block quote only has its remaining rows re-parsed, a close
// approximation. Re-parsing is bounded by the collector's budget so that
// crafted bodies stay near linear; past it, such rows stay rows.
func (w *walker) splitTable(t *east.Table, depth int) {
	top := t.Parent() == w.root
	var cut ast.Node
	for r := t.FirstChild(); r != nil && cut == nil; r = r.NextSibling() {
		if _, ok := r.(*east.TableRow); ok && startsBlock(lineFrom(w.src, r.Pos())) {
			cut = r
		}
	}
	cutOff := -1
	if cut != nil {
		cutOff = cut.Pos()
	} else if top {
		cutOff = w.underlineRows(t)
	}
	if cutOff < 0 {
		return
	}
	sub := walker{
		markers: w.markers,
		out:     w.out,
		depth0:  w.depth0 + depth,
	}
	if top {
		sub.src = w.src[cutOff:]
		sub.toBody = func(off int) int { return w.bodyOffset(cutOff + off) }
		sub.topLevel = w.topLevel
	} else {
		var fragStarts, srcStarts []int
		for r := cut; r != nil; r = r.NextSibling() {
			fragStarts = append(fragStarts, len(sub.src))
			srcStarts = append(srcStarts, r.Pos())
			sub.src = append(append(sub.src, lineFrom(w.src, r.Pos())...), '\n')
		}
		sub.toBody = func(off int) int {
			i, _ := slices.BinarySearch(fragStarts, off+1)
			return w.bodyOffset(srcStarts[i-1] + off - fragStarts[i-1])
		}
	}
	if len(sub.src) > w.out.budget {
		return
	}
	w.out.budget -= len(sub.src)
	for r := cut; r != nil; {
		next := r.NextSibling()
		t.RemoveChild(t, r)
		r = next
	}
	sub.root = mdParser.Parse(text.NewReader(sub.src))
	sub.walk()
	w.done = top
}

// underlineRows handles a top-level table directly followed by a paragraph
// that goldmark started with a "===" line: GFM reads that paragraph's lines
// as rows of the table, until one starts a block. It returns the offset of
// that line, or -1.
func (w *walker) underlineRows(t *east.Table) int {
	p, ok := t.NextSibling().(*ast.Paragraph)
	if !ok || p.Lines().Len() < 2 || t.LastChild() == nil {
		return -1
	}
	first := p.Lines().At(0)
	if !setextEquals.Match(first.Value(w.src)) {
		return -1
	}
	// The paragraph must start on the line after the table's last: its
	// last row, or the delimiter row below a lone header.
	end := t.LastChild().Pos() + len(lineFrom(w.src, t.LastChild().Pos())) + 1
	if _, header := t.LastChild().(*east.TableHeader); header && end < len(w.src) {
		end += len(lineFrom(w.src, end)) + 1
	}
	if end != bytes.LastIndexByte(w.src[:first.Start], '\n')+1 {
		return -1
	}
	for i := 1; i < p.Lines().Len(); i++ {
		start := bytes.LastIndexByte(w.src[:p.Lines().At(i).Start], '\n') + 1
		if startsBlock(lineFrom(w.src, start)) {
			return start
		}
	}
	return -1
}

var setextEquals = regexp.MustCompile(`^ {0,3}=+[ \t]*\n?$`)

// tableUnderline reports whether goldmark made heading h out of the lines
// before a table by taking a setext underline below the table for the
// heading's. In "**x**\n| a |\n| - |\n| b |\n===" GFM has a paragraph and a
// table whose last row is "===" (or, for "---", a thematic break); goldmark
// closes the paragraph, moves the table out, and makes "**x**" an <h1>.
func tableUnderline(h *ast.Heading) bool {
	t, ok := h.PreviousSibling().(*east.Table)
	return ok && t.FirstChild() != nil && h.Lines().Len() > 0 && h.Lines().At(0).Start < t.FirstChild().Pos()
}

// lineFrom returns the rest of the line starting at off, without its LF.
func lineFrom(src []byte, off int) []byte {
	if off < 0 || off > len(src) {
		return nil
	}
	line := src[off:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return line
}

// htmlTagLine matches a line holding one HTML open or close tag: the start
// of an HTML block that cannot interrupt a paragraph (CommonMark type 7).
var htmlTagLine = regexp.MustCompile(`^(?:<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][-A-Za-z0-9_.:]*(?:\s*=\s*(?:[^\s"'=<>` + "`" + `]+|'[^']*'|"[^"]*"))?)*\s*/?>|</[A-Za-z][A-Za-z0-9-]*\s*>)\s*$`)

// startsBlock reports whether a table row's line would start a block that
// cannot interrupt a paragraph, the lines goldmark leaves in a table.
func startsBlock(line []byte) bool {
	indent, i := 0, 0
	for ; i < len(line) && (line[i] == ' ' || line[i] == '\t'); i++ {
		if line[i] == '\t' {
			indent += 4 - indent%4
		} else {
			indent++
		}
	}
	rest := line[i:]
	switch {
	case len(rest) == 0:
		return false
	case indent >= 4: // indented code
		return true
	case len(rest) == 1 && (rest[0] == '-' || rest[0] == '+' || rest[0] == '*'): // empty item
		return true
	}
	d := 0
	for d < len(rest) && d < 10 && rest[d] >= '0' && rest[d] <= '9' {
		d++
	}
	if d > 0 && d <= 9 && d < len(rest) && (rest[d] == '.' || rest[d] == ')') {
		return d+1 == len(rest) || rest[d+1] == ' ' || rest[d+1] == '\t'
	}
	return rest[0] == '<' && htmlTagLine.Match(rest)
}
