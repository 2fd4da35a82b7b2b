package contrib

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/checkoff-app/checkoff/internal/cfntest"
)

const (
	region        = "us-east-1"
	account       = "123456789012"
	connectionArn = "arn:aws:codestar-connections:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666"
	checkoffArn   = "arn:aws:lambda:us-east-1:123456789012:function:checkoff-prod-gate"
	bucket        = "invoice-pipeline-artifactbucket-1abc"
	codeBucket    = "invoice-pipeline-codebucket-1abc"
)

// pipelineStack is contrib/pipeline.yml resolved for one Stage value, as
// CloudFormation would deploy it.
type pipelineStack struct {
	tpl      *cfntest.Template
	v        *cfntest.Values
	stage    string // the Stage parameter
	name     string // the pipeline's name
	pipeline map[string]any
}

func loadPipeline(t *testing.T, stage, functionArn string) *pipelineStack {
	t.Helper()
	tpl, err := cfntest.ParseTemplate(read(t, "pipeline.yml"))
	if err != nil {
		t.Fatal(err)
	}
	refs := cfntest.Pseudo(region, account, "invoice-pipeline-"+stage)
	for k, v := range map[string]string{
		"Stage": stage, "ConnectionArn": connectionArn, "CheckoffFunctionArn": functionArn,
		"ArtifactBucket": bucket, "CodeBucket": codeBucket,
	} {
		refs[k] = v
	}
	v := &cfntest.Values{Template: tpl, Refs: refs, Attrs: map[string]string{
		"ArtifactBucket.Arn": "arn:aws:s3:::" + bucket,
		"CodeBucket.Arn":     "arn:aws:s3:::" + codeBucket,
	}}
	// Physical names and ARNs the way AWS gives them.
	name := func(logical string) string {
		s, err := v.String(tpl.Resources[logical].Properties["Name"])
		if err != nil {
			t.Fatalf("%s name: %v", logical, err)
		}
		return s
	}
	st := &pipelineStack{tpl: tpl, v: v, stage: stage, name: name("Pipeline")}
	refs["Pipeline"] = st.name
	refs["BuildProject"] = name("BuildProject")
	v.Attrs["BuildProject.Arn"] = "arn:aws:codebuild:" + region + ":" + account + ":project/" + refs["BuildProject"]
	boundary, err := v.String(tpl.Resources["ServiceBoundary"].Properties["ManagedPolicyName"])
	if err != nil {
		t.Fatal(err)
	}
	refs["ServiceBoundary"] = "arn:aws:iam::" + account + ":policy/" + boundary
	for _, role := range tpl.OfType("AWS::IAM::Role") {
		v.Attrs[role+".Arn"] = "arn:aws:iam::" + account + ":role/invoice-pipeline-" + role + "-XYZ"
	}
	for _, rule := range tpl.OfType("AWS::Events::Rule") {
		v.Attrs[rule+".Arn"] = "arn:aws:events:" + region + ":" + account + ":rule/invoice-pipeline-" + rule
	}
	p, err := v.Resolve(tpl.Resources["Pipeline"].Properties)
	if err != nil {
		t.Fatalf("resolve the pipeline for Stage=%s: %v", stage, err)
	}
	st.pipeline = p.(map[string]any)
	return st
}

// stages returns the pipeline's stages by name, and their order.
func (s *pipelineStack) stages(t *testing.T) (map[string][]map[string]any, []string) {
	t.Helper()
	byName := map[string][]map[string]any{}
	var order []string
	list, _ := s.pipeline["Stages"].([]any)
	for _, st := range list {
		m, _ := st.(map[string]any)
		name, _ := m["Name"].(string)
		order = append(order, name)
		actions, _ := m["Actions"].([]any)
		for _, a := range actions {
			am, _ := a.(map[string]any)
			byName[name] = append(byName[name], am)
		}
	}
	return byName, order
}

func actionType(a map[string]any) string {
	id, _ := a["ActionTypeId"].(map[string]any)
	return fmt.Sprintf("%v/%v/%v", id["Category"], id["Owner"], id["Provider"])
}

func stageValues(t *testing.T) []string {
	t.Helper()
	tpl, err := cfntest.ParseTemplate(read(t, "pipeline.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range tpl.Parameters["Stage"].AllowedValues {
		out = append(out, fmt.Sprint(v))
	}
	if len(out) == 0 {
		t.Fatal("pipeline.yml: Stage has no AllowedValues")
	}
	return out
}

// TestPipelineMatchesReleaseConfig: for each stage it can be deployed for,
// the pipeline is one releases.yml configures, fed by the configured
// branch, and its approval stage holds the action checkoff answers.
func TestPipelineMatchesReleaseConfig(t *testing.T) {
	cfg := releases(t)
	seen := map[string]bool{}
	for _, stage := range stageValues(t) {
		t.Run(stage, func(t *testing.T) {
			st := loadPipeline(t, stage, checkoffArn)
			rel, ok := cfg.ForPipeline(st.name)
			if !ok {
				t.Fatalf("pipeline %s (Stage=%s) is not in releases.yml", st.name, stage)
			}
			seen[st.name] = true
			byName, order := st.stages(t)
			if want := []string{"Source", "Build", "CreateChangeSet", "ApproveChangeSet", "ExecuteChangeSet"}; !reflect.DeepEqual(order, want) {
				t.Fatalf("stages %v, want %v", order, want)
			}
			if mode := st.pipeline["ExecutionMode"]; mode == "PARALLEL" {
				t.Error("ExecutionMode PARALLEL: CodePipeline gives no approval token, checkoff could never approve")
			}

			src := byName["Source"]
			if len(src) != 1 || actionType(src[0]) != "Source/AWS/CodeStarSourceConnection" {
				t.Fatalf("Source actions %v, want one CodeStarSourceConnection", src)
			}
			conf, _ := src[0]["Configuration"].(map[string]any)
			if conf["BranchName"] != rel.Branch || !strings.EqualFold(fmt.Sprint(conf["FullRepositoryId"]), rel.Repo) {
				t.Errorf("source %v@%v, want %s@%s as releases.yml says", conf["FullRepositoryId"], conf["BranchName"], rel.Repo, rel.Branch)
			}
			if conf["ConnectionArn"] != connectionArn {
				t.Errorf("source connection %v", conf["ConnectionArn"])
			}

			approvals := byName[rel.Stage]
			if len(approvals) != 1 || actionType(approvals[0]) != "Approval/AWS/Manual" {
				t.Fatalf("stage %s (releases.yml) holds %v, want one Manual approval action", rel.Stage, approvals)
			}
			if rel.Action != "" && approvals[0]["Name"] != rel.Action {
				t.Errorf("approval action %v, releases.yml names %s", approvals[0]["Name"], rel.Action)
			}

			build := byName["Build"]
			if len(build) != 1 || actionType(build[0]) != "Build/AWS/CodeBuild" {
				t.Fatalf("Build actions %v, want one CodeBuild", build)
			}
			outputs, _ := build[0]["OutputArtifacts"].([]any)
			if len(outputs) != 1 {
				t.Fatalf("build outputs %v, want one", outputs)
			}
			buildOut := outputs[0].(map[string]any)["Name"]
			project := st.tpl.Resources["BuildProject"].Properties
			spec, err := st.v.String(project["Source"].(map[string]any)["BuildSpec"])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(spec); err != nil {
				t.Errorf("the build project runs %s, which contrib does not have: %v", spec, err)
			}

			create, exec := byName["CreateChangeSet"], byName["ExecuteChangeSet"]
			if len(create) != 1 || len(exec) != 1 || actionType(create[0]) != "Deploy/AWS/CloudFormation" || actionType(exec[0]) != "Deploy/AWS/CloudFormation" {
				t.Fatalf("change set actions %v / %v, want one CloudFormation action each", create, exec)
			}
			cc, _ := create[0]["Configuration"].(map[string]any)
			ec, _ := exec[0]["Configuration"].(map[string]any)
			if cc["ActionMode"] != "CHANGE_SET_REPLACE" || ec["ActionMode"] != "CHANGE_SET_EXECUTE" {
				t.Errorf("action modes %v / %v, want CHANGE_SET_REPLACE / CHANGE_SET_EXECUTE", cc["ActionMode"], ec["ActionMode"])
			}
			if cc["StackName"] != ec["StackName"] || cc["ChangeSetName"] != ec["ChangeSetName"] {
				t.Errorf("execute runs %v/%v, but the change set was created as %v/%v", ec["StackName"], ec["ChangeSetName"], cc["StackName"], cc["ChangeSetName"])
			}
			if want := fmt.Sprintf("%v::template.json", buildOut); cc["TemplatePath"] != want {
				t.Errorf("TemplatePath %v, want %s (the buildspec's artifact)", cc["TemplatePath"], want)
			}
			if cc["RoleArn"] != st.v.Attrs["DeployRole.Arn"] {
				t.Errorf("change set role %v, want the DeployRole", cc["RoleArn"])
			}
		})
	}
	for _, r := range cfg.Releases {
		if !seen[r.Pipeline] {
			t.Errorf("releases.yml names pipeline %s, which pipeline.yml does not build for any Stage", r.Pipeline)
		}
	}
}

func approvalEvent(pipeline, state, category string) map[string]any {
	return map[string]any{
		"version": "0", "id": "01234567-0123-0123-0123-012345678901", "source": "aws.codepipeline",
		"detail-type": "CodePipeline Action Execution State Change", "account": account, "region": region,
		"time": "2026-01-01T00:00:00Z", "resources": []any{"arn:aws:codepipeline:" + region + ":" + account + ":" + pipeline},
		"detail": map[string]any{
			"pipeline": pipeline, "execution-id": "11111111-2222-3333-4444-555555555555",
			"stage": "ApproveChangeSet", "action": "ChecklistApproval", "state": state, "region": region,
			"type":    map[string]any{"owner": "AWS", "provider": "Manual", "category": category, "version": "1"},
			"version": 2.0,
		},
	}
}

// TestPipelineApprovalRule: the rule invokes checkoff for this pipeline's
// approval-started events and nothing else, and only when a function is given.
func TestPipelineApprovalRule(t *testing.T) {
	stages := stageValues(t)
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			off := loadPipeline(t, stage, "")
			for _, name := range []string{"ApprovalStartedRule", "ApprovalStartedPermission"} {
				r := off.tpl.Resources[name]
				if on, err := off.v.Condition(r.Condition); err != nil || on {
					t.Errorf("%s with no CheckoffFunctionArn: created = %v (%v), want not created", name, on, err)
				}
			}

			st := loadPipeline(t, stage, checkoffArn)
			rule := st.tpl.Resources["ApprovalStartedRule"]
			if on, err := st.v.Condition(rule.Condition); err != nil || !on {
				t.Fatalf("rule with a CheckoffFunctionArn: created = %v (%v)", on, err)
			}
			props, err := st.v.Resolve(rule.Properties)
			if err != nil {
				t.Fatal(err)
			}
			p := props.(map[string]any)
			pattern := p["EventPattern"]
			for _, other := range stages {
				otherName := loadPipeline(t, other, checkoffArn).name
				for name, tc := range map[string]struct {
					ev   map[string]any
					want bool
				}{
					"approval started":   {approvalEvent(otherName, "STARTED", "Approval"), other == stage},
					"approval succeeded": {approvalEvent(otherName, "SUCCEEDED", "Approval"), false},
					"build started":      {approvalEvent(otherName, "STARTED", "Build"), false},
				} {
					got, err := cfntest.MatchEvent(pattern, tc.ev)
					if err != nil {
						t.Fatal(err)
					}
					if got != tc.want {
						t.Errorf("%s in %s: match = %v, want %v", name, otherName, got, tc.want)
					}
				}
			}
			targets, _ := p["Targets"].([]any)
			if len(targets) != 1 || targets[0].(map[string]any)["Arn"] != checkoffArn {
				t.Errorf("rule targets %v, want checkoff only", targets)
			}
			perm, err := st.v.Resolve(st.tpl.Resources["ApprovalStartedPermission"].Properties)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"Action": "lambda:InvokeFunction", "FunctionName": checkoffArn,
				"Principal": "events.amazonaws.com", "SourceArn": st.v.Attrs["ApprovalStartedRule.Arn"],
			}
			if !reflect.DeepEqual(perm, want) {
				t.Errorf("invoke permission %v, want %v", perm, want)
			}
		})
	}
}

// escalation are IAM actions that would let a role grant itself, or a role
// it creates, more than it holds. CreateRole, PutRolePolicy and
// PutRolePermissionsBoundary are allowed only with the permissions boundary
// condition.
var escalation = []string{
	"iam:AttachRolePolicy", "iam:DeleteRolePermissionsBoundary",
	"iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
	"iam:CreateUser", "iam:PutUserPolicy", "iam:AttachUserPolicy", "iam:CreateAccessKey",
	"iam:PutGroupPolicy", "iam:AttachGroupPolicy", "iam:AddUserToGroup", "iam:UpdateRole",
}

// TestPipelineLeastPrivilege: no wildcard actions, no unscoped resources,
// roles trusted only by their service in this account, and a deploy role
// that cannot mint roles beyond the service boundary.
func TestPipelineLeastPrivilege(t *testing.T) {
	for _, stage := range stageValues(t) {
		t.Run(stage, func(t *testing.T) {
			st := loadPipeline(t, stage, checkoffArn)
			stmts, err := st.tpl.Statements()
			if err != nil {
				t.Fatal(err)
			}
			if len(stmts) == 0 {
				t.Fatal("no IAM statements found")
			}
			boundary := st.v.Refs["ServiceBoundary"]
			for _, s := range stmts {
				if s.Effect != "Allow" {
					continue
				}
				// A conditional policy exists only when its condition holds
				// (the approval topic's: TestPipelineApprovalNotification).
				if s.Condition != "" {
					on, err := st.v.Condition(s.Condition)
					if err != nil {
						t.Fatal(err)
					}
					if !on {
						continue
					}
				}
				if w := s.WildcardActions(); len(w) > 0 {
					t.Errorf("%s grants wildcard actions %v", s.Holder, w)
				}
				if len(s.NotResource) > 0 {
					t.Errorf("%s grants on NotResource", s.Holder)
				}
				for _, r := range s.Resources {
					arn, err := st.v.String(r)
					if err != nil {
						t.Fatalf("%s resource %v: %v", s.Holder, r, err)
					}
					if msg := unscoped(arn); msg != "" {
						t.Errorf("%s grants %v on %s: %s", s.Holder, s.Actions, arn, msg)
					}
				}
				when, err := st.v.Resolve(s.When)
				if err != nil {
					t.Fatal(err)
				}
				cond, _ := when.(map[string]any)
				eq, _ := cond["StringEquals"].(map[string]any)
				for _, a := range s.Actions {
					switch {
					case containsString(escalation, a):
						t.Errorf("%s grants %s", s.Holder, a)
					case a == "iam:CreateRole" || a == "iam:PutRolePolicy" || a == "iam:PutRolePermissionsBoundary":
						if eq["iam:PermissionsBoundary"] != boundary {
							t.Errorf("%s grants %s without requiring the boundary %s (condition %v)", s.Holder, a, boundary, cond)
						}
					case a == "iam:PassRole":
						if svc, _ := eq["iam:PassedToService"].(string); !strings.HasSuffix(svc, ".amazonaws.com") {
							t.Errorf("%s grants iam:PassRole to any service (condition %v)", s.Holder, cond)
						}
					}
				}
			}
			if m := st.tpl.ManagedPolicyArns(); len(m) > 0 {
				t.Errorf("roles attach managed policies %v", m)
			}
			trusted := map[string]string{
				"BuildRole": "codebuild.amazonaws.com", "DeployRole": "cloudformation.amazonaws.com",
				"PipelineRole": "codepipeline.amazonaws.com",
			}
			// aws:SourceAccount only where the service's docs use it:
			// CloudFormation's and CodePipeline's service-role docs give a
			// trust policy without it.
			sourceAccount := map[string]bool{"BuildRole": true}
			roles := st.tpl.OfType("AWS::IAM::Role")
			if len(roles) != len(trusted) {
				t.Errorf("roles %v, want %d", roles, len(trusted))
			}
			for _, role := range roles {
				trust, err := st.v.Resolve(st.tpl.Resources[role].Properties["AssumeRolePolicyDocument"])
				if err != nil {
					t.Fatal(err)
				}
				stmt := map[string]any{
					"Effect": "Allow", "Principal": map[string]any{"Service": trusted[role]}, "Action": "sts:AssumeRole",
				}
				if sourceAccount[role] {
					stmt["Condition"] = map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}}
				}
				want := map[string]any{"Version": "2012-10-17", "Statement": []any{stmt}}
				if !reflect.DeepEqual(trust, want) {
					t.Errorf("%s trust policy %v, want %v", role, trust, want)
				}
			}
			// The bucket policies only deny, and they deny plain HTTP.
			for _, name := range []string{"ArtifactBucketPolicy", "CodeBucketPolicy"} {
				bp, err := st.v.Resolve(st.tpl.Resources[name].Properties["PolicyDocument"])
				if err != nil {
					t.Fatal(err)
				}
				stmtsBP, _ := bp.(map[string]any)["Statement"].([]any)
				denyHTTP := false
				for _, s := range stmtsBP {
					m := s.(map[string]any)
					if m["Effect"] != "Deny" {
						t.Errorf("%s allows %v", name, m)
					}
					if reflect.DeepEqual(m["Condition"], map[string]any{"Bool": map[string]any{"aws:SecureTransport": false}}) {
						denyHTTP = true
					}
				}
				if !denyHTTP {
					t.Errorf("%s does not deny plain HTTP", name)
				}
			}
			if fns := st.tpl.OfType("AWS::Lambda::Function"); len(fns) > 0 {
				t.Errorf("the pipeline template creates functions %v", fns)
			}
		})
	}
}

// unscoped says why an ARN is not held to this account's resources, or "".
func unscoped(arn string) string {
	if arn == "*" {
		return "every resource"
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "not an ARN"
	}
	for i, what := range map[int]string{1: "partition", 2: "service", 3: "region", 4: "account"} {
		if strings.ContainsAny(parts[i], "*?") {
			return "wildcard " + what
		}
	}
	if parts[5] == "*" || strings.HasPrefix(parts[5], "*") {
		return "wildcard resource"
	}
	switch parts[2] {
	case "s3":
		if !strings.HasPrefix(parts[5], bucket) && !strings.HasPrefix(parts[5], codeBucket) && !oldDeploymentBucket.MatchString(parts[5]) {
			return "a bucket other than the artifact, code and old deployment buckets"
		}
	case "iam":
		if parts[4] != account {
			return "another account"
		}
	case "apigateway":
		if parts[3] != region {
			return "another region"
		}
	default:
		if parts[3] != region || parts[4] != account {
			return "another region or account"
		}
	}
	return ""
}

// oldDeploymentBucket is the deploy role's grant on the bucket a service
// deployed by hand kept its code in: the framework's generated name,
// <stack>-serverlessdeploymentbucket-<suffix>, for the default service.
var oldDeploymentBucket = regexp.MustCompile(`^invoice-log-api-(dev|prod)-serverlessdeploymentbucket-\*$`)

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// buildspec is the part of a CodeBuild buildspec the tests read.
type buildspec struct {
	Version any `yaml:"version"`
	Env     struct {
		Shell string `yaml:"shell"`
	} `yaml:"env"`
	Phases map[string]struct {
		OnFailure string   `yaml:"on-failure"`
		Commands  []string `yaml:"commands"`
	} `yaml:"phases"`
	Artifacts struct {
		Files []string `yaml:"files"`
	} `yaml:"artifacts"`
}

var phaseOrder = []string{"install", "pre_build", "build", "post_build"}

func loadBuildspec(t *testing.T, path string) buildspec {
	t.Helper()
	var bs buildspec
	if err := yaml.Unmarshal(read(t, path), &bs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return bs
}

// TestBuildspecs: unit tests run in a phase before anything is packaged,
// and every `| tee` runs under bash with pipefail.
func TestBuildspecs(t *testing.T) {
	for _, stage := range stageValues(t) {
		path := "buildspec-" + stage + ".yml"
		t.Run(path, func(t *testing.T) {
			bs := loadBuildspec(t, path)
			if fmt.Sprint(bs.Version) != "0.2" {
				t.Errorf("version %v, want 0.2 (one shell per phase)", bs.Version)
			}
			if bs.Env.Shell != "bash" {
				t.Errorf("env.shell %q: CodeBuild's default sh has no pipefail; want bash", bs.Env.Shell)
			}
			testPhase, packagePhase := -1, -1
			for i, name := range phaseOrder {
				ph, ok := bs.Phases[name]
				if !ok {
					continue
				}
				for _, c := range ph.Commands {
					if strings.Contains(c, "npm test") && testPhase < 0 {
						testPhase = i
						if ph.OnFailure == "CONTINUE" {
							t.Errorf("phase %s continues after failing tests", name)
						}
					}
					if strings.Contains(c, "serverless") && packagePhase < 0 {
						packagePhase = i
					}
					if tee := strings.Index(c, "| tee"); tee >= 0 {
						pf := strings.Index(c, "pipefail")
						if pf < 0 || pf > tee || !strings.Contains(c[:pf], "set -") {
							t.Errorf("%q pipes into tee without `set -o pipefail` first", c)
						}
					}
				}
			}
			if testPhase < 0 || packagePhase < 0 || testPhase >= packagePhase {
				t.Errorf("unit tests in phase %d, serverless in phase %d: tests must gate in an earlier phase", testPhase, packagePhase)
			}
			if !reflect.DeepEqual(bs.Artifacts.Files, []string{"template.json"}) {
				t.Errorf("artifacts %v, want [template.json] (pipeline.yml's TemplatePath)", bs.Artifacts.Files)
			}
		})
	}
}

// fakeTools writes stand-ins for the commands the build phase runs. They
// act like the real ones where the buildspec depends on it: serverless
// writes .serverless/, node prints the artifact directory, aws logs its
// arguments.
func fakeTools(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	scripts := map[string]string{
		"npx": `#!/bin/bash
[ "$1 $2" = "serverless package" ] || { echo "unexpected npx $*" >&2; exit 2; }
case "$FAKE_SLS" in
fail) echo "Error: the stack is in UPDATE_ROLLBACK_FAILED state" >&2; exit 1 ;;
esac
mkdir -p .serverless
echo '{"package":{"artifactDirectoryName":"serverless/invoice-log-api/dev/1700000000000-2026-01-01T00:00:00.000Z"}}' > .serverless/serverless-state.json
echo zip > .serverless/invoice-log-api.zip
if [ "$FAKE_SLS" = nobucket ]; then
  echo '{"Resources":{"ServerlessDeploymentBucket":{"Type":"AWS::S3::Bucket"}}}' > .serverless/cloudformation-template-update-stack.json
else
  echo '{"Resources":{"ApiLambdaFunction":{"Type":"AWS::Lambda::Function"}}}' > .serverless/cloudformation-template-update-stack.json
fi
echo "Packaging invoice-log-api for stage $4"
`,
		"node": `#!/bin/bash
case "$2" in *artifactDirectoryName*) sed -n 's/.*"artifactDirectoryName":"\([^"]*\)".*/\1/p' .serverless/serverless-state.json ;; *) exit 2 ;; esac
`,
		"aws": `#!/bin/bash
echo "$*" >> "$FAKE_LOG"
[ -z "$FAKE_AWS_FAIL" ] || { echo "upload failed: AccessDenied" >&2; exit 1; }
echo "upload: .serverless/invoice-log-api.zip"
`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runBuildPhase runs a buildspec's build commands in order, each in bash as
// CodeBuild does with `shell: bash`, and stops at the first failure
// (on-failure: ABORT). It returns the index of the failed command (-1 for
// none) and the working directory.
func runBuildPhase(t *testing.T, bash string, commands []string, env ...string) (int, string, string) {
	t.Helper()
	tools := fakeTools(t)
	work := t.TempDir()
	var output strings.Builder
	for i, c := range commands {
		cmd := exec.Command(bash, "-c", c)
		cmd.Dir = work
		cmd.Env = append([]string{
			"PATH=" + tools + ":/usr/bin:/bin", "STAGE=dev", "DEPLOYMENT_BUCKET=" + bucket,
			"FAKE_LOG=" + filepath.Join(work, "aws.log"),
		}, env...)
		out, err := cmd.CombinedOutput()
		output.Write(out)
		if err != nil {
			return i, work, output.String()
		}
	}
	return -1, work, output.String()
}

// TestBuildspecBuildPhase runs the build phase against stand-ins for
// serverless, node and aws: a failing serverless behind `| tee` fails the
// build, and a successful one uploads the code and emits template.json.
func TestBuildspecBuildPhase(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, stage := range stageValues(t) {
		path := "buildspec-" + stage + ".yml"
		commands := loadBuildspec(t, path).Phases["build"].Commands
		t.Run(path, func(t *testing.T) {
			exists := func(work, name string) bool {
				_, err := os.Stat(filepath.Join(work, name))
				return err == nil
			}
			t.Run("success", func(t *testing.T) {
				failed, work, out := runBuildPhase(t, bash, commands)
				if failed >= 0 {
					t.Fatalf("command %d failed:\n%s", failed, out)
				}
				if !exists(work, "template.json") {
					t.Error("no template.json for the pipeline")
				}
				pkg, _ := os.ReadFile(filepath.Join(work, "package.out"))
				if !strings.Contains(string(pkg), "Packaging invoice-log-api for stage dev") {
					t.Errorf("package.out = %q, want serverless's output", pkg)
				}
				log, _ := os.ReadFile(filepath.Join(work, "aws.log"))
				want := "s3 cp .serverless/ s3://" + bucket + "/serverless/invoice-log-api/dev/1700000000000-2026-01-01T00:00:00.000Z/ --recursive --exclude * --include *.zip"
				if strings.TrimSpace(string(log)) != want {
					t.Errorf("aws called with %q, want %q", log, want)
				}
			})
			t.Run("serverless fails", func(t *testing.T) {
				failed, work, _ := runBuildPhase(t, bash, commands, "FAKE_SLS=fail")
				if failed != 0 {
					t.Fatalf("failed at command %d, want the serverless command (0) to fail the build", failed)
				}
				pkg, _ := os.ReadFile(filepath.Join(work, "package.out"))
				if !strings.Contains(string(pkg), "UPDATE_ROLLBACK_FAILED") {
					t.Errorf("package.out = %q: tee should still have logged the error", pkg)
				}
				if exists(work, "aws.log") || exists(work, "template.json") {
					t.Error("the build went on after serverless failed")
				}
				// The control: the same command without pipefail passes,
				// which is the bug the buildspec guards against.
				plain := strings.NewReplacer("set -euo pipefail", "", "set -o pipefail", "").Replace(commands[0])
				if failed, _, _ := runBuildPhase(t, bash, []string{plain}, "FAKE_SLS=fail"); failed != -1 {
					t.Errorf("without pipefail the failing command failed anyway (%d); the test's fake is wrong", failed)
				}
			})
			t.Run("upload fails", func(t *testing.T) {
				failed, work, _ := runBuildPhase(t, bash, commands, "FAKE_AWS_FAIL=1")
				if failed != 1 || exists(work, "template.json") {
					t.Errorf("failed at command %d, template.json %v; want the upload (1) to fail the build with no template", failed, exists(work, "template.json"))
				}
			})
			t.Run("no deployment bucket", func(t *testing.T) {
				failed, work, out := runBuildPhase(t, bash, commands, "FAKE_SLS=nobucket")
				if failed != 1 || exists(work, "aws.log") || !strings.Contains(out, "deploymentBucket") {
					t.Errorf("failed at command %d, uploaded %v, output %q; want a stop that names deploymentBucket", failed, exists(work, "aws.log"), out)
				}
			})
		})
	}
}

// handlerPermissions is deploy/testdata/cfn-handler-permissions.yml.
type handlerPermissions struct {
	Types      map[string]map[string]any `yaml:"types"`
	NotGranted map[string]string         `yaml:"not_granted"`
}

// roleGrants returns, lower-cased, the actions role's Allow statements
// grant, with the resources each is granted on and the statements' conditions.
func roleGrants(t *testing.T, st *pipelineStack, role string) map[string][]grant {
	t.Helper()
	stmts, err := st.tpl.Statements()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]grant{}
	for _, s := range stmts {
		if s.Effect != "Allow" || !strings.HasPrefix(s.Holder, role) {
			continue
		}
		when, err := st.v.Resolve(s.When)
		if err != nil {
			t.Fatal(err)
		}
		var arns []string
		for _, r := range s.Resources {
			arn, err := st.v.String(r)
			if err != nil {
				t.Fatal(err)
			}
			arns = append(arns, arn)
		}
		for _, a := range s.Actions {
			out[strings.ToLower(a)] = append(out[strings.ToLower(a)], grant{arns, when})
		}
	}
	return out
}

type grant struct {
	resources []string
	when      any
}

// allows reports whether g covers arn (IAM wildcards * and ?).
func (g grant) allows(arn string) bool {
	for _, r := range g.resources {
		pattern := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(r)) + "$"
		if regexp.MustCompile(pattern).MatchString(arn) {
			return true
		}
	}
	return false
}

// TestDeployRoleCoversHandlers: CloudFormation runs a resource's handlers
// with the deploy role, and a read it may not make fails the change set
// only at ExecuteChangeSet, after checkoff approved it. Every action the
// registry schemas' handlers list for the service's resource types is
// granted, or deploy/testdata says why the service never calls it.
func TestDeployRoleCoversHandlers(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "deploy", "testdata", "cfn-handler-permissions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var hp handlerPermissions
	if err := yaml.Unmarshal(data, &hp); err != nil {
		t.Fatalf("cfn-handler-permissions.yml: %v", err)
	}
	for _, typ := range []string{"AWS::Lambda::Function", "AWS::Lambda::Version", "AWS::IAM::Role",
		"AWS::Logs::LogGroup", "AWS::DynamoDB::Table", "AWS::Events::Rule", "AWS::ApiGatewayV2::Api"} {
		if _, ok := hp.Types[typ]; !ok {
			t.Errorf("cfn-handler-permissions.yml lacks %s", typ)
		}
	}
	st := loadPipeline(t, "dev", checkoffArn)
	granted := roleGrants(t, st, "DeployRole")
	notGranted := map[string]string{}
	for a, why := range hp.NotGranted {
		if strings.TrimSpace(why) == "" {
			t.Errorf("not_granted %s gives no reason", a)
		}
		notGranted[strings.ToLower(a)] = a
	}
	listed := map[string]bool{}
	for typ, h := range hp.Types {
		if src, _ := h["source"].(string); src == "" {
			t.Errorf("%s names no source", typ)
		}
		for _, handler := range []string{"create", "read", "update", "delete"} {
			actions, ok := h[handler].([]any)
			if !ok {
				t.Errorf("%s has no %s handler list", typ, handler)
				continue
			}
			for _, x := range actions {
				a := strings.ToLower(fmt.Sprint(x))
				listed[a] = true
				_, isGranted := granted[a]
				_, excused := notGranted[a]
				switch {
				case isGranted && excused:
					t.Errorf("%s is granted and also listed as not granted", a)
				case !isGranted && !excused:
					t.Errorf("%s %s handler calls %s: the deploy role does not grant it (or say why in not_granted)", typ, handler, x)
				case !isGranted && handler == "read" && strings.HasPrefix(a, strings.ToLower(strings.Split(typ, "::")[1])+":"):
					t.Errorf("%s read handler calls %s, its own service's read: not granted", typ, x)
				}
			}
		}
	}
	for a, orig := range notGranted {
		if !listed[a] {
			t.Errorf("not_granted lists %s, which no handler calls: stale", orig)
		}
	}
}

// TestPipelineTakesOverHandDeployedService: a stack first deployed with
// `serverless deploy` has roles without the boundary and its own
// deployment bucket; the first change set adds the one and deletes the
// other, so the deploy role may do both, and no more.
func TestPipelineTakesOverHandDeployedService(t *testing.T) {
	for _, stage := range stageValues(t) {
		t.Run(stage, func(t *testing.T) {
			st := loadPipeline(t, stage, checkoffArn)
			g := roleGrants(t, st, "DeployRole")
			stack := "invoice-log-api-" + stage
			role := "arn:aws:iam::" + account + ":role/" + stack + "-us-east-1-lambdaRole"
			boundary := st.v.Refs["ServiceBoundary"]
			want := map[string]any{"StringEquals": map[string]any{"iam:PermissionsBoundary": boundary}}
			pb := g["iam:putrolepermissionsboundary"]
			if len(pb) == 0 {
				t.Fatal("the deploy role cannot put the boundary on a role deployed without it")
			}
			for _, gr := range pb {
				if !reflect.DeepEqual(gr.when, want) {
					t.Errorf("iam:PutRolePermissionsBoundary condition %v, want %v", gr.when, want)
				}
				if !gr.allows(role) || gr.allows("arn:aws:iam::"+account+":role/other-service-"+stage+"-lambdaRole") {
					t.Errorf("iam:PutRolePermissionsBoundary on %v: want the service's roles only", gr.resources)
				}
			}
			old := stack + "-serverlessdeploymentbucket-1a2b3c4d5e6f"
			for _, a := range []string{"s3:deletebucket", "s3:deletebucketpolicy", "s3:getbucketpolicy"} {
				ok := false
				for _, gr := range g[a] {
					ok = ok || gr.allows("arn:aws:s3:::"+old)
					if gr.allows("arn:aws:s3:::"+bucket) || gr.allows("arn:aws:s3:::"+codeBucket) || gr.allows("arn:aws:s3:::other-service-serverlessdeploymentbucket-1") {
						t.Errorf("%s on %v reaches a bucket other than the old deployment bucket", a, gr.resources)
					}
				}
				if !ok {
					t.Errorf("the deploy role cannot %s on the old deployment bucket %s", a, old)
				}
			}
		})
	}
}

// TestPipelineCodeOutlivesArtifacts: pipeline artifacts expire, the
// service's code does not (a rollback of a function untouched for months
// redeploys it), and a failed deploy shows its reason in CodePipeline.
func TestPipelineCodeOutlivesArtifacts(t *testing.T) {
	st := loadPipeline(t, "prod", checkoffArn)
	rules := func(name string) []any {
		p := st.tpl.Resources[name].Properties
		lc, _ := p["LifecycleConfiguration"].(map[string]any)
		r, _ := lc["Rules"].([]any)
		return r
	}
	for _, r := range rules("CodeBucket") {
		m := r.(map[string]any)
		for _, k := range []string{"ExpirationInDays", "ExpirationDate", "Transitions", "Transition"} {
			if _, ok := m[k]; ok && m["Status"] == "Enabled" {
				t.Errorf("code bucket rule %v sets %s: the deployed code would go", m["Id"], k)
			}
		}
	}
	if len(rules("ArtifactBucket")) == 0 {
		t.Error("artifact bucket keeps every execution's artifacts forever")
	}
	// The code goes to, and is read from, the code bucket only.
	project := st.tpl.Resources["BuildProject"].Properties
	env, _ := project["Environment"].(map[string]any)
	vars, _ := st.v.Resolve(env["EnvironmentVariables"])
	found := false
	for _, x := range vars.([]any) {
		m := x.(map[string]any)
		if m["Name"] == "DEPLOYMENT_BUCKET" {
			found = true
			if m["Value"] != codeBucket {
				t.Errorf("DEPLOYMENT_BUCKET = %v, want the code bucket %s", m["Value"], codeBucket)
			}
		}
	}
	if !found {
		t.Error("the build is not told DEPLOYMENT_BUCKET")
	}
	code := "arn:aws:s3:::" + codeBucket + "/serverless/invoice-log-api/prod/1700000000000-2026-01-01T00:00:00.000Z/invoice-log-api.zip"
	for role, action := range map[string]string{"BuildRole": "s3:putobject", "DeployRole": "s3:getobject"} {
		ok := false
		for _, gr := range roleGrants(t, st, role)[action] {
			ok = ok || gr.allows(code)
		}
		if !ok {
			t.Errorf("%s cannot %s the service's code in the code bucket", role, action)
		}
	}
	stackArn := "arn:aws:cloudformation:" + region + ":" + account + ":stack/invoice-log-api-prod/11111111-2222-3333-4444-555555555555"
	ok := false
	for _, gr := range roleGrants(t, st, "PipelineRole")["cloudformation:describestackevents"] {
		ok = ok || gr.allows(stackArn)
	}
	if !ok {
		t.Error("the pipeline role cannot DescribeStackEvents: a failed deploy action would not say why")
	}
}

// TestPipelineCfnLint runs AWS's CloudFormation linter on pipeline.yml: no
// errors, no warnings.
func TestPipelineCfnLint(t *testing.T) {
	if _, err := exec.LookPath("cfn-lint"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(cfntest.ErrNoCfnLint)
		}
		t.Skip(cfntest.ErrNoCfnLint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	findings, err := cfntest.CfnLint(ctx, "..", "contrib/pipeline.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("cfn-lint: %s", f)
	}
}
