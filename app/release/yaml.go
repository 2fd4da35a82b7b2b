package release

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

// The release config is read as checkoff.yml is (checklist.ParseConfig):
// one document, bounded, every error at a 1-based line. The walker is a
// copy of checklist's small one because checklist keeps its own
// unexported.

// maxConfigBytes bounds the release file; a real one is a few hundred bytes.
const maxConfigBytes = 256 << 10

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

// decodeOne decodes data's one YAML document; nil when it is empty.
func (p parser) decodeOne(data []byte) (*yaml.Node, error) {
	if err := p.precheck(data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, p.yamlError(err, data)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		// A second document would be ignored: refuse it rather than
		// gate releases on half of what the operator wrote.
		return nil, p.errf(extra.Line, "multiple YAML documents; checkoff reads one")
	case !errors.Is(err, io.EOF):
		return nil, p.yamlError(err, data)
	}
	return &doc, nil
}

// precheck refuses what the YAML library reports without a line number.
func (p parser) precheck(data []byte) error {
	if len(data) > maxConfigBytes {
		return fmt.Errorf("%s: file is %d bytes; the limit is %d", p.file, len(data), maxConfigBytes)
	}
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return p.errf(line, "invalid UTF-8")
		case r == '\n':
			line++
		case r == '\t' || r == '\r':
		case r < 0x20 || r == 0x7f:
			return p.errf(line, "control character %U is not allowed", r)
		}
		i += size
	}
	return nil
}

// yamlError says a YAML syntax error at a 1-based line.
func (p parser) yamlError(err error, data []byte) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			line++
		}
		return p.errf(line, "%s", m[2])
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
	return p.errf(line, "%s", strings.TrimPrefix(msg, "yaml: "))
}
