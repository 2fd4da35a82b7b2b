// Package strictyaml is the front end both of checkoff's configuration
// files (.github/checkoff.yml and releases.yml) are read through: one YAML
// document, bounded in size, no control characters or invalid UTF-8, and
// every error at a 1-based line, which the YAML library does not give for
// all of them. The callers walk the node tree themselves.
//
// Entry point: Decode.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Error is a problem with the file, at Line (1-based; 0: the whole file).
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Decode decodes data's one YAML document; the node is nil when the file is
// empty or only comments. A second document is an error: it would
// otherwise be ignored, and a config read by half is worse than none.
func Decode(data []byte, maxBytes int) (*yaml.Node, *Error) {
	if err := precheck(data, maxBytes); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(err, data)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{Line: extra.Line, Msg: "multiple YAML documents; checkoff reads one"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(err, data)
	}
	return &doc, nil
}

// precheck refuses what the YAML library reports without a line number.
func precheck(data []byte, maxBytes int) *Error {
	if len(data) > maxBytes {
		return &Error{Msg: fmt.Sprintf("file is %d bytes; the limit is %d", len(data), maxBytes)}
	}
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return &Error{Line: line, Msg: "invalid UTF-8"}
		case r == '\n':
			line++
		case r == '\t' || r == '\r':
		case r < 0x20 || r == 0x7f:
			return &Error{Line: line, Msg: fmt.Sprintf("control character %U is not allowed", r)}
		}
		i += size
	}
	return nil
}

var (
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// parserProblems are the errors of the YAML library's parser stage, which
// it reports with a 0-based line (its scanner's errors are 1-based).
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntaxError turns a syntax error from the YAML library into an Error with
// a 1-based line. The library leaves the line out for errors on the first
// line, and counts from 0 for parser errors.
func syntaxError(err error, data []byte) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			line++
		}
		return &Error{Line: line, Msg: m[2]}
	}
	line := 1
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		for i, l := range bytes.Split(data, []byte("\n")) {
			if bytes.Contains(l, []byte("*"+m[1])) {
				line = i + 1
				break
			}
		}
	}
	return &Error{Line: line, Msg: strings.TrimPrefix(msg, "yaml: ")}
}
