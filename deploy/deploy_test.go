package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/cfntest"

	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/webhook"
)

// The stack the tests package: fixed, so generated names are predictable.
const (
	testStage   = "test"
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	testAppID   = "12345"
	stackName   = "checkoff-" + testStage
	tableName   = "checkoff-test-CheckoffTable-ABC123"
	webhookArn  = "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:checkoff-test-webhook"
	gateArn     = "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:checkoff-test-gate"
	releasesIn  = "/var/task/releases.yml" // Lambda unpacks the zip into /var/task
)

// root is the repository root, where serverless.yml lives.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// needTool skips a test when a tool `make test` installs is missing, except
// under CI, where a missing tool is a broken build.
func needTool(t *testing.T, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s missing at %s (run `make tools`)", what, path)
	}
	t.Skipf("%s missing at %s; `make test` installs it", what, path)
}

// built is the Lambda zip built once for all tests of the package.
var built struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

// packaged remembers each `serverless package` run by its arguments, so
// tests that need the same template share one run (each takes seconds).
var packaged struct {
	mu   sync.Mutex
	dir  string // removed by TestMain
	runs map[string]*packageRun
}

type packageRun struct {
	once sync.Once
	out  packageOutput
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	if packaged.dir != "" {
		os.RemoveAll(packaged.dir)
	}
	os.Exit(code)
}

// lambdaZip returns the Lambda artifact to package: CHECKOFF_LAMBDA_ZIP
// when set (make test points it at the bin/checkoff-lambda.zip it just
// built), otherwise a zip built from ./cmd/checkoff and contrib/releases.yml
// the way `make lambda` builds it.
func lambdaZip(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHECKOFF_LAMBDA_ZIP"); p != "" {
		return p
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "checkoff-lambda-")
		if built.err == nil {
			built.path, built.err = buildZip(root(t), built.dir, filepath.Join(root(t), "contrib", "releases.yml"))
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// buildZip builds the Lambda zip into dir as `make lambda RELEASES=releasesFile` does.
func buildZip(repo, dir, releasesFile string) (string, error) {
	bootstrap := filepath.Join(dir, "bootstrap")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-tags", "lambda.norpc,nosqlite", "-ldflags=-s -w",
		"-o", bootstrap, "./cmd/checkoff")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ./cmd/checkoff for linux/arm64: %v\n%s", err, out)
	}
	releases, err := os.ReadFile(releasesFile)
	if err != nil {
		return "", err
	}
	bin, err := os.ReadFile(bootstrap)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		mode os.FileMode
		data []byte
	}{{"bootstrap", 0o755, bin}, {"releases.yml", 0o644, releases}} {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return "", err
		}
		if _, err := w.Write(e.data); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	zipPath := filepath.Join(dir, "checkoff-lambda.zip")
	return zipPath, os.WriteFile(zipPath, buf.Bytes(), 0o644)
}

// checkArtifact verifies what Lambda needs of the zip — an executable
// bootstrap for linux/arm64, static, built without the RPC mode — and
// returns the release config it ships.
func checkArtifact(t *testing.T, zipPath string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatalf("open Lambda zip: %v", err)
	}
	defer zr.Close()
	files := map[string]*zip.File{}
	var names []string
	for _, f := range zr.File {
		files[f.Name] = f
		names = append(names, f.Name)
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"bootstrap", "releases.yml"}) {
		t.Fatalf("%s holds %v, want exactly bootstrap and releases.yml at its root", zipPath, names)
	}
	read := func(name string) []byte {
		rc, err := files[name].Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if mode := files["bootstrap"].Mode(); mode&0o111 == 0 {
		t.Errorf("bootstrap mode %v: Lambda cannot execute it", mode)
	}
	bin := read("bootstrap")
	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	if ef.Machine != elf.EM_AARCH64 || ef.Class != elf.ELFCLASS64 {
		t.Errorf("bootstrap is %v %v, want EM_AARCH64 ELFCLASS64 for arm64", ef.Machine, ef.Class)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("bootstrap is dynamically linked; build with CGO_ENABLED=0")
		}
	}
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("bootstrap build info: %v", err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0", "-tags": "lambda.norpc,nosqlite"} {
		if settings[k] != want {
			t.Errorf("bootstrap built with %s=%q, want %q", k, settings[k], want)
		}
	}
	if info.Path != "github.com/checkoff-app/checkoff/cmd/checkoff" {
		t.Errorf("bootstrap is %s, want cmd/checkoff", info.Path)
	}
	return read("releases.yml")
}

// packageOptions are what differs between `serverless package` runs.
type packageOptions struct {
	region string   // --region; empty: none given
	env    []string // extra environment, e.g. AWS_REGION=...
	params []string // extra --param values, name=value
}

// packageOutput is what `serverless package` wrote.
type packageOutput struct {
	dir      string // holds cloudformation-template-update-stack.json
	template string // its path
	region   string // the region the framework resolved (serverless-state.json)
	tpl      *cfntest.Template
}

// slsPackage packages serverless.yml for the test stage and region with
// params, and returns the generated update template.
func slsPackage(t *testing.T, zipPath string, params ...string) *cfntest.Template {
	t.Helper()
	return slsPackageWith(t, zipPath, packageOptions{region: testRegion, params: params}).tpl
}

// slsPackageWith runs the pinned Serverless Framework v3 on serverless.yml
// with no AWS credentials and no way out to the network.
func slsPackageWith(t *testing.T, zipPath string, o packageOptions) packageOutput {
	t.Helper()
	dir := root(t)
	sls := filepath.Join(dir, "node_modules", "serverless", "bin", "serverless.js")
	needTool(t, sls, "serverless (npm)")
	node, err := exec.LookPath("node")
	if err != nil {
		needTool(t, "node", "node")
	}
	args := []string{sls, "package", "--stage", testStage,
		"--param=githubAppId=" + testAppID, "--param=artifact=" + zipPath}
	if o.region != "" {
		args = append(args, "--region", o.region)
	}
	for _, p := range o.params {
		args = append(args, "--param="+p)
	}
	key := strings.Join(append(append([]string(nil), args...), o.env...), "\x00")
	packaged.mu.Lock()
	if packaged.runs == nil {
		packaged.runs = map[string]*packageRun{}
	}
	if packaged.dir == "" {
		if packaged.dir, err = os.MkdirTemp("", "checkoff-package-"); err != nil {
			packaged.mu.Unlock()
			t.Fatal(err)
		}
	}
	run := packaged.runs[key]
	if run == nil {
		run = &packageRun{}
		packaged.runs[key] = run
	}
	base := packaged.dir
	packaged.mu.Unlock()
	run.once.Do(func() { run.out, run.err = runPackage(node, dir, base, args, o.env) })
	if run.err != nil {
		t.Fatal(run.err)
	}
	return run.out
}

func runPackage(node, dir, base string, args, env []string) (packageOutput, error) {
	out, err := os.MkdirTemp(base, "out-")
	if err != nil {
		return packageOutput{}, err
	}
	home, err := os.MkdirTemp(base, "home-")
	if err != nil {
		return packageOutput{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append(args, "--package", out)...)
	cmd.Dir = dir
	// A clean environment: no credentials, no profile, no instance
	// metadata, and a proxy that refuses every connection, so packaging
	// that tried to reach AWS or the Serverless Dashboard would fail here.
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"SLS_TELEMETRY_DISABLED=1",
		"SLS_NOTIFICATIONS_MODE=off",
		"SLS_DEPRECATION_DISABLE=*",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"AWS_EC2_METADATA_DISABLED=true",
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
	}, env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return packageOutput{}, fmt.Errorf("serverless package: %v\n%s", err, b)
	}
	res := packageOutput{dir: out, template: filepath.Join(out, "cloudformation-template-update-stack.json")}
	data, err := os.ReadFile(res.template)
	if err != nil {
		return packageOutput{}, err
	}
	if res.tpl, err = cfntest.ParseTemplate(data); err != nil {
		return packageOutput{}, err
	}
	state, err := os.ReadFile(filepath.Join(out, "serverless-state.json"))
	if err != nil {
		return packageOutput{}, err
	}
	var st struct {
		Service struct {
			Provider struct {
				Region string `json:"region"`
			} `json:"provider"`
		} `json:"service"`
	}
	if err := json.Unmarshal(state, &st); err != nil {
		return packageOutput{}, fmt.Errorf("serverless-state.json: %w", err)
	}
	res.region = st.Service.Provider.Region
	return res, nil
}

// values resolves the generated template as CloudFormation would for the
// test stack: resources get the physical names and ARNs AWS would give.
func values(t *testing.T, tpl *cfntest.Template) *cfntest.Values {
	t.Helper()
	v := &cfntest.Values{
		Template: tpl,
		Refs:     cfntest.Pseudo(testRegion, testAccount, stackName),
		Attrs:    map[string]string{},
	}
	v.Refs["CheckoffTable"] = tableName
	v.Attrs["CheckoffTable.Arn"] = "arn:aws:dynamodb:" + testRegion + ":" + testAccount + ":table/" + tableName
	v.Attrs["WebhookLambdaFunction.Arn"] = webhookArn
	v.Refs["WebhookLambdaFunction"] = "checkoff-test-webhook"
	v.Attrs["GateLambdaFunction.Arn"] = gateArn
	v.Refs["GateLambdaFunction"] = "checkoff-test-gate"
	v.Attrs["IamRoleLambdaExecution.Arn"] = "arn:aws:iam::" + testAccount + ":role/checkoff-test-us-east-1-lambdaRole"
	v.Refs["IamRoleLambdaExecution"] = "checkoff-test-us-east-1-lambdaRole"
	for _, name := range tpl.OfType("AWS::Events::Rule") {
		ruleName, _ := tpl.Resources[name].Properties["Name"].(string)
		if ruleName == "" {
			ruleName = name
		}
		v.Attrs[name+".Arn"] = "arn:aws:events:" + testRegion + ":" + testAccount + ":rule/" + ruleName
	}
	for _, name := range tpl.OfType("AWS::ApiGatewayV2::Integration") {
		v.Refs[name] = strings.ToLower(name) + "-id"
	}
	v.Refs["HttpApi"] = "httpapi-id"
	return v
}

// approvalTarget is one Manual approval action checkoff answers.
type approvalTarget struct{ pipeline, stage, action string }

// approvalTargets lists, from the release config the zip ships, the
// pipelines and approval actions checkoff must be able to read and answer.
// A release that names no action answers the stage's Manual approval
// action, as contrib/pipeline.yml declares it.
func approvalTargets(t *testing.T, releasesYAML []byte) []approvalTarget {
	t.Helper()
	cfg, err := release.ParseConfig("releases.yml", releasesYAML)
	if err != nil {
		t.Fatalf("release config in the Lambda zip: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(root(t), "contrib", "pipeline.yml"))
	if err != nil {
		t.Fatal(err)
	}
	pipeline, err := cfntest.ParseTemplate(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []approvalTarget
	for _, r := range cfg.Releases {
		action := r.Action
		if action == "" {
			actions := manualApprovals(t, pipeline, r.Stage)
			if len(actions) != 1 {
				t.Fatalf("release %s names no action, and contrib/pipeline.yml stage %s has Manual approval actions %v; want exactly one", r.Pipeline, r.Stage, actions)
			}
			action = actions[0]
		}
		out = append(out, approvalTarget{r.Pipeline, r.Stage, action})
	}
	return out
}

// manualApprovals returns the names of the Manual approval actions in the
// named stage of the template's pipeline.
func manualApprovals(t *testing.T, tpl *cfntest.Template, stage string) []string {
	t.Helper()
	var names []string
	for _, p := range tpl.OfType("AWS::CodePipeline::Pipeline") {
		stages, _ := tpl.Resources[p].Properties["Stages"].([]any)
		for _, s := range stages {
			sm, _ := s.(map[string]any)
			if sm["Name"] != stage {
				continue
			}
			actions, _ := sm["Actions"].([]any)
			for _, a := range actions {
				am, _ := a.(map[string]any)
				id, _ := am["ActionTypeId"].(map[string]any)
				if id["Category"] == "Approval" && id["Provider"] == "Manual" {
					name, _ := am["Name"].(string)
					names = append(names, name)
				}
			}
		}
	}
	return names
}

// grants maps each action the template allows (for the test stack) to the
// resolved resources it is allowed on, failing on any grant that is not
// least-privilege: a wildcard action, NotAction or NotResource, a Resource
// "*", or a wildcard resource outside the framework's own log group.
func grants(t *testing.T, tpl *cfntest.Template, v *cfntest.Values) map[string][]string {
	t.Helper()
	stmts, err := tpl.Statements()
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) == 0 {
		t.Fatal("the template grants nothing: no IAM statements found")
	}
	out := map[string][]string{}
	logGroup := "arn:aws:logs:" + testRegion + ":" + testAccount + ":log-group:/aws/lambda/" + stackName
	for _, s := range stmts {
		if s.Condition != "" {
			on, err := v.Condition(s.Condition)
			if err != nil {
				t.Fatalf("%s: %v", s.Holder, err)
			}
			if !on {
				continue
			}
		}
		if s.Effect != "Allow" {
			continue
		}
		if w := s.WildcardActions(); len(w) > 0 {
			t.Errorf("%s grants wildcard actions %v", s.Holder, w)
		}
		if len(s.NotResource) > 0 {
			t.Errorf("%s grants %v on NotResource %v", s.Holder, s.Actions, s.NotResource)
		}
		onlyLogs := true
		for _, a := range s.Actions {
			onlyLogs = onlyLogs && strings.HasPrefix(a, "logs:")
		}
		for _, r := range s.Resources {
			arn, err := v.String(r)
			if err != nil {
				t.Fatalf("%s resource %v: %v", s.Holder, r, err)
			}
			if arn == "*" {
				t.Errorf("%s grants %v on every resource", s.Holder, s.Actions)
			}
			// The framework's log statements cover its log group's streams.
			if strings.ContainsAny(arn, "*?") && !(onlyLogs && strings.HasPrefix(arn, logGroup)) {
				t.Errorf("%s grants %v on wildcard resource %s", s.Holder, s.Actions, arn)
			}
			for _, a := range s.Actions {
				out[a] = append(out[a], arn)
			}
		}
	}
	for a := range out {
		sort.Strings(out[a])
	}
	return out
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// TestServerlessPackage packages serverless.yml and checks the CloudFormation
// it would deploy.
func TestServerlessPackage(t *testing.T) {
	zipPath := lambdaZip(t)
	releasesYAML := checkArtifact(t, zipPath)
	targets := approvalTargets(t, releasesYAML)
	tpl := slsPackage(t, zipPath)
	v := values(t, tpl)

	fns := tpl.OfType("AWS::Lambda::Function")
	if !reflect.DeepEqual(sorted(fns), []string{"GateLambdaFunction", "WebhookLambdaFunction"}) {
		t.Fatalf("Lambda functions %v, want WebhookLambdaFunction and GateLambdaFunction", fns)
	}
	webhookFn, gateFn := tpl.Resources["WebhookLambdaFunction"], tpl.Resources["GateLambdaFunction"]
	fn := webhookFn

	t.Run("functions", func(t *testing.T) {
		// One binary, one handler: the dispatcher tells the events apart.
		for name, f := range map[string]cfntest.Resource{"webhook": webhookFn, "gate": gateFn} {
			p := f.Properties
			for key, want := range map[string]any{
				"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
				"MemorySize": 256.0,
				"Role":       map[string]any{"Fn::GetAtt": []any{"IamRoleLambdaExecution", "Arn"}},
			} {
				if !reflect.DeepEqual(p[key], want) {
					t.Errorf("%s %s = %#v, want %#v", name, key, p[key], want)
				}
			}
		}
		for _, key := range []string{"Code", "Environment"} {
			if !reflect.DeepEqual(webhookFn.Properties[key], gateFn.Properties[key]) {
				t.Errorf("%s differs between the functions:\n%#v\n%#v", key, webhookFn.Properties[key], gateFn.Properties[key])
			}
		}
		for name, r := range tpl.Resources {
			if strings.HasPrefix(r.Type, "Custom::") || r.Type == "AWS::CloudFormation::CustomResource" {
				t.Errorf("custom resource %s (%s): it would bring its own Lambda and role", name, r.Type)
			}
		}
	})

	t.Run("timeouts", func(t *testing.T) {
		// GitHub gives a delivery 10 s: the webhook function ends soon
		// after, never holding a slot for long.
		if got, _ := webhookFn.Properties["Timeout"].(float64); got < 10 || got > 12 {
			t.Errorf("webhook Timeout %v s, want 10-12 (GitHub waits 10 s)", webhookFn.Properties["Timeout"])
		}
		// A reconcile may walk release.DefaultMaxCommits commits for each
		// pipeline: far past a webhook's budget, within Lambda's 900 s.
		if got, _ := gateFn.Properties["Timeout"].(float64); got < 120 || got > 900 {
			t.Errorf("gate Timeout %v s, want 120-900 for a %d-commit reconcile", gateFn.Properties["Timeout"], release.DefaultMaxCommits)
		}
		// API Gateway would answer 503 before a slower function returned.
		for _, name := range tpl.OfType("AWS::ApiGatewayV2::Integration") {
			ms, _ := tpl.Resources[name].Properties["TimeoutInMillis"].(float64)
			if fnTimeout, _ := webhookFn.Properties["Timeout"].(float64); ms < fnTimeout*1000 {
				t.Errorf("integration %s times out after %v ms, before the function's %v s", name, ms, fnTimeout)
			}
		}
	})

	t.Run("artifact", func(t *testing.T) {
		data, err := os.ReadFile(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		want := base64.StdEncoding.EncodeToString(sum[:])
		for _, f := range []cfntest.Resource{webhookFn, gateFn} {
			code, _ := f.Properties["Code"].(map[string]any)
			if key, _ := code["S3Key"].(string); path.Base(key) != filepath.Base(zipPath) {
				t.Errorf("function code S3Key %q does not name the artifact %s", key, filepath.Base(zipPath))
			}
		}
		versions := tpl.OfType("AWS::Lambda::Version")
		if len(versions) != 2 {
			t.Fatalf("Lambda versions %v, want one per function", versions)
		}
		for _, name := range versions {
			if got := tpl.Resources[name].Properties["CodeSha256"]; got != want {
				t.Errorf("version %s CodeSha256 %v, want %s (the artifact's)", name, got, want)
			}
		}
	})

	t.Run("environment", func(t *testing.T) {
		env, _ := fn.Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if !reflect.DeepEqual(vars["CHECKOFF_TABLE"], map[string]any{"Ref": "CheckoffTable"}) {
			t.Errorf("CHECKOFF_TABLE = %v, want the table's Ref", vars["CHECKOFF_TABLE"])
		}
		if vars["GITHUB_APP_ID"] != testAppID {
			t.Errorf("GITHUB_APP_ID = %v, want the githubAppId param %s", vars["GITHUB_APP_ID"], testAppID)
		}
		for _, k := range []string{"GITHUB_PRIVATE_KEY_PARAMETER", "GITHUB_WEBHOOK_SECRET_PARAMETER"} {
			if s, _ := vars[k].(string); !strings.HasPrefix(s, "/") {
				t.Errorf("%s = %v, want an SSM parameter name starting with /", k, vars[k])
			}
		}
		for _, k := range []string{"GITHUB_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET", "GITHUB_PRIVATE_KEY_FILE"} {
			if _, ok := vars[k]; ok {
				t.Errorf("%s is set in the environment: secrets come from SSM only", k)
			}
		}
		// The gate reads the file the zip ships; setting the parameter too
		// is a start-up error.
		if vars[release.EnvReleasesFile] != releasesIn {
			t.Errorf("%s = %v, want %s", release.EnvReleasesFile, vars[release.EnvReleasesFile], releasesIn)
		}
		if _, both := vars[release.EnvReleasesParameter]; both {
			t.Errorf("both %s and %s are set", release.EnvReleasesFile, release.EnvReleasesParameter)
		}
	})

	t.Run("http api", func(t *testing.T) {
		routes := map[string]string{}
		for _, name := range tpl.OfType("AWS::ApiGatewayV2::Route") {
			p := tpl.Resources[name].Properties
			key, _ := p["RouteKey"].(string)
			target, err := v.String(p["Target"])
			if err != nil {
				t.Fatal(err)
			}
			routes[key] = target
		}
		// The paths the dispatcher serves.
		post, get := "POST "+webhook.WebhookPath, "GET "+webhook.HealthPath
		if len(routes) != 2 || routes[post] == "" || routes[get] == "" {
			t.Fatalf("routes %v, want exactly %s and %s", routes, post, get)
		}
		for _, name := range tpl.OfType("AWS::ApiGatewayV2::Integration") {
			p := tpl.Resources[name].Properties
			uri, err := v.String(p["IntegrationUri"])
			if err != nil {
				t.Fatal(err)
			}
			if uri != webhookArn || p["PayloadFormatVersion"] != "2.0" || p["IntegrationType"] != "AWS_PROXY" {
				t.Errorf("integration %s: uri %s, payload %v, type %v; want the webhook function, 2.0, AWS_PROXY", name, uri, p["PayloadFormatVersion"], p["IntegrationType"])
			}
			for key, target := range routes {
				if target != "integrations/"+v.Refs[name] {
					t.Errorf("route %s targets %s, not integration %s", key, target, name)
				}
			}
		}
		// The handler serves /webhook at the root: the $default stage adds no prefix.
		for _, name := range tpl.OfType("AWS::ApiGatewayV2::Stage") {
			if s := tpl.Resources[name].Properties["StageName"]; s != "$default" {
				t.Errorf("HTTP API stage %v, want $default", s)
			}
		}
		invokers := permissions(t, tpl, v, webhookArn, "apigateway.amazonaws.com")
		if len(invokers) != 1 || !strings.HasPrefix(invokers[0], "arn:aws:execute-api:"+testRegion+":"+testAccount+":httpapi-id/") {
			t.Errorf("API Gateway may invoke the function from %v, want this HTTP API only", invokers)
		}
		if _, ok := tpl.Outputs["HttpApiUrl"]; !ok {
			t.Error("no HttpApiUrl output: the App's webhook URL is read from it")
		}
	})

	t.Run("flood", func(t *testing.T) {
		// Issue 9: a flood of unauthenticated webhooks is throttled at the
		// edge, and cannot take the executions approval events need.
		stages := tpl.OfType("AWS::ApiGatewayV2::Stage")
		if len(stages) != 1 {
			t.Fatalf("HTTP API stages %v, want one", stages)
		}
		stage := tpl.Resources[stages[0]]
		limits := func(where string, x any) (burst, rate float64) {
			m, _ := x.(map[string]any)
			burst, _ = m["ThrottlingBurstLimit"].(float64)
			rate, _ = m["ThrottlingRateLimit"].(float64)
			if burst <= 0 || rate <= 0 {
				t.Errorf("%s: burst %v, rate %v: unthrottled (the account's 10,000/s applies)", where, m["ThrottlingBurstLimit"], m["ThrottlingRateLimit"])
			}
			if burst < rate {
				t.Errorf("%s: burst %v below rate %v: the rate can never be reached", where, burst, rate)
			}
			return burst, rate
		}
		// Every route is limited: by its own settings or the stage default.
		_, defaultRate := limits("DefaultRouteSettings", stage.Properties["DefaultRouteSettings"])
		routeSettings, _ := stage.Properties["RouteSettings"].(map[string]any)
		post := "POST " + webhook.WebhookPath
		webhookBurst, webhookRate := limits("RouteSettings["+post+"]", routeSettings[post])
		if defaultRate > webhookRate {
			t.Errorf("default rate %v above the webhook route's %v: the health check would get more than deliveries", defaultRate, webhookRate)
		}
		// A stage naming a route that does not exist yet fails to deploy.
		routes := map[string]string{}
		for _, name := range tpl.OfType("AWS::ApiGatewayV2::Route") {
			key, _ := tpl.Resources[name].Properties["RouteKey"].(string)
			routes[key] = name
		}
		for key := range routeSettings {
			name, ok := routes[key]
			if !ok {
				t.Errorf("RouteSettings names %q, not a route of the API", key)
				continue
			}
			if !contains(anyStrings(stage.DependsOn), name) {
				t.Errorf("stage does not depend on route %s, which its RouteSettings names", name)
			}
		}

		// Reserved concurrency: the webhook function is capped, and the
		// gate function has executions of its own that webhooks cannot take.
		reserved := func(f cfntest.Resource) float64 {
			n, _ := f.Properties["ReservedConcurrentExecutions"].(float64)
			return n
		}
		wc, gc := reserved(webhookFn), reserved(gateFn)
		if wc <= 0 {
			t.Errorf("webhook function has no reserved concurrency: a flood could take the account's every execution")
		}
		if gc <= 0 {
			t.Errorf("gate function has no reserved concurrency: a webhook flood could starve approval events")
		}
		// The edge lets through no more than the webhook function can take:
		// one execution a request for a whole second is the worst the
		// limits were sized for (serverless.yml).
		if webhookRate > wc {
			t.Errorf("webhook route rate %v/s above the function's %v executions", webhookRate, wc)
		}
		t.Logf("edge: %v/s burst %v on %s, %v/s elsewhere; reserved executions: webhook %v, gate %v", webhookRate, webhookBurst, post, defaultRate, wc, gc)
	})

	t.Run("approval rule", func(t *testing.T) {
		var patternRules []string
		for _, name := range tpl.OfType("AWS::Events::Rule") {
			if _, ok := tpl.Resources[name].Properties["EventPattern"]; ok {
				patternRules = append(patternRules, name)
			}
		}
		if len(patternRules) != 1 {
			t.Fatalf("event pattern rules %v, want one", patternRules)
		}
		rule := tpl.Resources[patternRules[0]].Properties
		pattern, err := v.Resolve(rule["EventPattern"])
		if err != nil {
			t.Fatal(err)
		}
		var pipelines []any
		for _, tg := range targets {
			pipelines = append(pipelines, tg.pipeline)
		}
		want := map[string]any{
			"source":      []any{"aws.codepipeline"},
			"detail-type": []any{webhook.DetailTypePipelineAction}, // what the Lambda adapter routes to the gate
			"detail": map[string]any{
				"state":    []any{"STARTED"},
				"type":     map[string]any{"category": []any{"Approval"}},
				"pipeline": pipelines,
			},
		}
		if !reflect.DeepEqual(pattern, want) {
			t.Errorf("event pattern\n%#v\nwant (the pipelines of the shipped releases.yml)\n%#v", pattern, want)
		}
		for _, tg := range targets {
			for name, tc := range map[string]struct {
				pipeline, state, category string
				match                     bool
			}{
				"approval started":   {tg.pipeline, "STARTED", "Approval", true},
				"approval succeeded": {tg.pipeline, "SUCCEEDED", "Approval", false},
				"build started":      {tg.pipeline, "STARTED", "Build", false},
				"other pipeline":     {tg.pipeline + "-other", "STARTED", "Approval", false},
			} {
				got, err := cfntest.MatchEvent(pattern, approvalEvent(tc.pipeline, tg.stage, tg.action, tc.state, tc.category))
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.match {
					t.Errorf("%s %s: rule matches = %v, want %v", tg.pipeline, name, got, tc.match)
				}
			}
		}
		checkTarget(t, v, rule, patternRules[0], gateArn)
		if invokers := permissions(t, tpl, v, gateArn, "events.amazonaws.com"); !contains(invokers, v.Attrs[patternRules[0]+".Arn"]) {
			t.Errorf("EventBridge may invoke the gate function from %v, not from the approval rule", invokers)
		}
	})

	t.Run("sweeper schedule", func(t *testing.T) {
		var schedules []string
		for _, name := range tpl.OfType("AWS::Events::Rule") {
			if _, ok := tpl.Resources[name].Properties["ScheduleExpression"]; ok {
				schedules = append(schedules, name)
			}
		}
		if len(schedules) != 1 {
			t.Fatalf("schedule rules %v, want one", schedules)
		}
		rule := tpl.Resources[schedules[0]].Properties
		if rule["ScheduleExpression"] != "rate(10 minutes)" || rule["State"] != "ENABLED" {
			t.Errorf("schedule %v %v, want rate(10 minutes) ENABLED", rule["ScheduleExpression"], rule["State"])
		}
		target := checkTarget(t, v, rule, schedules[0], gateArn)
		// The function recognises the plain scheduled event; an Input would replace it.
		for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
			if _, ok := target[k]; ok {
				t.Errorf("schedule target sets %s", k)
			}
		}
		if invokers := permissions(t, tpl, v, gateArn, "events.amazonaws.com"); !contains(invokers, v.Attrs[schedules[0]+".Arn"]) {
			t.Errorf("EventBridge may invoke the gate function from %v, not from the schedule", invokers)
		}
	})

	t.Run("ledger table", func(t *testing.T) {
		table, ok := tpl.Resources["CheckoffTable"]
		if !ok || table.Type != "AWS::DynamoDB::Table" {
			t.Fatalf("CheckoffTable = %+v, want an AWS::DynamoDB::Table", table)
		}
		p := table.Properties
		for key, want := range map[string]any{
			"BillingMode": "PAY_PER_REQUEST",
			"KeySchema": []any{
				map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
				map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
			},
			"AttributeDefinitions": []any{
				map[string]any{"AttributeName": "pk", "AttributeType": "S"},
				map[string]any{"AttributeName": "sk", "AttributeType": "S"},
			},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		} {
			if !reflect.DeepEqual(p[key], want) {
				t.Errorf("table %s = %#v, want %#v", key, p[key], want)
			}
		}
		if table.DeletionPolicy != "Retain" || table.UpdateReplacePolicy != "Retain" {
			t.Errorf("table DeletionPolicy %q UpdateReplacePolicy %q, want Retain: the ledger outlives the stack", table.DeletionPolicy, table.UpdateReplacePolicy)
		}
	})

	t.Run("least privilege", func(t *testing.T) {
		g := grants(t, tpl, v)
		if m := tpl.ManagedPolicyArns(); len(m) > 0 {
			t.Errorf("roles attach managed policies %v", m)
		}
		byService := map[string][]string{}
		for a := range g {
			svc, _, _ := strings.Cut(a, ":")
			byService[svc] = append(byService[svc], a)
		}
		for svc, actions := range byService {
			switch svc {
			case "logs", "codepipeline", "dynamodb", "ssm":
			default: // sns only with a notifyTopicArn: TestServerlessPackageNotifyTopic
				t.Errorf("grants %s actions %v; checkoff calls none", svc, sorted(actions))
			}
		}

		// CodePipeline: exactly the calls release.PipelineAPI makes, on the
		// configured pipelines, and approval only on their approval actions.
		api := reflect.TypeOf((*release.PipelineAPI)(nil)).Elem()
		var wantCP []string
		for i := 0; i < api.NumMethod(); i++ {
			wantCP = append(wantCP, "codepipeline:"+api.Method(i).Name)
		}
		if got := sorted(byService["codepipeline"]); !reflect.DeepEqual(got, sorted(wantCP)) {
			t.Errorf("codepipeline actions %v, want release.PipelineAPI's %v", got, sorted(wantCP))
		}
		arn := "arn:aws:codepipeline:" + testRegion + ":" + testAccount + ":"
		var pipelineARNs, actionARNs []string
		for _, tg := range targets {
			pipelineARNs = append(pipelineARNs, arn+tg.pipeline)
			actionARNs = append(actionARNs, arn+tg.pipeline+"/"+tg.stage+"/"+tg.action)
		}
		for _, a := range wantCP {
			want := pipelineARNs
			if a == "codepipeline:PutApprovalResult" {
				want = actionARNs
			}
			if got := g[a]; !reflect.DeepEqual(got, sorted(want)) {
				t.Errorf("%s on %v, want exactly %v (from the shipped releases.yml)", a, got, sorted(want))
			}
		}

		// DynamoDB: the calls of app/store's dynamoAPI, on the table only.
		tableARN := v.Attrs["CheckoffTable.Arn"]
		wantDDB := []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}
		if got := sorted(byService["dynamodb"]); !reflect.DeepEqual(got, wantDDB) {
			t.Errorf("dynamodb actions %v, want %v", got, wantDDB)
		}
		for _, a := range wantDDB {
			if got := g[a]; !reflect.DeepEqual(got, []string{tableARN}) {
				t.Errorf("%s on %v, want only the table %s", a, got, tableARN)
			}
		}

		// SSM: app/secrets' one GetParameters call, on the two parameters the
		// function is told to read.
		env, _ := fn.Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		ssmARN := "arn:aws:ssm:" + testRegion + ":" + testAccount + ":parameter"
		wantParams := sorted([]string{
			ssmARN + vars["GITHUB_PRIVATE_KEY_PARAMETER"].(string),
			ssmARN + vars["GITHUB_WEBHOOK_SECRET_PARAMETER"].(string),
		})
		if got := sorted(byService["ssm"]); !reflect.DeepEqual(got, []string{"ssm:GetParameters"}) {
			t.Errorf("ssm actions %v, want [ssm:GetParameters]", got)
		}
		if got := g["ssm:GetParameters"]; !reflect.DeepEqual(got, wantParams) {
			t.Errorf("ssm:GetParameters on %v, want exactly %v", got, wantParams)
		}
	})
}

// TestServerlessPackageCustomerKey: with a customer managed key, the role
// may decrypt with that key, and only through SSM.
func TestServerlessPackageCustomerKey(t *testing.T) {
	const key = "arn:aws:kms:" + testRegion + ":" + testAccount + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tpl := slsPackage(t, lambdaZip(t), "kmsKeyArn="+key)
	v := values(t, tpl)
	g := grants(t, tpl, v)
	var kms []string
	for a := range g {
		if strings.HasPrefix(a, "kms:") {
			kms = append(kms, a)
		}
	}
	if !reflect.DeepEqual(kms, []string{"kms:Decrypt"}) || !reflect.DeepEqual(g["kms:Decrypt"], []string{key}) {
		t.Fatalf("kms grants %v on %v, want kms:Decrypt on %s", kms, g["kms:Decrypt"], key)
	}
	stmts, err := tpl.Statements()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if !contains(s.Actions, "kms:Decrypt") {
			continue
		}
		cond, err := v.Resolve(s.When)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"StringEquals": map[string]any{"kms:ViaService": "ssm." + testRegion + ".amazonaws.com"}}
		if !reflect.DeepEqual(cond, want) {
			t.Errorf("kms:Decrypt condition %v, want %v", cond, want)
		}
	}
}

// TestServerlessPackageKmsKeyArn: the kmsKeyArn param is a template
// parameter whose pattern CloudFormation checks before it changes
// anything, so a key alias or a typo fails the deploy instead of granting
// kms:Decrypt on a resource that matches nothing.
func TestServerlessPackageKmsKeyArn(t *testing.T) {
	tpl := slsPackage(t, lambdaZip(t))
	p, ok := tpl.Parameters["KmsKeyArn"]
	if !ok {
		t.Fatal("no KmsKeyArn template parameter")
	}
	pattern, err := regexp.Compile(p.AllowedPattern)
	if err != nil || p.AllowedPattern == "" {
		t.Fatalf("KmsKeyArn AllowedPattern %q: %v", p.AllowedPattern, err)
	}
	if p.Default != "" {
		t.Errorf("KmsKeyArn default %v, want empty (the AWS managed key)", p.Default)
	}
	for value, want := range map[string]bool{
		"": true,
		"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab": true,
		"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd":              true,
		"alias/aws/ssm": false,
		"arn:aws:kms:eu-west-1:123456789012:alias/checkoff": false,
		"1234abcd-12ab-34cd-56ef-1234567890ab":              false,
		"arn:aws:kms:eu-west-1:123456789012:key/1234abcd\n": false,
		"*": false,
	} {
		if got := pattern.MatchString(value); got != want {
			t.Errorf("KmsKeyArn %q allowed = %v, want %v", value, got, want)
		}
	}
}

// TestServerlessPackageRegion: the stack goes to --region, else
// AWS_REGION, else us-east-1. Serverless v3 on its own ignores AWS_REGION,
// which put a team's function in us-east-1 while its SSM parameters and
// pipelines lived elsewhere.
func TestServerlessPackageRegion(t *testing.T) {
	zipPath := lambdaZip(t)
	for name, tc := range map[string]struct {
		flag string
		env  []string
		want string
	}{
		"flag":             {flag: "eu-central-1", want: "eu-central-1"},
		"AWS_REGION":       {env: []string{"AWS_REGION=eu-west-1"}, want: "eu-west-1"},
		"flag over env":    {flag: "ap-southeast-2", env: []string{"AWS_REGION=eu-west-1"}, want: "ap-southeast-2"},
		"neither":          {want: "us-east-1"},
		"AWS_DEFAULT_ONLY": {env: []string{"AWS_DEFAULT_REGION=eu-west-1"}, want: "us-east-1"},
	} {
		t.Run(name, func(t *testing.T) {
			out := slsPackageWith(t, zipPath, packageOptions{region: tc.flag, env: tc.env})
			if out.region != tc.want {
				t.Errorf("serverless resolved region %q, want %q", out.region, tc.want)
			}
			// Every ARN the template builds takes the stack's region:
			// nothing names a region literally.
			data, err := os.ReadFile(out.template)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []string{"us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"} {
				if bytes.Contains(data, []byte(r)) {
					t.Errorf("the template names region %s literally; ARNs must use AWS::Region", r)
				}
			}
		})
	}
}

// TestCfnLint runs AWS's CloudFormation linter on the templates `serverless
// package` generates, with and without a customer managed key: no errors
// and no warnings (the two waived ones are explained in serverless.yml);
// the second template sets every optional param (customer key, topic).
// It found E3510: the customer-key policy's Resource was an empty string
// when no key was given.
func TestCfnLint(t *testing.T) {
	needCfnLint(t)
	zipPath := lambdaZip(t)
	var templates []string
	for _, params := range [][]string{nil, {
		"kmsKeyArn=arn:aws:kms:" + testRegion + ":" + testAccount + ":key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"notifyTopicArn=arn:aws:sns:" + testRegion + ":" + testAccount + ":checkoff-releases",
	}} {
		templates = append(templates, slsPackageWith(t, zipPath, packageOptions{region: testRegion, params: params}).template)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	findings, err := cfntest.CfnLint(ctx, root(t), templates...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("cfn-lint: %s", f)
	}
}

// TestCfnLintFindsErrors: the linter run is real, and its findings reach
// the test: a kmsKeyArn its pattern refuses is reported.
func TestCfnLintFindsErrors(t *testing.T) {
	needCfnLint(t)
	out := slsPackageWith(t, lambdaZip(t), packageOptions{region: testRegion, params: []string{"kmsKeyArn=alias/aws/ssm"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	findings, err := cfntest.CfnLint(ctx, root(t), out.template)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range findings {
		ids = append(ids, f.Rule.ID)
	}
	if !contains(ids, "E2015") {
		t.Errorf("cfn-lint findings %v, want E2015 (default not allowed by AllowedPattern)", ids)
	}
}

// needCfnLint skips without cfn-lint, except under CI (or `make test`,
// which checks for it first), and checks the version is the pinned one.
func needCfnLint(t *testing.T) {
	t.Helper()
	v, err := cfntest.CfnLintVersionOf(context.Background())
	if errors.Is(err, cfntest.ErrNoCfnLint) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if v != cfntest.CfnLintVersion {
		t.Logf("cfn-lint %s, pinned %s: findings may differ (%s)", v, cfntest.CfnLintVersion, cfntest.CfnLintInstall)
	}
}

// TestArtifactFromMake checks the zip `make lambda` left in bin/, when there
// is one: the artifact `serverless deploy` uploads.
func TestArtifactFromMake(t *testing.T) {
	p := filepath.Join(root(t), "bin", "checkoff-lambda.zip")
	if _, err := os.Stat(p); err != nil {
		t.Skip("no bin/checkoff-lambda.zip; `make lambda` builds it")
	}
	shipped := checkArtifact(t, p)
	want, err := os.ReadFile(filepath.Join(root(t), "contrib", "releases.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, want) {
		t.Error("bin/checkoff-lambda.zip ships a releases.yml that differs from contrib/releases.yml; rebuild with `make lambda`")
	}
}

// approvalEvent is a "CodePipeline Action Execution State Change" event as
// EventBridge delivers it.
func approvalEvent(pipeline, stage, action, state, category string) map[string]any {
	return map[string]any{
		"version": "0", "id": "01234567-0123-0123-0123-012345678901",
		"detail-type": "CodePipeline Action Execution State Change", "source": "aws.codepipeline",
		"account": testAccount, "time": "2026-01-01T00:00:00Z", "region": testRegion,
		"resources": []any{"arn:aws:codepipeline:" + testRegion + ":" + testAccount + ":" + pipeline},
		"detail": map[string]any{
			"pipeline": pipeline, "execution-id": "11111111-2222-3333-4444-555555555555",
			"stage": stage, "action": action, "state": state, "region": testRegion,
			"type":    map[string]any{"owner": "AWS", "provider": "Manual", "category": category, "version": "1"},
			"version": 3.0,
		},
	}
}

// checkTarget verifies a rule has one target, the function fnArn, and
// returns it.
func checkTarget(t *testing.T, v *cfntest.Values, rule map[string]any, name, fnArn string) map[string]any {
	t.Helper()
	targets, _ := rule["Targets"].([]any)
	if len(targets) != 1 {
		t.Fatalf("rule %s has targets %v, want one", name, targets)
	}
	target, _ := targets[0].(map[string]any)
	arn, err := v.String(target["Arn"])
	if err != nil || arn != fnArn {
		t.Errorf("rule %s targets %v (%v), want %s", name, arn, err, fnArn)
	}
	return target
}

// permissions returns the source ARNs from which principal may invoke the
// function fnArn, and fails on a permission for any other function.
func permissions(t *testing.T, tpl *cfntest.Template, v *cfntest.Values, fnArn, principal string) []string {
	t.Helper()
	var out []string
	for _, name := range tpl.OfType("AWS::Lambda::Permission") {
		p := tpl.Resources[name].Properties
		if p["Principal"] != principal {
			continue
		}
		fn, err := v.String(p["FunctionName"])
		if err != nil || fn != fnArn || p["Action"] != "lambda:InvokeFunction" {
			t.Errorf("permission %s lets %s %v function %v (%v), want only %s", name, principal, p["Action"], fn, err, fnArn)
			continue
		}
		src, err := v.String(p["SourceArn"])
		if err != nil {
			t.Errorf("permission %s has no resolvable SourceArn: %v", name, err)
			continue
		}
		out = append(out, src)
	}
	return out
}

// anyStrings reads a DependsOn: one name or a list.
func anyStrings(x any) []string {
	switch v := x.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

func contains[T comparable](list []T, x T) bool {
	for _, e := range list {
		if e == x {
			return true
		}
	}
	return false
}
