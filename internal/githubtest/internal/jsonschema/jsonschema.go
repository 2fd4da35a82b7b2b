// Package jsonschema validates decoded JSON against the subset of JSON Schema
// (draft-07) and OpenAPI 3.0 schema keywords used by GitHub's REST API
// description and by @octokit/webhooks-schemas.
//
// Entry points: Parse loads a schema document, Document.Validate checks a
// value against a schema inside it, and Decode turns JSON bytes into the value
// shape Validate expects. Validation keywords it does not implement make
// validation fail instead of being skipped, so a schema can never look
// stricter than the check really is.
package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Document is a parsed schema document; $refs resolve against its root.
type Document struct {
	root any

	mu   sync.Mutex
	refs map[string]any
}

// Error is one validation failure: where in the value and what is wrong.
type Error struct {
	Path    string // JSON path into the value, like $.output.summary
	Message string
}

// Error formats the failure as "path: message".
func (e Error) Error() string { return e.Path + ": " + e.Message }

// unsupported lists validation keywords this package does not implement.
// Meeting one is an error, never a silent pass.
var unsupported = []string{
	"additionalItems", "contains", "dependencies", "dependentRequired",
	"dependentSchemas", "else", "exclusiveMaximum", "exclusiveMinimum", "if",
	"maxProperties", "minProperties", "multipleOf", "not", "pattern",
	"patternProperties", "propertyNames", "then", "uniqueItems",
	"unevaluatedItems", "unevaluatedProperties",
}

// Parse decodes a schema document.
func Parse(data []byte) (*Document, error) {
	root, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("parse schema document: %w", err)
	}
	return &Document{root: root, refs: map[string]any{}}, nil
}

// Decode decodes one JSON value, keeping numbers as json.Number so integers
// and fractions stay apart. Trailing data is an error.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// Resolve returns the schema at a local reference such as
// "#/components/schemas/check-run" or "#/definitions/ping$event".
func (d *Document) Resolve(ref string) (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.refs[ref]; ok {
		return s, nil
	}
	if !strings.HasPrefix(ref, "#") {
		return nil, fmt.Errorf("resolve %q: only local references are supported", ref)
	}
	node := d.root
	if p := strings.TrimPrefix(ref, "#"); p != "" {
		for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			m, ok := node.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("resolve %q: %q is not inside an object", ref, part)
			}
			if node, ok = m[part]; !ok {
				return nil, fmt.Errorf("resolve %q: no %q", ref, part)
			}
		}
	}
	d.refs[ref] = node
	return node, nil
}

// Validate checks v against schema (a decoded schema taken from this
// document, typically via Resolve) and returns every failure found, nil when
// v is valid.
func (d *Document) Validate(schema, v any) []Error {
	var errs []Error
	d.validate(schema, v, "$", &errs, 0)
	return errs
}

// ValidateRef is Validate against the schema at ref.
func (d *Document) ValidateRef(ref string, v any) []Error {
	s, err := d.Resolve(ref)
	if err != nil {
		return []Error{{Path: "$", Message: err.Error()}}
	}
	return d.Validate(s, v)
}

// maxDepth bounds $ref recursion on cyclic schemas walked with cyclic values.
const maxDepth = 200

func (d *Document) validate(schema, v any, path string, errs *[]Error, depth int) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, Error{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if depth > maxDepth {
		fail("schema nesting deeper than %d", maxDepth)
		return
	}
	switch s := schema.(type) {
	case bool:
		if !s {
			fail("no value is allowed here")
		}
		return
	case map[string]any:
		d.validateObject(s, v, path, errs, depth, fail)
	default:
		fail("invalid schema of type %T", schema)
	}
}

func (d *Document) validateObject(s map[string]any, v any, path string, errs *[]Error, depth int, fail func(string, ...any)) {
	for _, kw := range unsupported {
		if _, ok := s[kw]; ok {
			fail("schema uses unsupported keyword %q", kw)
			return
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		// draft-07 and OpenAPI 3.0: keywords beside $ref are ignored.
		target, err := d.Resolve(ref)
		if err != nil {
			fail("%v", err)
			return
		}
		d.validate(target, v, path, errs, depth+1)
		return
	}
	if v == nil && s["nullable"] == true {
		return
	}
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		fail("want %s, got %s", typeString(t), kindOf(v))
		return
	}
	if e, ok := s["enum"].([]any); ok && !contains(e, v) {
		fail("%s is not one of %s", short(v), short(e))
	}
	if c, ok := s["const"]; ok && !equal(c, v) {
		fail("%s is not %s", short(v), short(c))
	}
	switch val := v.(type) {
	case string:
		n := utf8.RuneCountInString(val)
		if max, ok := intKeyword(s, "maxLength"); ok && n > max {
			fail("string of %d characters is longer than maxLength %d", n, max)
		}
		if min, ok := intKeyword(s, "minLength"); ok && n < min {
			fail("string of %d characters is shorter than minLength %d", n, min)
		}
		if f, _ := s["format"].(string); f == "date-time" {
			if _, err := time.Parse(time.RFC3339, val); err != nil {
				fail("%q is not an RFC 3339 date-time", val)
			}
		}
	case []any:
		if max, ok := intKeyword(s, "maxItems"); ok && len(val) > max {
			fail("%d items, more than maxItems %d", len(val), max)
		}
		if min, ok := intKeyword(s, "minItems"); ok && len(val) < min {
			fail("%d items, fewer than minItems %d", len(val), min)
		}
		if items, ok := s["items"]; ok {
			if _, tuple := items.([]any); tuple {
				fail("schema uses unsupported tuple form of items")
			} else {
				for i, item := range val {
					d.validate(items, item, fmt.Sprintf("%s[%d]", path, i), errs, depth+1)
				}
			}
		}
	case map[string]any:
		d.validateProperties(s, val, path, errs, depth, fail)
	default:
		if f, ok := number(v); ok {
			if max, ok := number(s["maximum"]); ok && f > max {
				fail("%v is greater than maximum %v", short(v), max)
			}
			if min, ok := number(s["minimum"]); ok && f < min {
				fail("%v is less than minimum %v", short(v), min)
			}
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			d.validate(sub, v, path, errs, depth+1)
		}
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		if matched, best := d.alternatives(anyOf, v, path, depth); matched == 0 {
			fail("matches none of the %d anyOf alternatives%s", len(anyOf), closest(best))
		}
	}
	if oneOf, ok := s["oneOf"].([]any); ok {
		switch matched, best := d.alternatives(oneOf, v, path, depth); {
		case matched == 0:
			fail("matches none of the %d oneOf alternatives%s", len(oneOf), closest(best))
		case matched > 1:
			fail("matches %d of the oneOf alternatives, want exactly 1", matched)
		}
	}
}

func (d *Document) validateProperties(s, obj map[string]any, path string, errs *[]Error, depth int, fail func(string, ...any)) {
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := obj[name]; !ok {
				fail("missing required property %q", name)
			}
		}
	}
	props, _ := s["properties"].(map[string]any)
	extra, hasExtra := s["additionalProperties"]
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys) // stable error order
	for _, k := range keys {
		sub := path + "." + k
		if p, ok := props[k]; ok {
			d.validate(p, obj[k], sub, errs, depth+1)
			continue
		}
		if hasExtra {
			if extra == false {
				*errs = append(*errs, Error{Path: sub, Message: "property is not allowed (additionalProperties is false)"})
			} else if extra != true {
				d.validate(extra, obj[k], sub, errs, depth+1)
			}
		}
	}
}

// alternatives counts the schemas v satisfies and returns the failures of
// the closest miss, to explain a failed anyOf/oneOf.
func (d *Document) alternatives(schemas []any, v any, path string, depth int) (matched int, best []Error) {
	for _, sub := range schemas {
		var errs []Error
		d.validate(sub, v, path, &errs, depth+1)
		if len(errs) == 0 {
			matched++
		} else if best == nil || len(errs) < len(best) {
			best = errs
		}
	}
	return matched, best
}

func closest(errs []Error) string {
	if len(errs) == 0 {
		return ""
	}
	parts := make([]string, 0, 3)
	for i, e := range errs {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(errs)-3))
			break
		}
		parts = append(parts, e.Error())
	}
	return "; closest: " + strings.Join(parts, "; ")
}

func typeMatches(t, v any) bool {
	switch t := t.(type) {
	case string:
		return isType(t, v)
	case []any:
		for _, one := range t {
			if name, ok := one.(string); ok && isType(name, v) {
				return true
			}
		}
	}
	return false
}

func isType(name string, v any) bool {
	switch name {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := number(v)
		return ok
	case "integer":
		f, ok := number(v)
		return ok && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

func typeString(t any) string {
	if s, ok := t.(string); ok {
		return s
	}
	return short(t)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	if f, ok := number(v); ok {
		if f == math.Trunc(f) {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// number reads any numeric representation a decoded or hand-built value may
// carry.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

func intKeyword(s map[string]any, kw string) (int, bool) {
	f, ok := number(s[kw])
	return int(f), ok
}

func contains(list []any, v any) bool {
	for _, x := range list {
		if equal(x, v) {
			return true
		}
	}
	return false
}

func equal(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// short renders a value for a message, cut to keep messages readable.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}
