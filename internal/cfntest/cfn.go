package cfntest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a CloudFormation template in its JSON form: intrinsic
// functions appear as one-key maps ({"Ref": "X"}, {"Fn::Sub": "..."}) and
// numbers as float64, whichever syntax the file used.
type Template struct {
	Parameters map[string]Parameter
	Mappings   map[string]map[string]map[string]any
	Conditions map[string]any
	Resources  map[string]Resource
	Outputs    map[string]any
}

// Parameter is a template parameter.
type Parameter struct {
	Type           string
	Default        any
	AllowedValues  []any
	AllowedPattern string
	Description    string
}

// Resource is a template resource.
type Resource struct {
	Type                string
	Condition           string
	DependsOn           any
	DeletionPolicy      string
	UpdateReplacePolicy string
	Properties          map[string]any
}

// ParseTemplate reads a CloudFormation template, JSON or YAML. YAML may use
// the short-form intrinsic tags; they become their JSON form.
func ParseTemplate(data []byte) (*Template, error) {
	var doc any
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("parse template: %w", err)
		}
	} else {
		var err error
		if doc, err = DecodeYAML(data); err != nil {
			return nil, fmt.Errorf("parse template: %w", err)
		}
	}
	// Round-trip through JSON into the typed form: the generic value is
	// already JSON-shaped.
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	var t Template
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("parse template: no Resources")
	}
	for name, r := range t.Resources {
		if r.Type == "" {
			return nil, fmt.Errorf("parse template: resource %s has no Type", name)
		}
	}
	return &t, nil
}

// intrinsicTags are the YAML short forms; each becomes {"Fn::<name>": ...}
// except Ref and Condition, which keep their name.
var intrinsicTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not",
	"!And": "Fn::And", "!Or": "Fn::Or", "!FindInMap": "Fn::FindInMap", "!Base64": "Fn::Base64",
	"!Cidr": "Fn::Cidr", "!ImportValue": "Fn::ImportValue", "!GetAZs": "Fn::GetAZs",
	"!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
}

// DecodeYAML decodes a YAML document to JSON-shaped values (maps with string
// keys, slices, strings, float64, bool, nil), turning CloudFormation's
// short-form tags into their long form. A tag it does not know is an error,
// as is a duplicate key.
func DecodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		return nil, fmt.Errorf("empty document")
	}
	return decodeNode(&doc)
}

func decodeNode(n *yaml.Node) (any, error) {
	if fn, ok := intrinsicTags[n.Tag]; ok {
		arg, err := decodeUntagged(n)
		if err != nil {
			return nil, err
		}
		if fn == "Fn::GetAtt" {
			// !GetAtt Logical.Attr is the short form of [Logical, Attr].
			if s, ok := arg.(string); ok {
				res, attr, found := strings.Cut(s, ".")
				if !found {
					return nil, fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, s)
				}
				arg = []any{res, attr}
			}
		}
		return map[string]any{fn: arg}, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	return decodeUntagged(n)
}

func decodeUntagged(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return decodeNode(n.Content[0])
	case yaml.AliasNode:
		return decodeNode(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := decodeNode(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				return nil, fmt.Errorf("line %d: unsupported mapping key", k.Line)
			}
			if _, dup := out[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			val, err := decodeNode(v)
			if err != nil {
				return nil, err
			}
			out[k.Value] = val
		}
		return out, nil
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			// The argument of a short-form tag: always a plain string.
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case uint64:
			return float64(x), nil
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// OfType returns the logical IDs of the resources of type typ, sorted.
func (t *Template) OfType(typ string) []string {
	var names []string
	for name, r := range t.Resources {
		if r.Type == typ {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Statement is one IAM policy statement a template grants.
type Statement struct {
	Holder    string // logical ID of the role or policy resource holding it
	Policy    string // the inline policy's name, when it is literal
	Condition string // the holder's CloudFormation Condition; "" when unconditional
	Effect    string
	Actions   []string
	Resources []any // literal ARNs or intrinsics; resolve them with Values
	// NotAction and NotResource are the inverted forms, which grant
	// everything but what they list; least-privilege checks refuse them.
	NotAction   []string
	NotResource []any
	When        map[string]any // the statement's IAM Condition block
}

// identityPolicyTypes name the resources whose policies grant a principal
// permissions, and where their documents sit.
var identityPolicyTypes = map[string]bool{
	"AWS::IAM::Role": true, "AWS::IAM::Policy": true, "AWS::IAM::ManagedPolicy": true,
	"AWS::IAM::RolePolicy": true, "AWS::IAM::User": true, "AWS::IAM::Group": true,
}

// Statements lists every statement of every identity policy in the
// template — inline role, user and group policies and policy resources — in
// a stable order. Trust policies and resource policies are not included. A
// document it cannot read is an error, never skipped.
func (t *Template) Statements() ([]Statement, error) {
	names := make([]string, 0, len(t.Resources))
	for name := range t.Resources {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []Statement
	for _, name := range names {
		r := t.Resources[name]
		if !identityPolicyTypes[r.Type] {
			continue
		}
		type doc struct {
			policy string
			body   any
		}
		var docs []doc
		switch r.Type {
		case "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group":
			policies, _ := r.Properties["Policies"].([]any)
			for i, p := range policies {
				pm, ok := p.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: Policies[%d] is not a mapping", name, i)
				}
				pname, _ := pm["PolicyName"].(string)
				docs = append(docs, doc{pname, pm["PolicyDocument"]})
			}
		default:
			pname, _ := r.Properties["PolicyName"].(string)
			if pname == "" {
				pname, _ = r.Properties["ManagedPolicyName"].(string)
			}
			docs = append(docs, doc{pname, r.Properties["PolicyDocument"]})
		}
		for _, d := range docs {
			stmts, err := statements(d.body)
			if err != nil {
				return nil, fmt.Errorf("%s policy %q: %w", name, d.policy, err)
			}
			for _, s := range stmts {
				s.Holder, s.Policy, s.Condition = name, d.policy, r.Condition
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func statements(doc any) ([]Statement, error) {
	dm, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("PolicyDocument is not a mapping")
	}
	var raw []any
	switch s := dm["Statement"].(type) {
	case []any:
		raw = s
	case map[string]any:
		raw = []any{s}
	default:
		return nil, fmt.Errorf("PolicyDocument has no Statement")
	}
	out := make([]Statement, 0, len(raw))
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Statement[%d] is not a mapping", i)
		}
		s := Statement{}
		s.Effect, _ = m["Effect"].(string)
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, fmt.Errorf("Statement[%d]: Effect %v", i, m["Effect"])
		}
		var err error
		if s.Actions, err = StringList(m["Action"]); err != nil {
			return nil, fmt.Errorf("Statement[%d] Action: %w", i, err)
		}
		if s.NotAction, err = StringList(m["NotAction"]); err != nil {
			return nil, fmt.Errorf("Statement[%d] NotAction: %w", i, err)
		}
		s.Resources = anyList(m["Resource"])
		s.NotResource = anyList(m["NotResource"])
		s.When, _ = m["Condition"].(map[string]any)
		if len(s.Actions)+len(s.NotAction) == 0 || len(s.Resources)+len(s.NotResource) == 0 {
			return nil, fmt.Errorf("Statement[%d] needs an action and a resource", i)
		}
		out = append(out, s)
	}
	return out, nil
}

// StringList reads a string, or a list of literal strings, as IAM and
// CloudFormation write them; nil reads as none.
func StringList(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a literal string", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is not a string or a list", v)
}

func anyList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// WildcardActions returns the statement's actions that name more than one
// API call: "*", "service:*", "service:Get*" and the like. Every NotAction
// counts, since it grants all the rest.
func (s Statement) WildcardActions() []string {
	var out []string
	for _, a := range s.Actions {
		if strings.ContainsAny(a, "*?") {
			out = append(out, a)
		}
	}
	for _, a := range s.NotAction {
		out = append(out, "NotAction:"+a)
	}
	return out
}

// ManagedPolicyArns returns, per role, user or group, the managed policy
// ARNs it attaches (literal or intrinsic).
func (t *Template) ManagedPolicyArns() map[string][]any {
	out := map[string][]any{}
	for name, r := range t.Resources {
		switch r.Type {
		case "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group":
			if arns := anyList(r.Properties["ManagedPolicyArns"]); len(arns) > 0 {
				out[name] = arns
			}
		}
	}
	return out
}

// Values resolves intrinsic functions against known values, the way
// CloudFormation would for one deployment. Anything it cannot resolve is an
// error: a test never compares against a guess.
type Values struct {
	Template *Template // for parameter defaults, mappings and conditions; may be nil
	// Refs holds Ref targets: pseudo parameters (AWS::Region, ...),
	// parameter values that override defaults, and resources' Ref values.
	Refs map[string]string
	// Attrs holds Fn::GetAtt results keyed "Logical.Attribute".
	Attrs map[string]string
}

// Pseudo returns the pseudo parameters of a stack in the aws partition.
func Pseudo(region, account, stack string) map[string]string {
	return map[string]string{
		"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
		"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": stack,
	}
}

// String resolves x to a string.
func (v *Values) String(x any) (string, error) {
	r, err := v.Resolve(x)
	if err != nil {
		return "", err
	}
	switch s := r.(type) {
	case string:
		return s, nil
	case float64:
		if s == math.Trunc(s) {
			return fmt.Sprintf("%d", int64(s)), nil
		}
		return fmt.Sprint(s), nil
	case bool:
		return fmt.Sprint(s), nil
	}
	return "", fmt.Errorf("%v is not a string", r)
}

// Strings resolves x to a list of strings: a list whose elements resolve,
// or one value.
func (v *Values) Strings(x any) ([]string, error) {
	r, err := v.Resolve(x)
	if err != nil {
		return nil, err
	}
	list, ok := r.([]any)
	if !ok {
		list = []any{r}
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, err := v.String(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Resolve evaluates every intrinsic function inside x and returns the
// plain value. Keys of AWS::NoValue are dropped, as CloudFormation does.
func (v *Values) Resolve(x any) (any, error) {
	switch t := x.(type) {
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			r, err := v.Resolve(e)
			if err != nil {
				return nil, err
			}
			if r == noValue {
				continue
			}
			out = append(out, r)
		}
		return out, nil
	case map[string]any:
		if len(t) == 1 {
			for k, arg := range t {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") || k == "Condition" {
					return v.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			r, err := v.Resolve(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if r == noValue {
				continue
			}
			out[k] = r
		}
		return out, nil
	}
	return x, nil
}

// noValue stands for AWS::NoValue while resolving.
var noValue = &struct{ noValue bool }{true}

func (v *Values) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref", "Condition":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%s %v: not a name", fn, arg)
		}
		if fn == "Ref" {
			return v.ref(name)
		}
		return v.Condition(name)
	case "Fn::GetAtt":
		parts, err := v.Strings(arg)
		if err != nil || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt %v: want [Resource, Attribute]", arg)
		}
		key := parts[0] + "." + parts[1]
		if s, ok := v.Attrs[key]; ok {
			return s, nil
		}
		return nil, fmt.Errorf("Fn::GetAtt %s: unknown", key)
	case "Fn::Sub":
		return v.sub(arg)
	case "Fn::Join", "Fn::Split":
		return v.joinSplit(fn, arg)
	case "Fn::Select":
		return v.selectFn(arg)
	case "Fn::FindInMap":
		return v.findInMap(arg)
	case "Fn::If":
		return v.ifFn(arg)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return v.boolean(map[string]any{fn: arg})
	}
	return nil, fmt.Errorf("%s: not supported", fn)
}

// joinSplit evaluates Fn::Join [delimiter, list] and Fn::Split
// [delimiter, string].
func (v *Values) joinSplit(fn string, arg any) (any, error) {
	args, ok := arg.([]any)
	if !ok || len(args) != 2 {
		return nil, fmt.Errorf("%s %v: want [delimiter, value]", fn, arg)
	}
	delim, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("%s delimiter %v: not a string", fn, args[0])
	}
	if fn == "Fn::Join" {
		parts, err := v.Strings(args[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		return strings.Join(parts, delim), nil
	}
	s, err := v.String(args[1])
	if err != nil {
		return nil, err
	}
	var out []any
	for _, p := range strings.Split(s, delim) {
		out = append(out, p)
	}
	return out, nil
}

// selectFn evaluates Fn::Select [index, list].
func (v *Values) selectFn(arg any) (any, error) {
	args, ok := arg.([]any)
	if !ok || len(args) != 2 {
		return nil, fmt.Errorf("Fn::Select %v: want [index, list]", arg)
	}
	idx, err := v.String(args[0])
	if err != nil {
		return nil, err
	}
	list, err := v.Resolve(args[1])
	if err != nil {
		return nil, err
	}
	l, ok := list.([]any)
	var i int
	if _, scanErr := fmt.Sscanf(idx, "%d", &i); !ok || scanErr != nil || i < 0 || i >= len(l) {
		return nil, fmt.Errorf("Fn::Select %v: index out of range", arg)
	}
	return l[i], nil
}

// findInMap evaluates Fn::FindInMap [Map, Key, Key].
func (v *Values) findInMap(arg any) (any, error) {
	keys, err := v.Strings(arg)
	if err != nil || len(keys) != 3 {
		return nil, fmt.Errorf("Fn::FindInMap %v: want [Map, Key, Key]", arg)
	}
	if v.Template == nil {
		return nil, fmt.Errorf("Fn::FindInMap: no template")
	}
	val, ok := v.Template.Mappings[keys[0]][keys[1]][keys[2]]
	if !ok {
		return nil, fmt.Errorf("Fn::FindInMap %v: no such entry", keys)
	}
	return val, nil
}

// ifFn evaluates Fn::If [Condition, then, else].
func (v *Values) ifFn(arg any) (any, error) {
	args, ok := arg.([]any)
	if !ok || len(args) != 3 {
		return nil, fmt.Errorf("Fn::If %v: want [Condition, then, else]", arg)
	}
	name, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("Fn::If %v: condition is not a name", args[0])
	}
	cond, err := v.Condition(name)
	if err != nil {
		return nil, err
	}
	if cond {
		return v.Resolve(args[1])
	}
	return v.Resolve(args[2])
}

func (v *Values) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue, nil
	}
	if s, ok := v.Refs[name]; ok {
		return s, nil
	}
	if v.Template != nil {
		if p, ok := v.Template.Parameters[name]; ok && p.Default != nil {
			return p.Default, nil
		}
	}
	return nil, fmt.Errorf("Ref %s: unknown", name)
}

func (v *Values) sub(arg any) (any, error) {
	var tmpl string
	vars := map[string]string{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub %v: want string or [string, map]", arg)
		}
		s, ok := a[0].(string)
		m, ok2 := a[1].(map[string]any)
		if !ok || !ok2 {
			return nil, fmt.Errorf("Fn::Sub %v: want [string, map]", arg)
		}
		tmpl = s
		for k, e := range m {
			r, err := v.String(e)
			if err != nil {
				return nil, fmt.Errorf("Fn::Sub variable %s: %w", k, err)
			}
			vars[k] = r
		}
	default:
		return nil, fmt.Errorf("Fn::Sub %v: want string or [string, map]", arg)
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		rest := tmpl[i+2:]
		if strings.HasPrefix(rest, "!") { // ${!Literal} writes ${Literal}
			j := strings.Index(rest, "}")
			if j < 0 {
				return nil, fmt.Errorf("Fn::Sub %q: unterminated ${!", tmpl)
			}
			b.WriteString("${" + rest[1:j+1])
			tmpl = rest[j+1:]
			continue
		}
		j := strings.Index(rest, "}")
		if j < 0 {
			return nil, fmt.Errorf("Fn::Sub %q: unterminated ${", tmpl)
		}
		name := rest[:j]
		var val string
		if s, ok := vars[name]; ok {
			val = s
		} else if res, attr, dotted := strings.Cut(name, "."); dotted && !strings.HasPrefix(name, "AWS::") {
			s, err := v.String(map[string]any{"Fn::GetAtt": []any{res, attr}})
			if err != nil {
				return nil, fmt.Errorf("Fn::Sub %q: %w", tmpl, err)
			}
			val = s
		} else {
			s, err := v.String(map[string]any{"Ref": name})
			if err != nil {
				return nil, fmt.Errorf("Fn::Sub %q: %w", tmpl, err)
			}
			val = s
		}
		b.WriteString(val)
		tmpl = rest[j+1:]
	}
	return b.String(), nil
}

// Condition evaluates the template condition name.
func (v *Values) Condition(name string) (bool, error) {
	if v.Template == nil {
		return false, fmt.Errorf("condition %s: no template", name)
	}
	c, ok := v.Template.Conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %s: not defined", name)
	}
	b, err := v.boolean(c)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	return b, nil
}

func (v *Values) boolean(x any) (bool, error) {
	m, ok := x.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("%v: not a condition function", x)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return v.Condition(name)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals %v: want two values", arg)
			}
			a, err := v.Resolve(args[0])
			if err != nil {
				return false, err
			}
			b, err := v.Resolve(args[1])
			if err != nil {
				return false, err
			}
			return reflect.DeepEqual(a, b), nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not %v: want one condition", arg)
			}
			b, err := v.boolean(args[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			if len(args) < 2 {
				return false, fmt.Errorf("%s %v: want at least two conditions", fn, arg)
			}
			and := fn == "Fn::And"
			for _, a := range args {
				b, err := v.boolean(a)
				if err != nil {
					return false, err
				}
				if b != and {
					return !and, nil
				}
			}
			return and, nil
		}
		return false, fmt.Errorf("%s: not a condition function", fn)
	}
	panic("unreachable")
}

// MatchEvent reports whether an EventBridge event pattern matches an event,
// both in their JSON form. It implements exact-value matching — a pattern
// leaf is a list of values, one of which the event's field must equal (or,
// for a list field, contain) — and nested fields. Content filters
// (prefix, numeric, anything-but, ...) are an error rather than a guess,
// as is a malformed pattern.
func MatchEvent(pattern, event any) (bool, error) {
	p, ok := pattern.(map[string]any)
	if !ok || len(p) == 0 {
		return false, fmt.Errorf("pattern %v: want a non-empty mapping", pattern)
	}
	e, _ := event.(map[string]any)
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	matched := true
	for _, k := range keys {
		field, present := e[k]
		switch want := p[k].(type) {
		case map[string]any:
			ok, err := MatchEvent(want, field)
			if err != nil {
				return false, fmt.Errorf("%s.%w", k, err)
			}
			matched = matched && present && ok
		case []any:
			if len(want) == 0 {
				return false, fmt.Errorf("%s: empty value list", k)
			}
			hit := false
			for _, w := range want {
				if _, filter := w.(map[string]any); filter {
					return false, fmt.Errorf("%s: content filter %v not supported", k, w)
				}
				if present && fieldHas(field, w) {
					hit = true
				}
			}
			matched = matched && hit
		default:
			return false, fmt.Errorf("%s: pattern value %v is not a list or a mapping", k, p[k])
		}
	}
	return matched, nil
}

func fieldHas(field, want any) bool {
	if list, ok := field.([]any); ok {
		for _, f := range list {
			if scalarEqual(f, want) {
				return true
			}
		}
		return false
	}
	return scalarEqual(field, want)
}

func scalarEqual(a, b any) bool {
	if af, ok := number(a); ok {
		bf, ok := number(b)
		return ok && af == bf
	}
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

func number(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}
