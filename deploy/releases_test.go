package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/release"
)

// teamReleases is a team's release file: nothing in it is the example's.
const teamReleases = "deploy/testdata/team-releases.yml"

// defaultAction is serverless.yml's approvalAction param: the action of a
// release that names none.
const defaultAction = "ChecklistApproval"

// zipWithReleases copies the Lambda zip's bootstrap into a new zip that
// ships releasesFile, as `make lambda RELEASES=releasesFile` would.
func zipWithReleases(t *testing.T, zipPath, releasesFile string) string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	releases, err := os.ReadFile(releasesFile)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name != "bootstrap" {
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	h := &zip.FileHeader{Name: "releases.yml", Method: zip.Deflate}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(releases); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "checkoff-lambda.zip")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// gateTargets is what the gate's own parser reads in a release file: the
// approval actions it may answer, an unnamed action being defaultAction.
func gateTargets(t *testing.T, file string, data []byte) ([]approvalTarget, error) {
	t.Helper()
	cfg, err := release.ParseConfig(file, data)
	if err != nil {
		return nil, err
	}
	var out []approvalTarget
	for _, r := range cfg.Releases {
		action := r.Action
		if action == "" {
			action = defaultAction
		}
		out = append(out, approvalTarget{r.Pipeline, r.Stage, action})
	}
	return out, nil
}

// TestServerlessPackageTeamReleases: packaged with a team's release file
// (and a zip shipping it), the grants and the approval rule name exactly
// the team's pipelines and approval actions, and the example's nowhere.
func TestServerlessPackageTeamReleases(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root(t), teamReleases))
	if err != nil {
		t.Fatal(err)
	}
	targets, err := gateTargets(t, teamReleases, data)
	if err != nil {
		t.Fatal(err)
	}
	zipPath := zipWithReleases(t, lambdaZip(t), filepath.Join(root(t), teamReleases))
	if shipped := checkArtifact(t, zipPath); !bytes.Equal(shipped, data) {
		t.Fatal("the team zip does not ship the team's release file")
	}
	out := slsPackageWith(t, zipPath, packageOptions{region: testRegion, params: []string{"releases=" + teamReleases}})
	tpl := out.tpl
	v := values(t, tpl)
	g := grants(t, tpl, v)

	arn := "arn:aws:codepipeline:" + testRegion + ":" + testAccount + ":"
	var pipelines, actions []string
	var names []any
	for _, tg := range targets {
		pipelines = append(pipelines, arn+tg.pipeline)
		actions = append(actions, arn+tg.pipeline+"/"+tg.stage+"/"+tg.action)
		names = append(names, tg.pipeline)
	}
	for _, a := range []string{"codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution", "codepipeline:ListPipelineExecutions"} {
		if got := g[a]; !reflect.DeepEqual(got, sorted(pipelines)) {
			t.Errorf("%s on %v, want exactly %v", a, got, sorted(pipelines))
		}
	}
	if got := g["codepipeline:PutApprovalResult"]; !reflect.DeepEqual(got, sorted(actions)) {
		t.Errorf("codepipeline:PutApprovalResult on %v, want exactly %v", got, sorted(actions))
	}

	var rules []string
	for _, name := range tpl.OfType("AWS::Events::Rule") {
		if _, ok := tpl.Resources[name].Properties["EventPattern"]; ok {
			rules = append(rules, name)
		}
	}
	if len(rules) != 1 {
		t.Fatalf("event pattern rules %v, want one", rules)
	}
	pattern, err := v.Resolve(tpl.Resources[rules[0]].Properties["EventPattern"])
	if err != nil {
		t.Fatal(err)
	}
	detail, _ := pattern.(map[string]any)["detail"].(map[string]any)
	if !reflect.DeepEqual(detail["pipeline"], names) {
		t.Errorf("approval rule pipelines %v, want %v", detail["pipeline"], names)
	}

	raw, err := os.ReadFile(out.template)
	if err != nil {
		t.Fatal(err)
	}
	for _, example := range []string{"invoice-log-api", "acme", "ApproveChangeSet"} {
		if bytes.Contains(raw, []byte(example)) {
			t.Errorf("the template packaged with %s names the example's %q", teamReleases, example)
		}
	}
}

// TestServerlessPackageRefusesOtherArtifact: grants derived from one
// release file and a zip shipping another would let the gate answer
// pipelines it may not, and never those it may: packaging fails and says
// how to fix it.
func TestServerlessPackageRefusesOtherArtifact(t *testing.T) {
	dir := root(t)
	sls := filepath.Join(dir, "node_modules", "serverless", "bin", "serverless.js")
	needTool(t, sls, "serverless (npm)")
	node, err := exec.LookPath("node")
	if err != nil {
		needTool(t, "node", "node")
	}
	for name, tc := range map[string]struct {
		zip    string // "" for the example zip
		params []string
		want   string
	}{
		"team file, example zip": {params: []string{"releases=" + teamReleases}, want: "differs from " + teamReleases},
		"example file, team zip": {zip: teamReleases, want: "differs from contrib/releases.yml"},
		"no such file":           {params: []string{"releases=deploy/testdata/none.yml"}, want: "none.yml"},
	} {
		t.Run(name, func(t *testing.T) {
			zipPath := lambdaZip(t)
			if tc.zip != "" {
				zipPath = zipWithReleases(t, zipPath, filepath.Join(dir, tc.zip))
			}
			args := []string{sls, "package", "--stage", testStage, "--region", testRegion,
				"--param=githubAppId=" + testAppID, "--param=artifact=" + zipPath}
			for _, p := range tc.params {
				args = append(args, "--param="+p)
			}
			_, err := runPackage(node, dir, t.TempDir(), args, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serverless package: %v\nwant a failure saying %q", err, tc.want)
			}
		})
	}
}

// TestReleasesJSAgreesWithGate: deploy/releases.js, which derives the
// grants, reads a release file as the gate's parser does: the same
// approval actions from a good file, a refusal of a bad one.
func TestReleasesJSAgreesWithGate(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		needTool(t, "node", "node")
	}
	needTool(t, filepath.Join(root(t), "node_modules", "js-yaml", "package.json"), "js-yaml (npm)")
	example, err := os.ReadFile(filepath.Join(root(t), "contrib", "releases.yml"))
	if err != nil {
		t.Fatal(err)
	}
	team, err := os.ReadFile(filepath.Join(root(t), teamReleases))
	if err != nil {
		t.Fatal(err)
	}
	const entry = "releases:\n  - repo: globex/payments\n    branch: main\n"
	for name, tc := range map[string]struct {
		yaml string
		ok   bool
	}{
		"example":            {yaml: string(example), ok: true},
		"team":               {yaml: string(team), ok: true},
		"names trimmed":      {yaml: entry + "    pipeline: ' payments-live '\n    stage: \"Approve \"\n", ok: true},
		"empty action":       {yaml: entry + "    pipeline: p\n    stage: s\n    action: ''\n", ok: true},
		"unknown key":        {yaml: entry + "    pipline: p\n    stage: s\n"},
		"unknown top key":    {yaml: "release: []\n" + entry + "    pipeline: p\n    stage: s\n"},
		"missing stage":      {yaml: entry + "    pipeline: p\n"},
		"number pipeline":    {yaml: entry + "    pipeline: 123\n    stage: s\n"},
		"list action":        {yaml: entry + "    pipeline: p\n    stage: s\n    action: [a, b]\n"},
		"wildcard pipeline":  {yaml: entry + "    pipeline: '*'\n    stage: s\n"},
		"space in pipeline":  {yaml: entry + "    pipeline: my pipeline\n    stage: s\n"},
		"slash in stage":     {yaml: entry + "    pipeline: p\n    stage: s/a\n"},
		"duplicate key":      {yaml: entry + "    pipeline: p\n    pipeline: q\n    stage: s\n"},
		"duplicate pipeline": {yaml: entry + "    pipeline: p\n    stage: s\n  - repo: globex/payments\n    branch: dev\n    pipeline: p\n    stage: s\n"},
		"merge key":          {yaml: "base: &b {stage: s}\n" + entry + "    pipeline: p\n    <<: *b\n"},
		"empty list":         {yaml: "releases: []\n"},
		"empty file":         {yaml: ""},
		"not a mapping":      {yaml: "- releases\n"},
	} {
		t.Run(name, func(t *testing.T) {
			want, goErr := gateTargets(t, "releases.yml", []byte(tc.yaml))
			if (goErr == nil) != tc.ok {
				t.Fatalf("the gate's parser: %v, want ok=%v", goErr, tc.ok)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "-e", `
const r = require('./deploy/releases.js');
const text = require('fs').readFileSync(0, 'utf8');
try { process.stdout.write(JSON.stringify(r.parse('releases.yml', text, process.argv[1]))); }
catch (e) { process.stderr.write(e.message); process.exit(3); }`, defaultAction)
			cmd.Dir = root(t)
			cmd.Stdin = strings.NewReader(tc.yaml)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if !tc.ok {
				if err == nil {
					t.Fatalf("releases.js accepted what the gate refuses (%v): %s", goErr, stdout.Bytes())
				}
				if !strings.HasPrefix(stderr.String(), "release file releases.yml: ") {
					t.Errorf("releases.js error %q does not name the file", stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("releases.js: %v: %s", err, stderr.Bytes())
			}
			var got []struct{ Pipeline, Stage, Action string }
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			var gotT []approvalTarget
			for _, g := range got {
				gotT = append(gotT, approvalTarget{g.Pipeline, g.Stage, g.Action})
			}
			if !reflect.DeepEqual(gotT, want) {
				t.Errorf("releases.js grants %v, the gate answers %v", gotT, want)
			}
		})
	}
}

// TestServerlessPackageNotifyTopic: with a notifyTopicArn the role may
// publish to that topic and nothing else, and the functions are told its
// ARN; without one, no SNS grant at all.
func TestServerlessPackageNotifyTopic(t *testing.T) {
	const topic = "arn:aws:sns:" + testRegion + ":" + testAccount + ":checkoff-releases"
	api := reflect.TypeOf((*release.SNSAPI)(nil)).Elem()
	var wantActions []string
	for i := 0; i < api.NumMethod(); i++ {
		wantActions = append(wantActions, "sns:"+api.Method(i).Name)
	}
	for name, tc := range map[string]struct {
		params []string
		topic  string
	}{
		"none":  {},
		"topic": {params: []string{"notifyTopicArn=" + topic}, topic: topic},
	} {
		t.Run(name, func(t *testing.T) {
			tpl := slsPackage(t, lambdaZip(t), tc.params...)
			v := values(t, tpl)
			g := grants(t, tpl, v)
			var snsActions []string
			for a := range g {
				if strings.HasPrefix(a, "sns:") {
					snsActions = append(snsActions, a)
				}
			}
			if tc.topic == "" {
				if len(snsActions) > 0 {
					t.Errorf("no topic, yet grants %v", snsActions)
				}
			} else {
				if !reflect.DeepEqual(sorted(snsActions), sorted(wantActions)) {
					t.Errorf("sns actions %v, want release.SNSAPI's %v", snsActions, wantActions)
				}
				for _, a := range wantActions {
					if !reflect.DeepEqual(g[a], []string{tc.topic}) {
						t.Errorf("%s on %v, want only %s", a, g[a], tc.topic)
					}
				}
			}
			for _, fn := range tpl.OfType("AWS::Lambda::Function") {
				env, _ := tpl.Resources[fn].Properties["Environment"].(map[string]any)
				vars, _ := env["Variables"].(map[string]any)
				got, err := v.String(vars[release.EnvNotifyTopic])
				if err != nil || got != tc.topic {
					t.Errorf("%s %s = %q (%v), want %q", fn, release.EnvNotifyTopic, got, err, tc.topic)
				}
			}
		})
	}
}

// TestServerlessPackageNotifyTopicArn: the notifyTopicArn param is
// checked by CloudFormation before anything changes; it accepts exactly
// what the gate accepts (release.TopicRegion), so a topic the deploy
// grants is one the gate can publish to.
func TestServerlessPackageNotifyTopicArn(t *testing.T) {
	tpl := slsPackage(t, lambdaZip(t))
	p, ok := tpl.Parameters["NotifyTopicArn"]
	if !ok {
		t.Fatal("no NotifyTopicArn template parameter")
	}
	pattern, err := regexp.Compile(p.AllowedPattern)
	if err != nil || p.AllowedPattern == "" {
		t.Fatalf("NotifyTopicArn AllowedPattern %q: %v", p.AllowedPattern, err)
	}
	if p.Default != "" {
		t.Errorf("NotifyTopicArn default %v, want empty (no notifications)", p.Default)
	}
	for _, value := range []string{
		"arn:aws:sns:eu-west-1:123456789012:checkoff-releases",
		"arn:aws-us-gov:sns:us-gov-west-1:123456789012:releases",
		"arn:aws:sns:eu-west-1:123456789012:releases.fifo",
		"arn:aws:sns:eu-west-1:123456789012:*",
		"arn:aws:sqs:eu-west-1:123456789012:releases",
		"arn:aws:sns:eu-west-1:123456789012:releases\n",
		"checkoff-releases",
		"*",
	} {
		_, gateErr := release.TopicRegion(value)
		if got := pattern.MatchString(value); got != (gateErr == nil) {
			t.Errorf("NotifyTopicArn %q allowed = %v, the gate accepts it: %v", value, got, gateErr == nil)
		}
	}
	if !pattern.MatchString("") {
		t.Error("NotifyTopicArn refuses empty (no notifications)")
	}
}
