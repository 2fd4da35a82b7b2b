package githubtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/checkoff-app/checkoff/internal/githubtest/internal/jsonschema"
)

//go:generate node ../../scripts/gen-openapi-subset.js

// subsetJSON is GitHub's REST API description cut down to the operations
// checkoff calls; scripts/gen-openapi-subset.js writes it.
//
//go:embed openapi-subset.json
var subsetJSON []byte

// authKind says which credential an operation takes.
type authKind int

const (
	authInstallation authKind = iota // installation access token (ghs_...)
	authAppJWT                       // the App's RS256 JWT
)

// operation is one method+path of the subset, ready to match and validate.
type operation struct {
	id       string
	method   string
	template string
	re       *regexp.Regexp
	path     []param // in template order, one per regexp group
	query    map[string]param
	body     any // request body schema; nil when the operation takes none
	bodyReq  bool
	response map[int]any // success status -> schema (nil schema: no JSON body)
	auth     authKind
	// permission is the installation permission the call needs, like
	// "checks:write"; alternatives are separated by "|".
	permission string
}

type param struct {
	name     string
	required bool
	schema   any
	multi    bool // x-multi-segment: the value may contain slashes
}

// api is the parsed subset, shared by every Server in the process.
type api struct {
	doc *jsonschema.Document
	ops []*operation
}

var (
	loadOnce  sync.Once
	loadedAPI *api
	loadErr   error
)

func loadAPI() (*api, error) {
	loadOnce.Do(func() { loadedAPI, loadErr = parseAPI(subsetJSON) })
	return loadedAPI, loadErr
}

// auths and permissions of the operations. GitHub documents them per
// endpoint ("fine-grained access token permissions"); the subset file does
// not carry them.
var opAuth = map[string]struct {
	auth       authKind
	permission string
}{
	"checks/create":                                   {authInstallation, "checks:write"},
	"checks/update":                                   {authInstallation, "checks:write"},
	"checks/list-for-ref":                             {authInstallation, "checks:read"},
	"repos/get-content":                               {authInstallation, "contents:read"},
	"repos/get-collaborator-permission-level":         {authInstallation, "metadata:read"},
	"pulls/get":                                       {authInstallation, "pull_requests:read"},
	"pulls/list-reviews":                              {authInstallation, "pull_requests:read"},
	"pulls/list-files":                                {authInstallation, "pull_requests:read"},
	"repos/compare-commits-with-basehead":             {authInstallation, "contents:read"},
	"repos/list-pull-requests-associated-with-commit": {authInstallation, "pull_requests:read"},
	"issues/create-comment":                           {authInstallation, "issues:write|pull_requests:write"},
	"issues/list-comments":                            {authInstallation, "issues:read|pull_requests:read"},
	"issues/update-comment":                           {authInstallation, "issues:write|pull_requests:write"},
	"apps/get-repo-installation":                      {authAppJWT, ""},
	"apps/create-installation-access-token":           {authAppJWT, ""},
	"apps/list-webhook-deliveries":                    {authAppJWT, ""},
	"apps/get-webhook-delivery":                       {authAppJWT, ""},
	"apps/redeliver-webhook-delivery":                 {authAppJWT, ""},
	"apps/get-authenticated":                          {authAppJWT, ""},
}

func parseAPI(data []byte) (*api, error) {
	doc, err := jsonschema.Parse(data)
	if err != nil {
		return nil, err
	}
	var raw struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name     string          `json:"name"`
				In       string          `json:"in"`
				Required bool            `json:"required"`
				Schema   json.RawMessage `json:"schema"`
				Multi    bool            `json:"x-multi-segment"`
			} `json:"parameters"`
			RequestBody *struct {
				Required bool `json:"required"`
				Content  map[string]struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse openapi subset: %w", err)
	}
	a := &api{doc: doc}
	for template, methods := range raw.Paths {
		for method, o := range methods {
			auth, ok := opAuth[o.OperationID]
			if !ok {
				return nil, fmt.Errorf("openapi subset: operation %s has no auth rule", o.OperationID)
			}
			op := &operation{
				id: o.OperationID, method: strings.ToUpper(method), template: template,
				query: map[string]param{}, response: map[int]any{},
				auth: auth.auth, permission: auth.permission,
			}
			params := map[string]param{}
			for _, p := range o.Parameters {
				schema, err := jsonschema.Decode(p.Schema)
				if err != nil {
					return nil, fmt.Errorf("openapi subset: %s parameter %s: %w", op.id, p.Name, err)
				}
				pp := param{name: p.Name, required: p.Required, schema: schema, multi: p.Multi}
				if p.In == "query" {
					op.query[p.Name] = pp
				} else {
					params[p.Name] = pp
				}
			}
			pattern := "^"
			for _, part := range strings.Split(strings.TrimPrefix(template, "/"), "/") {
				pattern += "/"
				if strings.HasPrefix(part, "{") {
					p, ok := params[strings.Trim(part, "{}")]
					if !ok {
						return nil, fmt.Errorf("openapi subset: %s: no parameter for %s", op.id, part)
					}
					op.path = append(op.path, p)
					if p.multi {
						pattern += "(.+)"
					} else {
						pattern += "([^/]+)"
					}
					continue
				}
				pattern += regexp.QuoteMeta(part)
			}
			op.re = regexp.MustCompile(pattern + "$")
			if rb := o.RequestBody; rb != nil {
				c, ok := rb.Content["application/json"]
				if !ok {
					return nil, fmt.Errorf("openapi subset: %s: request body is not JSON", op.id)
				}
				if op.body, err = jsonschema.Decode(c.Schema); err != nil {
					return nil, fmt.Errorf("openapi subset: %s request body: %w", op.id, err)
				}
				op.bodyReq = rb.Required
			}
			for code, r := range o.Responses {
				status, err := strconv.Atoi(code)
				if err != nil {
					return nil, fmt.Errorf("openapi subset: %s: response %q: %w", op.id, code, err)
				}
				var schema any
				if c, ok := r.Content["application/json"]; ok {
					if schema, err = jsonschema.Decode(c.Schema); err != nil {
						return nil, fmt.Errorf("openapi subset: %s response %d: %w", op.id, status, err)
					}
				}
				op.response[status] = schema
			}
			a.ops = append(a.ops, op)
		}
	}
	// Literal-heavy templates first, so matching never depends on map order.
	sort.Slice(a.ops, func(i, j int) bool { return a.ops[i].template+a.ops[i].method < a.ops[j].template+a.ops[j].method })
	return a, nil
}

// match finds the operation for a request and its decoded path parameters.
// pathMatched reports whether some operation has this path with another
// method.
func (a *api) match(method, escapedPath string) (op *operation, params map[string]string, pathMatched bool) {
	for _, o := range a.ops {
		m := o.re.FindStringSubmatch(escapedPath)
		if m == nil {
			continue
		}
		if o.method != method {
			pathMatched = true
			continue
		}
		params = make(map[string]string, len(o.path))
		for i, p := range o.path {
			v, err := url.PathUnescape(m[i+1])
			if err != nil {
				v = m[i+1]
			}
			params[p.name] = v
		}
		return o, params, false
	}
	return nil, nil, pathMatched
}

// validateRequest returns what GitHub would reject in the parameters and
// body of a request matched to op. body is the decoded JSON body, nil when
// the request has none.
func (a *api) validateRequest(op *operation, params map[string]string, query url.Values, rawBody []byte) (body any, problems []string) {
	for _, p := range op.path {
		v := params[p.name]
		if v == "" {
			problems = append(problems, fmt.Sprintf("path parameter %s is empty", p.name))
			continue
		}
		problems = append(problems, a.checkParam("path parameter", p, v)...)
	}
	names := make([]string, 0, len(query))
	for name := range query {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := op.query[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown query parameter %q for %s", name, op.id))
			continue
		}
		if vs := query[name]; len(vs) > 1 {
			problems = append(problems, fmt.Sprintf("query parameter %s given %d times", name, len(vs)))
		}
		problems = append(problems, a.checkParam("query parameter", p, query.Get(name))...)
	}
	for name, p := range op.query {
		if _, ok := query[name]; p.required && !ok {
			problems = append(problems, fmt.Sprintf("missing required query parameter %s", name))
		}
	}
	switch {
	case op.body == nil:
		// No body expected: GitHub ignores one.
	case len(strings.TrimSpace(string(rawBody))) == 0:
		if op.bodyReq {
			problems = append(problems, "missing request body")
		}
	default:
		v, err := jsonschema.Decode(rawBody)
		if err != nil {
			problems = append(problems, fmt.Sprintf("request body is not JSON: %v", err))
			break
		}
		if v == nil && !op.bodyReq {
			// ghinstallation sends "null" for no token options; GitHub
			// takes it as no body.
			break
		}
		body = v
		for _, e := range a.doc.Validate(op.body, v) {
			problems = append(problems, "request body "+e.Error())
		}
	}
	return body, problems
}

// checkParam converts a parameter string to the type its schema names and
// validates it.
func (a *api) checkParam(kind string, p param, raw string) []string {
	var v any = raw
	if s, ok := p.schema.(map[string]any); ok {
		switch s["type"] {
		case "integer":
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				return []string{fmt.Sprintf("%s %s=%q is not an integer", kind, p.name, raw)}
			}
			v = n
		case "boolean":
			b, err := strconv.ParseBool(raw)
			if err != nil {
				return []string{fmt.Sprintf("%s %s=%q is not a boolean", kind, p.name, raw)}
			}
			v = b
		}
	}
	var problems []string
	for _, e := range a.doc.Validate(p.schema, v) {
		problems = append(problems, fmt.Sprintf("%s %s=%q: %s", kind, p.name, raw, e.Message))
	}
	return problems
}

// validateResponse checks a JSON response body the fake produced against
// the operation's response schema for status.
func (a *api) validateResponse(op *operation, status int, body []byte) []string {
	schema, ok := op.response[status]
	if !ok || schema == nil {
		return nil
	}
	v, err := jsonschema.Decode(body)
	if err != nil {
		return []string{fmt.Sprintf("response is not JSON: %v", err)}
	}
	var problems []string
	for _, e := range a.doc.Validate(schema, v) {
		problems = append(problems, "response "+e.Error())
	}
	return problems
}

// apiVersions are the X-GitHub-Api-Version values api.github.com accepts.
var apiVersions = map[string]bool{"2022-11-28": true}

// checkHeaders returns what GitHub would reject in headers common to all
// operations (credentials are checked separately).
// githubJSONWithoutSuffix reports a GitHub media type that names only a
// version or previews and no format, like go-github's
// "application/vnd.github.squirrel-girl-preview": GitHub answers it in
// JSON. A format (raw, html, diff, ...) is not JSON.
func githubJSONWithoutSuffix(mt string) bool {
	rest, ok := strings.CutPrefix(mt, "application/vnd.github.")
	if !ok || rest == "" || strings.Contains(rest, "+") {
		return false
	}
	for _, part := range strings.Split(rest, ".") {
		if part != "v3" && !strings.HasSuffix(part, "-preview") {
			return false
		}
	}
	return true
}

func checkHeaders(h http.Header) []string {
	var problems []string
	if h.Get("User-Agent") == "" {
		problems = append(problems, "missing User-Agent header (GitHub answers 403)")
	}
	accept := h.Values("Accept")
	if len(accept) == 0 {
		problems = append(problems, "missing Accept header (want application/vnd.github+json)")
	}
	jsonOK := false
	for _, a := range accept {
		for _, part := range strings.Split(a, ",") {
			mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
			switch {
			case mt == "application/json", mt == "*/*", mt == "application/vnd.github+json",
				strings.HasPrefix(mt, "application/vnd.github.") && strings.HasSuffix(mt, "+json"),
				githubJSONWithoutSuffix(mt):
				jsonOK = true
			}
		}
	}
	if len(accept) > 0 && !jsonOK {
		problems = append(problems, fmt.Sprintf("Accept %q asks for a media type the fake does not serve (only JSON)", strings.Join(accept, ", ")))
	}
	if v := h.Get("X-GitHub-Api-Version"); v != "" && !apiVersions[v] {
		problems = append(problems, fmt.Sprintf("unsupported X-GitHub-Api-Version %q (GitHub answers 400)", v))
	}
	return problems
}
