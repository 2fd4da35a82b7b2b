package release

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

const issueConfig = `releases:
  - repo: acme/invoice-log-api
    branch: dev
    pipeline: invoice-log-api-dev
    stage: ApproveChangeSet
    action: ChecklistApproval     # default: the stage's Manual approval action
    source_action: Source         # default: the pipeline's one source action
    on_incomplete: wait           # wait | reject
  - repo: acme/invoice-log-api
    branch: master
    pipeline: invoice-log-api-prod
    stage: ApproveChangeSet
`

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig("releases.yml", []byte(issueConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := []Release{
		{Repo: "acme/invoice-log-api", Owner: "acme", Name: "invoice-log-api", Branch: "dev",
			Pipeline: "invoice-log-api-dev", Stage: "ApproveChangeSet", Action: "ChecklistApproval",
			SourceAction: "Source", OnIncomplete: "wait", Line: 2},
		{Repo: "acme/invoice-log-api", Owner: "acme", Name: "invoice-log-api", Branch: "master",
			Pipeline: "invoice-log-api-prod", Stage: "ApproveChangeSet", OnIncomplete: "wait", Line: 9},
	}
	if !reflect.DeepEqual(cfg.Releases, want) {
		t.Errorf("releases:\n got %+v\nwant %+v", cfg.Releases, want)
	}
	if r, ok := cfg.ForBranch("ACME", "Invoice-Log-API", "master"); !ok || r.Pipeline != "invoice-log-api-prod" {
		t.Errorf("ForBranch is not case-insensitive on the repo: %+v %v", r, ok)
	}
	if _, ok := cfg.ForBranch("acme", "invoice-log-api", "Master"); ok {
		t.Error("ForBranch matched a branch in another case")
	}
	if _, ok := cfg.ForBranch("acme", "other", "dev"); ok {
		t.Error("ForBranch matched another repo")
	}
	if r, ok := cfg.ForPipeline("invoice-log-api-dev"); !ok || r.Branch != "dev" {
		t.Errorf("ForPipeline: %+v %v", r, ok)
	}
	if _, ok := cfg.ForPipeline("Invoice-log-api-dev"); ok {
		t.Error("ForPipeline matched a pipeline name in another case (CodePipeline names are case-sensitive)")
	}
	if got := cfg.Pipelines(); !reflect.DeepEqual(got, []string{"invoice-log-api-dev", "invoice-log-api-prod"}) {
		t.Errorf("Pipelines = %v", got)
	}
}

func TestParseConfigErrors(t *testing.T) {
	entry := "releases:\n  - repo: acme/api\n    branch: dev\n    pipeline: api-dev\n    stage: Approve\n"
	tests := map[string]struct {
		yaml string
		want string
	}{
		"empty":                 {"", "releases.yml:1: empty release config"},
		"not a mapping":         {"- a\n", "releases.yml:1: want a mapping"},
		"unknown top key":       {"releases: []\nrelease: x\n", `releases.yml:2: unknown key "release"`},
		"missing releases":      {"{}\n", `releases.yml:1: missing "releases"`},
		"releases not list":     {"releases: x\n", `releases.yml:1: "releases" must be a list`},
		"releases empty":        {"releases: []\n", `releases.yml:1: "releases" is empty`},
		"entry not mapping":     {"releases:\n  - x\n", "releases.yml:2: each release must be a mapping"},
		"unknown key":           {entry + "    pipline: x\n", `releases.yml:6: unknown key "pipline"`},
		"duplicate key":         {entry + "    stage: Other\n", `releases.yml:6: duplicate key "stage" (first on line 5)`},
		"missing repo":          {"releases:\n  - branch: dev\n    pipeline: p\n    stage: s\n", `releases.yml:2: release is missing "repo"`},
		"missing branch":        {"releases:\n  - repo: a/b\n    pipeline: p\n    stage: s\n", `releases.yml:2: release is missing "branch"`},
		"missing pipeline":      {"releases:\n  - repo: a/b\n    branch: dev\n    stage: s\n", `releases.yml:2: release is missing "pipeline"`},
		"missing stage":         {"releases:\n  - repo: a/b\n    branch: dev\n    pipeline: p\n", `releases.yml:2: release is missing "stage"`},
		"null value":            {entry + "    action:\n", "releases.yml:6: action must be a string"},
		"number value":          {"releases:\n  - repo: a/b\n    branch: 1\n    pipeline: p\n    stage: s\n", "releases.yml:3: branch must be a string"},
		"list value":            {entry + "    action: [a]\n", "releases.yml:6: action must be a string"},
		"repo without owner":    {"releases:\n  - repo: api\n    branch: dev\n    pipeline: p\n    stage: s\n", `releases.yml:2: repo "api" is not owner/name`},
		"repo with path":        {"releases:\n  - repo: a/b/c\n    branch: dev\n    pipeline: p\n    stage: s\n", `releases.yml:2: repo "a/b/c" is not owner/name`},
		"branch ref":            {"releases:\n  - repo: a/b\n    branch: refs/heads/dev\n    pipeline: p\n    stage: s\n", `releases.yml:2: branch "refs/heads/dev" is not a valid branch name`},
		"branch space":          {"releases:\n  - repo: a/b\n    branch: \"de v\"\n    pipeline: p\n    stage: s\n", `is not a valid branch name`},
		"pipeline pattern":      {"releases:\n  - repo: a/b\n    branch: dev\n    pipeline: my pipeline\n    stage: s\n", `releases.yml:2: pipeline "my pipeline": CodePipeline names are 1-100 characters`},
		"pipeline too long":     {"releases:\n  - repo: a/b\n    branch: dev\n    pipeline: " + strings.Repeat("p", 101) + "\n    stage: s\n", `CodePipeline names are 1-100 characters`},
		"action pattern":        {entry + "    action: Approve!\n", `releases.yml:2: action "Approve!"`},
		"source_action pattern": {entry + "    source_action: GitHub source\n", `releases.yml:2: source_action "GitHub source": CodePipeline names`},
		"source_action null":    {entry + "    source_action:\n", "releases.yml:6: source_action must be a string"},
		"on_incomplete":         {entry + "    on_incomplete: fail\n", `releases.yml:2: on_incomplete "fail": want "wait" or "reject"`},
		"syntax":                {"releases:\n  - repo: a/b\n\tbranch: dev\n", "releases.yml:2: found a tab character"},
		// Parser-stage errors are counted from 0 by the YAML library; the
		// line said is the one that holds the mistake, as for checkoff.yml.
		"unclosed flow list": {"releases:\n  - repo: a/b\n    branch: [dev\n", "releases.yml:3: did not find expected ',' or ']'"},
		"bad indentation":    {"releases:\n  - repo: a/b\n  branch: dev\n  - x\n", "releases.yml:2: did not find expected '-' indicator"},
		"unknown anchor":     {"releases: *nope\n", "releases.yml:1: unknown anchor 'nope' referenced"},
		"second document":    {entry + "---\nreleases:\n  - repo: evil/api\n", "releases.yml:6: multiple YAML documents; checkoff reads one"},
		"control character":  {entry + "    action: \"A\x1bB\"\n", "releases.yml:6: control character U+001B is not allowed"},
		"invalid UTF-8":      {"releases:\n  - repo: a/\xff\n", "releases.yml:2: invalid UTF-8"},
		"oversized":          {entry + "# " + strings.Repeat("x", 256<<10) + "\n", "releases.yml: file is"},
		"alias for a value":  {"releases:\n  - repo: &r a/b\n    branch: dev\n    pipeline: p\n    stage: s\n  - repo: *r\n    branch: main\n    pipeline: q\n    stage: s\n", "releases.yml:6: repo must be a string"},
		"merge key":          {"base: &b {stage: s}\nreleases: []\n", `releases.yml:1: unknown key "base"`},
		"duplicate branch": {entry + "  - repo: ACME/API\n    branch: dev\n    pipeline: api-dev2\n    stage: Approve\n",
			"releases.yml:6: ACME/API branch dev is already released by the entry on line 2"},
		"duplicate pipeline": {entry + "  - repo: acme/api\n    branch: master\n    pipeline: api-dev\n    stage: Approve\n",
			"releases.yml:6: pipeline api-dev is already used by the entry on line 2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := ParseConfig("releases.yml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\n does not contain %q", err, tc.want)
			}
		})
	}
	// The base entry itself is valid, so each case above fails for its own reason.
	if _, err := ParseConfig("releases.yml", []byte(entry)); err != nil {
		t.Fatal(err)
	}
}

// fakeSSM answers GetParameter over the SSM JSON 1.1 protocol, checking the
// request as SSM would.
func fakeSSM(t *testing.T, params map[string]string) *ssm.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" ||
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
			!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			t.Errorf("unexpected SSM request: %s %v", r.Header.Get("X-Amz-Target"), r.Header)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in struct {
			Name           string
			WithDecryption *bool
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || in.Name == "" {
			t.Errorf("bad GetParameter body %s: %v", body, err)
		}
		if in.WithDecryption == nil || !*in.WithDecryption {
			t.Errorf("GetParameter without decryption: %s", body)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		v, ok := params[in.Name]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"ParameterNotFound","message":"not found"}`)
			return
		}
		out, _ := json.Marshal(map[string]any{"Parameter": map[string]any{
			"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1, "DataType": "text",
		}})
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return ssm.New(ssm.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "releases.yml")
	if err := os.WriteFile(file, []byte(issueConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("releases:\n  - repo: a/b\n    bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	params := fakeSSM(t, map[string]string{"/checkoff/releases": issueConfig, "/checkoff/bad": "releases: x\n"})

	tests := map[string]struct {
		src       Source
		pipelines []string
		err       string
	}{
		"file":            {src: Source{File: file}, pipelines: []string{"invoice-log-api-dev", "invoice-log-api-prod"}},
		"parameter":       {src: Source{Parameter: "/checkoff/releases"}, pipelines: []string{"invoice-log-api-dev", "invoice-log-api-prod"}},
		"neither":         {src: Source{}, err: ErrNoConfig.Error()},
		"both":            {src: Source{File: file, Parameter: "/x"}, err: "are both named: name one"},
		"missing file":    {src: Source{File: filepath.Join(dir, "nope.yml")}, err: "nope.yml"},
		"bad file":        {src: Source{File: bad}, err: bad + `:3: unknown key "bogus"`},
		"bad parameter":   {src: Source{Parameter: "/checkoff/bad"}, err: `ssm:/checkoff/bad:1: "releases" must be a list`},
		"parameter gone":  {src: Source{Parameter: "/checkoff/gone"}, err: "SSM parameter /checkoff/gone"},
		"no ssm for name": {src: Source{Parameter: "/checkoff/releases"}, err: "no SSM client"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := ParameterAPI(params)
			if name == "no ssm for name" {
				client = nil
			}
			cfg, err := LoadConfig(context.Background(), tc.src, client)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Pipelines(), tc.pipelines) {
				t.Errorf("pipelines %v, want %v", cfg.Pipelines(), tc.pipelines)
			}
		})
	}
	if _, err := LoadConfig(context.Background(), Source{}, nil); !errors.Is(err, ErrNoConfig) {
		t.Errorf("neither set: %v, want ErrNoConfig", err)
	}
}
