package release

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/checkoff-app/checkoff/internal/strictyaml"
)

// The release config is read as checkoff.yml is (checklist.ParseConfig),
// through the same strict front end (package strictyaml): one document,
// bounded, every error at a 1-based line.

// maxConfigBytes bounds the release file; a real one is a few hundred bytes.
const maxConfigBytes = 256 << 10

// decodeOne decodes data's one YAML document (see package strictyaml); nil
// when it is empty.
func (p parser) decodeOne(data []byte) (*yaml.Node, error) {
	doc, err := strictyaml.Decode(data, maxConfigBytes)
	if err != nil {
		if err.Line == 0 {
			return nil, fmt.Errorf("%s: %s", p.file, err.Msg)
		}
		return nil, p.errf(err.Line, "%s", err.Msg)
	}
	return doc, nil
}
