package checklist

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/checkoff-app/checkoff/internal/strictyaml"

	"gopkg.in/yaml.v3"
)

// Limits on a configuration, so that a hostile .github/checkoff.yml cannot
// make evaluation of every pull request in a repository expensive.
const (
	maxConfigBytes = 256 << 10
	maxChecklists  = 20
	maxItems       = 200 // per checklist
	maxListEntries = 200 // branches, skip_authors, optional_markers
	maxNameLen     = 100 // check-run names; GitHub truncates long ones
	maxStringLen   = 1000
	maxAliasHops   = 64
)

// The conclusions incomplete_conclusion may name.
var conclusions = []string{"failure", "action_required", "neutral"}

// ConfigError is a problem with a configuration file, at a 1-based line
// (0 when the problem has no single line, such as an oversized file).
type ConfigError struct {
	File string
	Line int
	Msg  string
}

// Error formats the problem as "<file>:<line>: <msg>", the form editors and
// CI logs link to.
func (e *ConfigError) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// DefaultConfig returns the configuration used when a repository has no
// .github/checkoff.yml: the Author and Reviewer checklists teams already use.
// Every call returns a fresh value the caller may modify.
func DefaultConfig() *Config {
	return &Config{
		Checklists: []Checklist{
			{
				Name:     "Author Checklist",
				Heading:  "Author Checklist",
				TickedBy: Author,
				Items: []string{
					"Do the changes implement the correct feature?",
					"Did you implement and update your Unit Tests?",
					"Does a build from the Cmd Line Pass?",
					"Has the author tested changes?",
				},
				AllowExtraItems: true,
				Scope:           SectionScope,
			},
			{
				Name:     "Reviewer Checklist",
				Heading:  "Reviewer Checklist",
				TickedBy: Reviewer,
				Items: []string{
					"Do the changes implement the correct functionality?",
					"Are there a sufficient amount of Unit Tests included?",
					"Does the file's code-style and inline comments meet standards?",
					"Are the commit messages appropriate?",
				},
				AllowExtraItems: true,
				Scope:           SectionScope,
			},
		},
		Branches:        []string{},
		SkipAuthors:     []string{"dependabot[bot]", "renovate[bot]"},
		OptionalMarkers: []string{"N/A", "OPTIONAL", "POST-MERGE"},
		OptionalMatch:   MatchPrefix,
		// A reviewer's ticks vouch for the commits they saw; a later push
		// brings code nobody ticked for.
		ResetReviewerOnPush:  true,
		IncompleteConclusion: "failure",
		DetailsURL:           DefaultDetailsURL,
	}
}

// ParseConfig decodes a .github/checkoff.yml strictly: unknown keys, values
// of the wrong type, bad enum values and duplicates are errors, returned as
// a *ConfigError naming file (as given) and line. An empty file yields
// DefaultConfig; a key absent takes its default.
func ParseConfig(file string, data []byte) (*Config, error) {
	p := &configParser{file: file}
	doc, yerr := strictyaml.Decode(data, maxConfigBytes)
	switch {
	case yerr != nil:
		return nil, &ConfigError{File: file, Line: yerr.Line, Msg: yerr.Msg}
	case doc == nil:
		return DefaultConfig(), nil // empty, or only comments
	}
	cfg := DefaultConfig()
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	if err := p.top(doc.Content[0], cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

type configParser struct {
	file string
}

func (p *configParser) errorf(n *yaml.Node, format string, args ...any) *ConfigError {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &ConfigError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// deref follows aliases (*name) to the anchored node. The YAML library
// rejects cycles; the hop limit is a second guard.
func (p *configParser) deref(n *yaml.Node) (*yaml.Node, error) {
	at := n
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i >= maxAliasHops {
			return nil, p.errorf(at, "alias cannot be resolved")
		}
		n = n.Alias
	}
	return n, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// mapping walks a mapping node, calling field for each key in order.
// Duplicate keys and non-string keys are errors: the YAML library accepts
// them silently when building nodes.
func (p *configParser) mapping(n *yaml.Node, what string, field func(key string, k, v *yaml.Node) error) error {
	n, err := p.deref(n)
	if err != nil {
		return err
	}
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "%s must be a mapping, not %s", what, describe(n))
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			return p.errorf(k, "keys in %s must be plain names", what)
		}
		if first, dup := seen[k.Value]; dup {
			return p.errorf(k, "duplicate key %q (first at line %d)", k.Value, first)
		}
		seen[k.Value] = k.Line
		if err := field(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *configParser) top(n *yaml.Node, cfg *Config) error {
	if isNull(n) {
		return nil
	}
	return p.mapping(n, "the top level", func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "checklists":
			cfg.Checklists, err = p.checklists(k, v)
		case "branches":
			cfg.Branches, err = p.stringList(key, v, maxStringLen)
		case "skip_authors":
			cfg.SkipAuthors, err = p.stringList(key, v, maxStringLen)
		case "optional_markers":
			cfg.OptionalMarkers, err = p.stringList(key, v, maxNameLen)
		case "reset_reviewer_on_push":
			cfg.ResetReviewerOnPush, err = p.boolean(key, v)
		case "incomplete_conclusion":
			cfg.IncompleteConclusion, err = p.enum(key, v, conclusions)
		case "optional_match":
			cfg.OptionalMatch, err = p.enum(key, v, []string{MatchPrefix, MatchAnywhere})
		case "details_url":
			cfg.DetailsURL, err = p.detailsURL(key, v)
		default:
			err = p.errorf(k, "unknown key %q", key)
		}
		return err
	})
}

func (p *configParser) checklists(k, v *yaml.Node) ([]Checklist, error) {
	v, err := p.deref(v)
	if err != nil {
		return nil, err
	}
	if isNull(v) || (v.Kind == yaml.SequenceNode && len(v.Content) == 0) {
		return nil, p.errorf(k, "checklists is empty; remove the key to use the default checklists")
	}
	if v.Kind != yaml.SequenceNode {
		return nil, p.errorf(v, "checklists must be a list, not %s", describe(v))
	}
	if len(v.Content) > maxChecklists {
		return nil, p.errorf(v.Content[maxChecklists], "too many checklists: the limit is %d", maxChecklists)
	}
	out := make([]Checklist, 0, len(v.Content))
	names := map[string]int{}    // NameKey -> line
	headings := map[string]int{} // heading key -> line
	body := 0                    // line of the body checklist
	for _, e := range v.Content {
		cl, err := p.checklist(e)
		if err != nil {
			return nil, err
		}
		key := NameKey(cl.Name)
		if first, dup := names[key]; dup {
			return nil, p.errorf(e, "duplicate checklist name %q (first at line %d)", cl.Name, first)
		}
		names[key] = e.Line
		if cl.Scope == BodyScope {
			// Two would own the same boxes.
			if body > 0 {
				return nil, p.errorf(e, "a second checklist with scope: body (the first is at line %d); a body has one", body)
			}
			body = e.Line
			out = append(out, cl)
			continue
		}
		hk := HeadingKey(cl.Heading)
		if first, dup := headings[hk]; dup {
			return nil, p.errorf(e, "heading %q is already used by the checklist at line %d", cl.Heading, first)
		}
		headings[hk] = e.Line
		out = append(out, cl)
	}
	return out, nil
}

func (p *configParser) checklist(n *yaml.Node) (Checklist, error) {
	cl := Checklist{TickedBy: Anyone, AllowExtraItems: true, Scope: SectionScope}
	var nameNode, headingNode, scopeNode, selectNode, itemsNode *yaml.Node
	err := p.mapping(n, "a checklist", func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "name":
			nameNode = v
			cl.Name, err = p.str(key, v, maxNameLen)
		case "heading":
			headingNode = v
			cl.Heading, err = p.str(key, v, maxNameLen)
		case "ticked_by":
			var s string
			s, err = p.enum(key, v, []string{string(Author), string(Reviewer), string(Anyone)})
			cl.TickedBy = Role(s)
		case "items":
			itemsNode = v
			cl.Items, err = p.items(v)
		case "allow_extra_items":
			cl.AllowExtraItems, err = p.boolean(key, v)
		case "allow_contributors":
			cl.AllowContributors, err = p.boolean(key, v)
		case "scope":
			scopeNode = v
			var s string
			s, err = p.enum(key, v, []string{string(SectionScope), string(BodyScope)})
			cl.Scope = Scope(s)
		case "select":
			selectNode = v
			cl.Select, err = p.count(key, v, 1, maxItems)
		case "paths":
			cl.Paths, err = p.globs(key, v)
		default:
			err = p.errorf(k, "unknown key %q", key)
		}
		return err
	})
	if err != nil {
		return cl, err
	}
	if nameNode == nil {
		return cl, p.errorf(n, "checklist has no name")
	}
	if cl.Name == "" {
		return cl, p.errorf(nameNode, "name is empty")
	}
	if problem := nameProblem(cl.Name); problem != "" {
		return cl, p.errorf(nameNode, "name %q %s; a check-run name must be plain visible text", cl.Name, problem)
	}
	// Compared after NameKey: "Release\u00a0Gate" reads as the gate's name.
	if ReservedName(cl.Name) {
		return cl, p.errorf(nameNode, "checklist name %q is reserved for checkoff's release gate check; rename the checklist", cl.Name)
	}
	if cl.Scope == BodyScope {
		if headingNode != nil {
			return cl, p.errorf(headingNode, "a checklist with scope: body (line %d) takes no heading; remove the heading or the scope", scopeNode.Line)
		}
	} else if headingNode == nil {
		cl.Heading = cl.Name
	}
	// With extra items forbidden, the boxes are the items: a pick-N group
	// larger than them could never be complete.
	if selectNode != nil && !cl.AllowExtraItems && itemsNode != nil && cl.Select > len(cl.Items) {
		return cl, p.errorf(selectNode, "select %d is more than the %d items, and allow_extra_items is false", cl.Select, len(cl.Items))
	}
	if cl.Scope == BodyScope {
		return cl, nil
	}
	if HeadingKey(cl.Heading) == "" {
		at := headingNode
		if at == nil {
			at = nameNode
		}
		return cl, p.errorf(at, "heading %q has no text to match", cl.Heading)
	}
	return cl, nil
}

func (p *configParser) items(v *yaml.Node) ([]string, error) {
	list, err := p.stringList("items", v, maxStringLen)
	if err != nil {
		return nil, err
	}
	v, _ = p.deref(v) // already resolved once by stringList
	seen := map[string]int{}
	for i, s := range list {
		at := v.Content[i]
		key := Normalize(s)
		if key == "" {
			return nil, p.errorf(at, "item %q has no text to match", s)
		}
		if first, dup := seen[key]; dup {
			return nil, p.errorf(at, "duplicate item %q (first at line %d)", s, first)
		}
		seen[key] = at.Line
	}
	return list, nil
}

// stringList decodes a list of non-empty strings; null is the empty list.
func (p *configParser) stringList(key string, v *yaml.Node, maxLen int) ([]string, error) {
	v, err := p.deref(v)
	if err != nil {
		return nil, err
	}
	if isNull(v) {
		return []string{}, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, p.errorf(v, "%s must be a list of strings, not %s", key, describe(v))
	}
	if len(v.Content) > maxListEntries {
		return nil, p.errorf(v.Content[maxListEntries], "%s has too many entries: the limit is %d", key, maxListEntries)
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		s, err := p.str(key, e, maxLen)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, p.errorf(e, "%s has an empty entry", key)
		}
		out = append(out, s)
	}
	return out, nil
}

// str decodes a string scalar, trimmed. Unquoted numbers and booleans are
// errors rather than silently converted: `name: yes` is more likely a
// mistake than a checklist called "yes".
func (p *configParser) str(key string, v *yaml.Node, maxLen int) (string, error) {
	at := v
	v, err := p.deref(v)
	if err != nil {
		return "", err
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		return "", p.errorf(at, "%s must be a string, not %s", key, describe(v))
	}
	s := strings.TrimSpace(v.Value)
	if utf8.RuneCountInString(s) > maxLen {
		return "", p.errorf(at, "%s is longer than %d characters", key, maxLen)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", p.errorf(at, "%s contains a control character", key)
	}
	return s, nil
}

// count decodes an integer in [lo, hi]. Quoted numbers, floats and
// booleans are errors, as str's are.
func (p *configParser) count(key string, v *yaml.Node, lo, hi int) (int, error) {
	at := v
	v, err := p.deref(v)
	if err != nil {
		return 0, err
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		return 0, p.errorf(at, "%s must be a whole number, not %s", key, describe(v))
	}
	n, err := strconv.ParseInt(v.Value, 0, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, p.errorf(at, "%s must be from %d to %d, not %s", key, lo, hi, v.Value)
	}
	return int(n), nil
}

// globs decodes paths: a non-empty list of globs (MatchPath) relative to
// the repository root.
func (p *configParser) globs(key string, v *yaml.Node) ([]string, error) {
	list, err := p.stringList(key, v, maxStringLen)
	if err != nil {
		return nil, err
	}
	v, _ = p.deref(v) // already resolved once by stringList
	if len(list) == 0 {
		return nil, p.errorf(v, "%s is empty; remove the key to require the checklist for every pull request", key)
	}
	for i, g := range list {
		if problem := globProblem(g); problem != "" {
			return nil, p.errorf(v.Content[i], "%s entry %q %s", key, g, problem)
		}
	}
	return list, nil
}

// detailsURL decodes an absolute https URL with a host and no credentials:
// GitHub shows it as the check run's "Details" link.
func (p *configParser) detailsURL(key string, v *yaml.Node) (string, error) {
	s, err := p.str(key, v, maxStringLen)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", p.errorf(v, "%s %q is not a URL", key, s)
	case u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return "", p.errorf(v, "%s %q must be an https:// URL", key, s)
	case u.User != nil:
		return "", p.errorf(v, "%s %q must not hold a user name or password", key, s)
	case strings.ContainsAny(s, " \t\n"):
		return "", p.errorf(v, "%s %q contains whitespace", key, s)
	}
	return s, nil
}

func (p *configParser) boolean(key string, v *yaml.Node) (bool, error) {
	at := v
	v, err := p.deref(v)
	if err != nil {
		return false, err
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		return false, p.errorf(at, "%s must be true or false, not %s", key, describe(v))
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		return false, p.errorf(at, "%s must be true or false, not %s", key, describe(v))
	}
	return b, nil
}

func (p *configParser) enum(key string, v *yaml.Node, allowed []string) (string, error) {
	s, err := p.str(key, v, maxNameLen)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", p.errorf(v, "%s must be one of %s, not %q", key, strings.Join(allowed, ", "), s)
}

// describe names a node's kind for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "empty"
		case "!!str":
			return strconv.Quote(n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return "a value tagged " + n.Tag
	}
	return "an unsupported value"
}
