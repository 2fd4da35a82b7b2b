package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/internal/pipelinetest"
)

// TestStatus: checkoff status explains the waiting approval on the fake
// CodePipeline and GitHub, and answers nothing.
func TestStatus(t *testing.T) {
	gh, cp := fixtureGitHub(t), pipelinetest.New(t)
	awsEnvFor(t, cp)
	env, exec := mergedRelease(t, gh, cp)
	for k, v := range env {
		t.Setenv(k, v)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := runStatus(args, nil, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run("--pipeline", loopPipeline)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"execution " + exec + " waits", "#12 (merged as " + githubtest.FixtureMergeSHA[:7] + "): checked off, reviewed by " + githubtest.FixtureReviewer,
		"deployed  " + githubtest.FixtureBaseSHA[:7], "answer now: approved"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run("--json", "--pipeline", loopPipeline)
	var st release.Status
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.ExecutionID != exec || len(st.PRs) != 1 || st.Answer != release.Approved {
		t.Errorf("--json: exit %d, %+v\n%s", code, st, out)
	}
	if res := cp.Results(loopPipeline); len(res) != 0 {
		t.Errorf("status answered the approval: %+v", res)
	}
	if code, _, errOut := run("--pipeline", "nope"); code != exitUsage || !strings.Contains(errOut, "nope") {
		t.Errorf("unknown pipeline: exit %d, %q", code, errOut)
	}
	if code, _, _ := run(); code != exitUsage {
		t.Errorf("no --pipeline: exit %d", code)
	}
}
