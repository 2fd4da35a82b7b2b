package checklist

import (
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// goldmark takes time quadratic in the length of a line for a few hostile
// constructs that cmark-gfm keeps linear. A 64 KiB body of them (GitHub's
// maximum) cost over a second, a 1 MiB one minutes. The limits here keep
// Parse near linear while changing nothing a real pull request contains.

// boundedLinks wraps goldmark's link parser so that scanning for a link
// destination or title stops where CommonMark (and cmark-gfm) give up
// anyway: at the 33rd nested parenthesis of a destination, at a second "<"
// in a <destination>, at a second "(" in a (title). goldmark scans to the
// end of the line instead, once per "](", so "[a](" repeated over a line
// is quadratic.
type boundedLinks struct {
	inner parser.InlineParser
}

// boundedLinkParsers returns goldmark's default inline parsers with the
// link parser wrapped in boundedLinks.
func boundedLinkParsers() []util.PrioritizedValue {
	ps := parser.DefaultInlineParsers()
	link := parser.NewLinkParser() // a shared instance, also in ps
	for i, p := range ps {
		if p.Value == link {
			ps[i].Value = boundedLinks{link}
		}
	}
	return ps
}

func (b boundedLinks) Trigger() []byte { return b.inner.Trigger() }

func (b boundedLinks) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, _ := block.PeekLine()
	if len(line) > 0 && line[0] == ']' {
		block = boundedReader{block}
	}
	return b.inner.Parse(parent, block, pc)
}

// CloseBlock passes the link parser's clean-up on; goldmark only calls it on
// inline parsers that have it.
func (b boundedLinks) CloseBlock(parent ast.Node, block text.Reader, pc parser.Context) {
	if cb, ok := b.inner.(parser.CloseBlocker); ok {
		cb.CloseBlock(parent, block, pc)
	}
}

// boundedReader shortens the lines the link parser peeks at after "]" to
// the part a destination or title may occupy.
type boundedReader struct {
	text.Reader
}

// maxLinkParens is cmark's limit on nested parentheses in a destination.
const maxLinkParens = 32

func (r boundedReader) PeekLine() ([]byte, text.Segment) {
	line, seg := r.Reader.PeekLine()
	if len(line) == 0 {
		return line, seg
	}
	end := len(line)
	switch line[0] {
	case ']': // the parser's own first look
		return line, seg
	case '<', '(': // <destination> or (title): no unescaped opener inside
		end = scanUntil(line, line[0])
	case '"', '\'': // a quoted title stops at its quote, which it finds anyway
	default:
		depth := 0
	scan:
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case c == '\\':
				i++
			case c == '(':
				if depth++; depth > maxLinkParens {
					end = i
					break scan
				}
			case c == ')':
				if depth--; depth < 0 {
					break scan
				}
			case util.IsSpace(c):
				break scan
			}
		}
	}
	if end < len(line) {
		line = line[:end]
		seg.Stop = seg.Start + end
	}
	return line, seg
}

// scanUntil returns the index of the first unescaped c in line after its
// first byte, or len(line).
func scanUntil(line []byte, c byte) int {
	for i := 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case c:
			return i
		}
	}
	return len(line)
}

// Two caps on the container prefix of a line (its leading block-quote and
// list markers and whitespace) bound goldmark's block parsing, which for
// each line does work proportional to the depth of open containers times
// the length of the prefix: ">>>>…" over a 64 KiB line took over a second,
// a 1 MiB body of deeply indented list items over a minute. With the caps
// a line continues at most about 256 levels, and parsing stays within a
// small multiple of 256 steps per byte. Beyond the caps, markers and
// whitespace are dropped from the prefix (a marker keeps the space after
// it); the line's content stays, so a box 1,000 levels deep is still a box,
// at a depth of at most 256.
const (
	maxPrefixMarkers = 128
	maxPrefixColumns = 256 // whitespace columns, tabs to the next multiple of 4
)

// capPrefix returns line with the container markers and whitespace beyond
// the caps removed from its prefix, and whether it removed any. Of too many
// markers it keeps the first and the last maxPrefixMarkers/2, so that the
// innermost containers, which hold the line's content (a list item with a
// box, say), survive.
func capPrefix(line []byte) ([]byte, bool) {
	markers, cols, end := 0, 0, 0
	for end < len(line) {
		n, w := prefixUnit(line[end:], cols)
		if n == 0 {
			break
		}
		if w == 0 {
			markers++
		}
		cols += w
		end += n
	}
	if markers <= maxPrefixMarkers && cols <= maxPrefixColumns {
		return line, false
	}
	out := make([]byte, 0, len(line))
	m := 0
	cols = 0
	for i := 0; i < end; {
		n, w := prefixUnit(line[i:], cols)
		if w == 0 {
			if m < maxPrefixMarkers/2 || m >= markers-maxPrefixMarkers/2 {
				out = append(out, line[i:i+n]...)
			}
			m++
		} else if cols += w; cols <= maxPrefixColumns {
			out = append(out, line[i:i+n]...)
		}
		i += n
	}
	return append(out, line[end:]...), true
}

// prefixUnit measures the start of rest, at column col of a line prefix:
// a whitespace character (n 1, w its width in columns), or a container
// marker with the space or tab after it (w 0), or nothing (n 0).
func prefixUnit(rest []byte, col int) (n, w int) {
	switch rest[0] {
	case ' ':
		return 1, 1
	case '\t':
		return 1, 4 - col%4
	}
	n = markerLen(rest)
	if n > 0 && n < len(rest) && (rest[n] == ' ' || rest[n] == '\t') {
		n++
	}
	return n, 0
}

// markerLen returns the length of the block-quote or list marker starting
// rest ("> ", "- ", "12. ", "3) " without the space), or 0.
func markerLen(rest []byte) int {
	if len(rest) == 0 {
		return 0
	}
	switch rest[0] {
	case '>':
		return 1
	case '-', '+', '*':
		if len(rest) > 1 && (rest[1] == ' ' || rest[1] == '\t') {
			return 1
		}
		return 0
	}
	d := 0
	for d < len(rest) && d < 10 && rest[d] >= '0' && rest[d] <= '9' {
		d++
	}
	if d == 0 || d > 9 || d+1 >= len(rest) || (rest[d] != '.' && rest[d] != ')') ||
		(rest[d+1] != ' ' && rest[d+1] != '\t') {
		return 0
	}
	return d + 1
}
