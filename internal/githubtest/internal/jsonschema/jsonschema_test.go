package jsonschema

import (
	"strings"
	"testing"
)

const testDoc = `{
  "definitions": {
    "action": {
      "type": "object",
      "properties": {
        "label": {"type": "string", "maxLength": 20},
        "description": {"type": "string", "maxLength": 40}
      },
      "required": ["label", "description"],
      "additionalProperties": false
    },
    "check": {
      "type": "object",
      "properties": {
        "conclusion": {"type": "string", "enum": ["success", "failure"]},
        "actions": {"type": "array", "maxItems": 3, "minItems": 1, "items": {"$ref": "#/definitions/action"}},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "ratio": {"type": "number"},
        "user": {"type": "object", "nullable": true, "properties": {"login": {"type": "string"}}},
        "kind": {"const": "run"},
        "at": {"type": "string", "format": "date-time"},
        "name": {"type": "string", "minLength": 1},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "id": {"type": ["integer", "null"]}
      },
      "required": ["conclusion"]
    },
    "content": {
      "oneOf": [
        {"type": "object", "properties": {"type": {"enum": ["file"]}}, "required": ["type"]},
        {"type": "object", "properties": {"type": {"enum": ["symlink"]}}, "required": ["type"]},
        {"type": "object", "properties": {"type": {"type": "string"}}, "required": ["type", "submodule"]}
      ]
    },
    "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    "both": {"allOf": [{"required": ["a"]}, {"required": ["b"]}]},
    "slash~name/x": {"type": "boolean"},
    "patterned": {"type": "string", "pattern": "^a"},
    "never": false
  }
}`

func TestValidate(t *testing.T) {
	doc, err := Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		ref   string
		value string
		want  []string // substrings of the errors, in order; none means valid
	}{
		"valid check":                           {ref: "check", value: `{"conclusion":"success","actions":[{"label":"Re-check","description":"Evaluate again"}],"count":3,"ratio":0.5,"user":null,"kind":"run","at":"2024-05-01T10:00:00Z","name":"x","tags":{"a":"b"},"id":null}`},
		"enum":                                  {ref: "check", value: `{"conclusion":"green"}`, want: []string{`$.conclusion: "green" is not one of ["success","failure"]`}},
		"required":                              {ref: "check", value: `{}`, want: []string{`$: missing required property "conclusion"`}},
		"wrong type":                            {ref: "check", value: `{"conclusion":1}`, want: []string{"$.conclusion: want string, got integer"}},
		"integer fraction":                      {ref: "check", value: `{"conclusion":"success","count":1.5}`, want: []string{"$.count: want integer, got number"}},
		"integer as float":                      {ref: "check", value: `{"conclusion":"success","count":2.0}`},
		"maximum":                               {ref: "check", value: `{"conclusion":"success","count":11}`, want: []string{"greater than maximum 10"}},
		"minimum":                               {ref: "check", value: `{"conclusion":"success","count":0}`, want: []string{"less than minimum 1"}},
		"maxItems":                              {ref: "check", value: `{"conclusion":"success","actions":[{"label":"a","description":"b"},{"label":"a","description":"b"},{"label":"a","description":"b"},{"label":"a","description":"b"}]}`, want: []string{"$.actions: 4 items, more than maxItems 3"}},
		"minItems":                              {ref: "check", value: `{"conclusion":"success","actions":[]}`, want: []string{"fewer than minItems 1"}},
		"maxLength via ref":                     {ref: "check", value: `{"conclusion":"success","actions":[{"label":"123456789012345678901","description":"b"}]}`, want: []string{"$.actions[0].label: string of 21 characters is longer than maxLength 20"}},
		"maxLength counts characters not bytes": {ref: "action", value: `{"label":"ééééééééééééééééééé","description":"b"}`},
		"minLength":                             {ref: "check", value: `{"conclusion":"success","name":""}`, want: []string{"shorter than minLength 1"}},
		"additionalProperties":                  {ref: "action", value: `{"label":"a","description":"b","extra":1}`, want: []string{"$.extra: property is not allowed"}},
		"additionalProperties schema":           {ref: "check", value: `{"conclusion":"success","tags":{"a":1}}`, want: []string{"$.tags.a: want string, got integer"}},
		"nullable rejects wrong type":           {ref: "check", value: `{"conclusion":"success","user":"bob"}`, want: []string{"$.user: want object, got string"}},
		"type list":                             {ref: "check", value: `{"conclusion":"success","id":"x"}`, want: []string{`$.id: want ["integer","null"], got string`}},
		"const":                                 {ref: "check", value: `{"conclusion":"success","kind":"suite"}`, want: []string{`$.kind: "suite" is not "run"`}},
		"date-time":                             {ref: "check", value: `{"conclusion":"success","at":"yesterday"}`, want: []string{`"yesterday" is not an RFC 3339 date-time`}},
		"several errors":                        {ref: "check", value: `{"conclusion":"green","count":0}`, want: []string{"$.conclusion", "$.count"}},
		"oneOf one":                             {ref: "content", value: `{"type":"file"}`},
		"oneOf none":                            {ref: "content", value: `{"type":"dir"}`, want: []string{"matches none of the 3 oneOf alternatives; closest:"}},
		"oneOf two":                             {ref: "content", value: `{"type":"file","submodule":true}`, want: []string{"matches 2 of the oneOf alternatives"}},
		"anyOf":                                 {ref: "either", value: `7`},
		"anyOf none":                            {ref: "either", value: `true`, want: []string{"matches none of the 2 anyOf alternatives"}},
		"allOf":                                 {ref: "both", value: `{"a":1}`, want: []string{`missing required property "b"`}},
		"escaped ref":                           {ref: "slash~0name~1x", value: `"no"`, want: []string{"want boolean, got string"}},
		"unsupported keyword fails":             {ref: "patterned", value: `"abc"`, want: []string{`unsupported keyword "pattern"`}},
		"false schema":                          {ref: "never", value: `1`, want: []string{"no value is allowed"}},
		"dangling ref":                          {ref: "missing", value: `1`, want: []string{`no "missing"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := Decode([]byte(tc.value))
			if err != nil {
				t.Fatal(err)
			}
			errs := doc.ValidateRef("#/definitions/"+tc.ref, v)
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors %v, want %d matching %q", len(errs), errs, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i].Error(), w)
				}
			}
		})
	}
}

func TestDecodeRejectsTrailingData(t *testing.T) {
	if _, err := Decode([]byte(`{} {}`)); err == nil {
		t.Error("Decode accepted two values")
	}
	if _, err := Decode([]byte(`{"a":`)); err == nil {
		t.Error("Decode accepted truncated JSON")
	}
}

func TestValidateGoValues(t *testing.T) {
	doc, err := Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	// Values built in Go rather than decoded carry float64 and int numbers.
	v := map[string]any{"conclusion": "success", "count": 3, "ratio": 0.25}
	if errs := doc.ValidateRef("#/definitions/check", v); errs != nil {
		t.Errorf("errors on Go-built value: %v", errs)
	}
	v["count"] = 2.5
	if errs := doc.ValidateRef("#/definitions/check", v); len(errs) != 1 {
		t.Errorf("got %v, want one error for a fractional integer", errs)
	}
}
