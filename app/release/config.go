package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"gopkg.in/yaml.v3"
)

// Config is the decoded release config: which repository branch feeds which
// pipeline. It is deployment config, read once at start, never from a
// repository (whoever can push a file must not steer approvals).
type Config struct {
	Releases []Release
}

// Release is one entry of the release config.
type Release struct {
	Repo     string // "owner/name" as written
	Owner    string
	Name     string
	Branch   string
	Pipeline string
	Stage    string
	// Action is the approval action's name; empty means "the action of
	// Stage that is waiting with an approval token" (see Gate.Reconcile).
	Action string
	// SourceAction is the source action whose revision (a commit of Repo)
	// is judged. Empty means the pipeline's one source: with several, the
	// gate approves nothing, since which one is Branch would be a guess.
	// Revisions of the other source actions are not judged.
	SourceAction string
	// OnIncomplete is OnIncompleteWait or OnIncompleteReject.
	OnIncomplete string
	Line         int // 1-based line of the entry in its file
}

// The values of Release.OnIncomplete.
const (
	OnIncompleteWait   = "wait"   // leave the approval pending and comment on the PR
	OnIncompleteReject = "reject" // reject the approval
)

var (
	// CodePipeline's PipelineName, StageName and ActionName shapes.
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9.@\-_]{1,100}$`)
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// ForBranch returns the release fed by owner/repo's branch. Repository
// names compare case-insensitively, as on GitHub; branch names exactly.
func (c *Config) ForBranch(owner, repo, branch string) (Release, bool) {
	if c == nil {
		return Release{}, false
	}
	for _, r := range c.Releases {
		if strings.EqualFold(r.Owner, owner) && strings.EqualFold(r.Name, repo) && r.Branch == branch {
			return r, true
		}
	}
	return Release{}, false
}

// ForPipeline returns the release whose pipeline is named pipeline.
func (c *Config) ForPipeline(pipeline string) (Release, bool) {
	if c == nil {
		return Release{}, false
	}
	for _, r := range c.Releases {
		if r.Pipeline == pipeline {
			return r, true
		}
	}
	return Release{}, false
}

// Pipelines lists the configured pipeline names in file order.
func (c *Config) Pipelines() []string {
	if c == nil {
		return nil
	}
	names := make([]string, len(c.Releases))
	for i, r := range c.Releases {
		names[i] = r.Pipeline
	}
	return names
}

// ParseConfig decodes a release config strictly: unknown or duplicate
// keys, missing required values, bad names and duplicate (repo, branch) or
// pipeline entries are errors of the form "file:line: message". file only
// names the source in messages.
func ParseConfig(file string, data []byte) (*Config, error) {
	p := parser{file: file}
	doc, err := p.decodeOne(data)
	if err != nil {
		return nil, err
	}
	if doc == nil || len(doc.Content) == 0 {
		return nil, p.errf(1, "empty release config: want a %q list", "releases")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root.Line, "want a mapping with a %q list", "releases")
	}
	var list *yaml.Node
	err = p.fields(root, func(key, val *yaml.Node) error {
		switch key.Value {
		case "releases":
			list = val
			return nil
		}
		return p.errf(key.Line, "unknown key %q", key.Value)
	})
	if err != nil {
		return nil, err
	}
	if list == nil {
		return nil, p.errf(root.Line, "missing %q", "releases")
	}
	if list.Kind != yaml.SequenceNode {
		return nil, p.errf(list.Line, "%q must be a list", "releases")
	}
	if len(list.Content) == 0 {
		return nil, p.errf(list.Line, "%q is empty", "releases")
	}
	cfg := &Config{}
	for _, item := range list.Content {
		r, err := p.release(item)
		if err != nil {
			return nil, err
		}
		for _, prev := range cfg.Releases {
			if strings.EqualFold(prev.Repo, r.Repo) && prev.Branch == r.Branch {
				return nil, p.errf(r.Line, "%s branch %s is already released by the entry on line %d", r.Repo, r.Branch, prev.Line)
			}
			if prev.Pipeline == r.Pipeline {
				return nil, p.errf(r.Line, "pipeline %s is already used by the entry on line %d", r.Pipeline, prev.Line)
			}
		}
		cfg.Releases = append(cfg.Releases, r)
	}
	return cfg, nil
}

type parser struct{ file string }

func (p parser) errf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

// fields walks a mapping, rejecting duplicate and non-string keys.
func (p parser) fields(m *yaml.Node, fn func(key, val *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			return p.errf(key.Line, "keys must be plain strings")
		}
		if line, dup := seen[key.Value]; dup {
			return p.errf(key.Line, "duplicate key %q (first on line %d)", key.Value, line)
		}
		seen[key.Value] = key.Line
		if err := fn(key, val); err != nil {
			return err
		}
	}
	return nil
}

func (p parser) release(n *yaml.Node) (Release, error) {
	r := Release{Line: n.Line, OnIncomplete: OnIncompleteWait}
	if n.Kind != yaml.MappingNode {
		return r, p.errf(n.Line, "each release must be a mapping with repo, branch, pipeline and stage")
	}
	err := p.fields(n, func(key, val *yaml.Node) error {
		var dst *string
		switch key.Value {
		case "repo":
			dst = &r.Repo
		case "branch":
			dst = &r.Branch
		case "pipeline":
			dst = &r.Pipeline
		case "stage":
			dst = &r.Stage
		case "action":
			dst = &r.Action
		case "source_action":
			dst = &r.SourceAction
		case "on_incomplete":
			dst = &r.OnIncomplete
		default:
			return p.errf(key.Line, "unknown key %q", key.Value)
		}
		// A YAML null, number or list where a name belongs is a mistake,
		// not something to coerce.
		if val.Kind != yaml.ScalarNode || val.ShortTag() != "!!str" {
			return p.errf(val.Line, "%s must be a string", key.Value)
		}
		*dst = strings.TrimSpace(val.Value)
		return nil
	})
	if err != nil {
		return r, err
	}
	for _, req := range []struct{ key, val string }{
		{"repo", r.Repo}, {"branch", r.Branch}, {"pipeline", r.Pipeline}, {"stage", r.Stage},
	} {
		if req.val == "" {
			return r, p.errf(n.Line, "release is missing %q", req.key)
		}
	}
	owner, name, ok := strings.Cut(r.Repo, "/")
	if !ok || !ownerPattern.MatchString(owner) || !repoPattern.MatchString(name) || name == "." || name == ".." {
		return r, p.errf(n.Line, "repo %q is not owner/name", r.Repo)
	}
	r.Owner, r.Name = owner, name
	if !validBranch(r.Branch) {
		return r, p.errf(n.Line, "branch %q is not a valid branch name", r.Branch)
	}
	for _, f := range []struct{ key, val string }{
		{"pipeline", r.Pipeline}, {"stage", r.Stage}, {"action", r.Action}, {"source_action", r.SourceAction},
	} {
		if f.val != "" && !namePattern.MatchString(f.val) {
			return r, p.errf(n.Line, "%s %q: CodePipeline names are 1-100 characters of A-Z a-z 0-9 . @ - _", f.key, f.val)
		}
	}
	switch r.OnIncomplete {
	case OnIncompleteWait, OnIncompleteReject:
	default:
		return r, p.errf(n.Line, "on_incomplete %q: want %q or %q", r.OnIncomplete, OnIncompleteWait, OnIncompleteReject)
	}
	return r, nil
}

// validBranch applies the parts of git check-ref-format that catch typos
// ("refs/heads/dev" is not a branch name here: the config names branches as
// GitHub's base.ref does).
func validBranch(b string) bool {
	if b == "" || strings.HasPrefix(b, "refs/") || strings.HasPrefix(b, "-") || strings.HasPrefix(b, "/") ||
		strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".") || strings.HasSuffix(b, ".lock") ||
		strings.Contains(b, "..") || strings.Contains(b, "//") || strings.Contains(b, "@{") {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c == 0x7f || strings.ContainsRune(`~^:?*[\`, c) {
			return false
		}
	}
	return true
}

// ParameterAPI is the one SSM call LoadConfig makes; *ssm.Client has it.
type ParameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var _ ParameterAPI = (*ssm.Client)(nil)

// Source says where the release config is: a file or an SSM parameter.
// The zero Source is no release config. cmd/checkoff fills it from
// CHECKOFF_RELEASES and CHECKOFF_RELEASES_PARAMETER.
type Source struct {
	File      string
	Parameter string // an SSM String or SecureString parameter holding the YAML
}

// The environment variables cmd/checkoff reads a Source from (and
// serverless.yml sets); named here for the deployment's tests.
const (
	EnvReleasesFile      = "CHECKOFF_RELEASES"
	EnvReleasesParameter = "CHECKOFF_RELEASES_PARAMETER"
)

// ErrNoConfig is returned by LoadConfig for the zero Source: the
// deployment gates no release.
var ErrNoConfig = errors.New("no release config")

// LoadConfig reads and parses the release config src names, the parameter
// fetched with decryption through params (which may be nil when
// src.Parameter is empty). Naming both a file and a parameter is an error,
// since which one wins would be a guess.
func LoadConfig(ctx context.Context, src Source, params ParameterAPI) (*Config, error) {
	switch {
	case src.File != "" && src.Parameter != "":
		return nil, fmt.Errorf("load release config: a file (%s) and an SSM parameter (%s) are both named: name one", src.File, src.Parameter)
	case src.File != "":
		data, err := os.ReadFile(src.File)
		if err != nil {
			return nil, fmt.Errorf("load release config: %w", err)
		}
		return ParseConfig(src.File, data)
	case src.Parameter != "":
		param := src.Parameter
		if params == nil {
			return nil, fmt.Errorf("load release config: SSM parameter %s is named but no SSM client was given", param)
		}
		out, err := params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param), WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("load release config from SSM parameter %s: %w", param, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return nil, fmt.Errorf("load release config from SSM parameter %s: no value", param)
		}
		return ParseConfig("ssm:"+param, []byte(*out.Parameter.Value))
	}
	return nil, ErrNoConfig
}
