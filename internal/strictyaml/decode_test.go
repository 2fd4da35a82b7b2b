package strictyaml

import "testing"

func TestDecode(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		line int
		msg  string // "" when it decodes
		null bool   // decodes to no document
	}{
		"a mapping":          {in: "a: 1\nb: [x]\n"},
		"empty":              {in: "", null: true},
		"only comments":      {in: "# nothing\n", null: true},
		"two documents":      {in: "a: 1\n---\nb: 2\n", line: 2, msg: "multiple YAML documents; checkoff reads one"},
		"control character":  {in: "a: 1\nb: \x01\n", line: 2, msg: "control character U+0001 is not allowed"},
		"invalid UTF-8":      {in: "a: 1\n\xff\n", line: 2, msg: "invalid UTF-8"},
		"too large":          {in: "a: 123456789\n", msg: "file is 13 bytes; the limit is 12"},
		"parser error line":  {in: "a: 1\nb: [x\n", line: 2, msg: "did not find expected ',' or ']'"},
		"unknown anchor":     {in: "a: 1\nb: *nope\n", line: 2, msg: "unknown anchor 'nope' referenced"},
		"first-line problem": {in: "a: b: c\n", line: 1, msg: "mapping values are not allowed in this context"},
	} {
		t.Run(name, func(t *testing.T) {
			max := 1 << 10
			if name == "too large" {
				max = 12
			}
			doc, err := Decode([]byte(tc.in), max)
			switch {
			case tc.msg != "":
				if err == nil || err.Line != tc.line || err.Msg != tc.msg {
					t.Errorf("Decode = %v, want line %d %q", err, tc.line, tc.msg)
				}
			case err != nil:
				t.Errorf("Decode: %v", err)
			case (doc == nil) != tc.null:
				t.Errorf("document %v, want none: %v", doc, tc.null)
			}
		})
	}
}
