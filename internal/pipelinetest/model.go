package pipelinetest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// shape is the part of a CodePipeline API model shape (service-2.json /
// the Smithy model) that request validation needs.
type shape struct {
	kind     string // "string", "integer", "structure"
	min, max int    // string length in characters, or integer range; max 0: none
	pattern  *regexp.Regexp
	enum     []string
	members  map[string]member
}

type member struct {
	shape    *shape
	required bool
}

// The shapes of the four operations' inputs, from the CodePipeline API
// model (2015-07-09). Patterns must match the whole value.
var (
	pipelineName = &shape{kind: "string", min: 1, max: 100, pattern: regexp.MustCompile(`^[A-Za-z0-9.@\-_]+$`)}
	stageName    = &shape{kind: "string", min: 1, max: 100, pattern: regexp.MustCompile(`^[A-Za-z0-9.@\-_]+$`)}
	actionName   = &shape{kind: "string", min: 1, max: 100, pattern: regexp.MustCompile(`^[A-Za-z0-9.@\-_]+$`)}
	uuidPattern  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	executionID  = &shape{kind: "string", pattern: uuidPattern}
	approvalTok  = &shape{kind: "string", pattern: uuidPattern}
	maxResults   = &shape{kind: "integer", min: 1, max: 100}
	nextToken    = &shape{kind: "string", min: 1, max: 2048}

	inputs = map[string]*shape{
		"GetPipelineState": {kind: "structure", members: map[string]member{
			"name": {pipelineName, true},
		}},
		"GetPipelineExecution": {kind: "structure", members: map[string]member{
			"pipelineName":        {pipelineName, true},
			"pipelineExecutionId": {executionID, true},
		}},
		"ListPipelineExecutions": {kind: "structure", members: map[string]member{
			"pipelineName": {pipelineName, true},
			"maxResults":   {maxResults, false},
			"nextToken":    {nextToken, false},
			"filter": {&shape{kind: "structure", members: map[string]member{
				"succeededInStage": {&shape{kind: "structure", members: map[string]member{
					"stageName": {stageName, false},
				}}, false},
			}}, false},
		}},
		"PutApprovalResult": {kind: "structure", members: map[string]member{
			"pipelineName": {pipelineName, true},
			"stageName":    {stageName, true},
			"actionName":   {actionName, true},
			"result": {&shape{kind: "structure", members: map[string]member{
				"summary": {&shape{kind: "string", min: 0, max: 512}, true},
				"status":  {&shape{kind: "string", enum: []string{"Approved", "Rejected"}}, true},
			}}, true},
			"token": {approvalTok, true},
		}},
	}
)

// validate checks a JSON value against s and returns every violation, each
// naming the member path.
func validate(path string, raw json.RawMessage, s *shape) []string {
	var errs []string
	switch s.kind {
	case "structure":
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return []string{fmt.Sprintf("%s: want an object, got %s", path, raw)}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m, ok := s.members[k]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: unknown member %q", path, k))
				continue
			}
			errs = append(errs, validate(join(path, k), obj[k], m.shape)...)
		}
		names := make([]string, 0, len(s.members))
		for k := range s.members {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if _, ok := obj[k]; !ok && s.members[k].required {
				errs = append(errs, fmt.Sprintf("%s: missing required member %q", path, k))
			}
		}
	case "string":
		var v string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
			return []string{fmt.Sprintf("%s: want a string, got %s", path, raw)}
		}
		// Smithy lengths count characters (code points), not bytes.
		n := utf8.RuneCountInString(v)
		if n < s.min || (s.max > 0 && n > s.max) {
			errs = append(errs, fmt.Sprintf("%s: length %d outside %d..%d", path, n, s.min, s.max))
		}
		if s.pattern != nil && !s.pattern.MatchString(v) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", path, v, s.pattern))
		}
		if s.enum != nil && !contains(s.enum, v) {
			errs = append(errs, fmt.Sprintf("%s: %q is not one of %s", path, v, strings.Join(s.enum, ", ")))
		}
	case "integer":
		var v int64
		if len(raw) == 0 || strings.ContainsAny(string(raw), ".eE\"") || json.Unmarshal(raw, &v) != nil {
			return []string{fmt.Sprintf("%s: want an integer, got %s", path, raw)}
		}
		if v < int64(s.min) || (s.max > 0 && v > int64(s.max)) {
			errs = append(errs, fmt.Sprintf("%s: %d outside %d..%d", path, v, s.min, s.max))
		}
	}
	return errs
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
