package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/internal/pipelinetest"
)

// served is `checkoff serve` running in this process until stop.
type served struct {
	addr           string
	stdout, stderr *lockedBuffer
	cancel         context.CancelFunc
	done           chan int
	code           int
	stopped        bool
}

var listening = regexp.MustCompile(`"checkoff listening" addr=http://([0-9.:]+)`)

// serveInProcess runs serve with env as its environment on a free
// loopback port and waits until it listens.
func serveInProcess(t *testing.T, env map[string]string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- serve(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, s.stdout, s.stderr)
	}()
	t.Cleanup(func() { s.stop(t) })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case code := <-s.done:
			t.Fatalf("serve exited %d before listening:\n%s", code, s.stderr)
		default:
		}
		if m := listening.FindStringSubmatch(s.stderr.String()); m != nil {
			s.addr = m[1]
			return s
		}
	}
	t.Fatalf("serve not listening after 10s:\n%s", s.stderr)
	return nil
}

// stop is SIGTERM: it returns serve's exit code, failing the test if
// serve does not return within its shutdown grace.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	if s.stopped {
		return s.code
	}
	s.stopped = true
	s.cancel()
	select {
	case s.code = <-s.done:
	case <-time.After(shutdownGrace + 5*time.Second):
		t.Fatalf("serve still running %s after shutdown", shutdownGrace+5*time.Second)
	}
	return s.code
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("after 10s: %s", what)
}

// awsEnvFor points the AWS SDK, which reads the process environment
// itself, at the fake CodePipeline with its credentials.
func awsEnvFor(t *testing.T, cp *pipelinetest.Server) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION": pipelinetest.Region, "AWS_ACCESS_KEY_ID": pipelinetest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": pipelinetest.SecretAccessKey, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_CODEPIPELINE": cp.URL,
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
	} {
		t.Setenv(k, v)
	}
}

const (
	loopPipeline = "invoice-log-api-dev"
	loopStage    = "ApproveChangeSet"
	loopAction   = "ChecklistApproval"
)

// mergedRelease sets up issue 12's self-hosted case: #12 was merged
// into dev, fully checked off (its verdict is in serve's store), and the
// merge commit's execution reached the approval afterwards, with no
// EventBridge to say so. It returns serve's environment and the execution.
func mergedRelease(t *testing.T, gh *githubtest.Server, cp *pipelinetest.Server) (map[string]string, string) {
	t.Helper()
	repo := githubtest.FixtureRepo
	gh.AddCommit(repo, githubtest.Commit{SHA: githubtest.FixtureMergeSHA, Parents: []string{githubtest.FixtureBaseSHA, githubtest.FixtureHeadSHA}, Message: "Merge pull request #12"})
	gh.SetBranch(repo, githubtest.FixtureBaseBranch, githubtest.FixtureMergeSHA)
	gh.SetPull(repo, githubtest.PullRequest{Number: githubtest.FixturePull, User: githubtest.FixtureAuthor,
		BaseRef: githubtest.FixtureBaseBranch, BaseSHA: githubtest.FixtureBaseSHA, HeadSHA: githubtest.FixtureHeadSHA,
		Commits: []string{githubtest.FixtureHeadSHA}, Merged: true, MergeCommitSHA: githubtest.FixtureMergeSHA})
	env := credEnv(t, gh)
	env["CHECKOFF_BOT_LOGIN"] = "checkoff[bot]"
	releases := filepath.Join(t.TempDir(), "releases.yml")
	writeFile(t, releases, fmt.Sprintf("releases:\n  - repo: %s\n    branch: %s\n    pipeline: %s\n    stage: %s\n    action: %s\n",
		repo, githubtest.FixtureBaseBranch, loopPipeline, loopStage, loopAction))
	env["CHECKOFF_RELEASES"] = releases

	st, err := store.OpenSQLite(filepath.Join(env["CHECKOFF_DATA_DIR"], store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = verdict.Put(context.Background(), st, verdict.Verdict{Installation: githubtest.FixtureInstallation,
		Owner: "acme", Repo: "invoice-log-api", PR: githubtest.FixturePull, Base: githubtest.FixtureBaseBranch,
		MergeSHA: githubtest.FixtureMergeSHA, HeadSHA: githubtest.FixtureHeadSHA, Author: githubtest.FixtureAuthor,
		Complete: true, Reviewers: []string{githubtest.FixtureReviewer}, At: time.Now()})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	cp.AddPipeline(loopPipeline, loopStage, loopAction)
	cp.Deployed(loopPipeline, githubtest.FixtureBaseSHA)
	exec := cp.Start(loopPipeline, githubtest.FixtureMergeSHA)
	cp.Arrive(loopPipeline, exec)
	return env, exec
}

// TestServeReconcileLoop: with App credentials and a release config,
// serve answers an approval that started after its merge on its own
// (issue 12 item 2), once; after shutdown it calls CodePipeline no more.
func TestServeReconcileLoop(t *testing.T) {
	gh, cp := fixtureGitHub(t), pipelinetest.New(t)
	awsEnvFor(t, cp)
	env, exec := mergedRelease(t, gh, cp)
	s := serveInProcess(t, env, "--reconcile-every", "20ms", "--sweep-every", "0")
	eventually(t, "the waiting approval is answered", func() bool { return len(cp.Results(loopPipeline)) > 0 })
	// Later rounds find nothing to do: still one answer.
	rounds := cp.Calls("GetPipelineState")
	eventually(t, "two more rounds", func() bool { return cp.Calls("GetPipelineState") >= rounds+2 })
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, s.stderr)
	}
	res := cp.Results(loopPipeline)
	if len(res) != 1 || res[0].Status != "Approved" || res[0].ExecutionID != exec || res[0].Revisions[0] != githubtest.FixtureMergeSHA {
		t.Fatalf("approval results %+v, want one Approved for %s at the merge commit", res, exec)
	}
	after := cp.Calls("GetPipelineState")
	time.Sleep(100 * time.Millisecond)
	if n := cp.Calls("GetPipelineState"); n != after {
		t.Errorf("%d CodePipeline calls after serve returned", n-after)
	}
	if n := deliveryLists(gh); n != 0 {
		t.Errorf("--sweep-every 0 listed deliveries %d times", n)
	}
	if !strings.Contains(s.stderr.String(), "reconciling release pipelines") {
		t.Errorf("serve does not say it reconciles:\n%s", s.stderr)
	}
}

// TestServeReconcileLoopOff: --reconcile-every 0 leaves the approval to
// EventBridge and the CLI.
func TestServeReconcileLoopOff(t *testing.T) {
	gh, cp := fixtureGitHub(t), pipelinetest.New(t)
	awsEnvFor(t, cp)
	env, _ := mergedRelease(t, gh, cp)
	s := serveInProcess(t, env, "--reconcile-every", "0", "--sweep-every", "0")
	time.Sleep(200 * time.Millisecond)
	s.stop(t)
	if n := cp.Calls("GetPipelineState"); n != 0 || len(cp.Results(loopPipeline)) != 0 {
		t.Errorf("with --reconcile-every 0: %d GetPipelineState calls, results %+v", n, cp.Results(loopPipeline))
	}
}

// TestServeSweepLoop: serve redelivers a failed delivery on its own, once
// (the store remembers it), and stops sweeping at shutdown.
func TestServeSweepLoop(t *testing.T) {
	gh := fixtureGitHub(t)
	env := credEnv(t, gh)
	env["CHECKOFF_BOT_LOGIN"] = "checkoff[bot]"
	failing := gh.AddDelivery(githubtest.Delivery{StatusCode: 502, DeliveredAt: time.Now().Add(-time.Minute), Event: "pull_request",
		Action: "edited", InstallationID: githubtest.FixtureInstallation, RepositoryID: githubtest.FixtureRepoID})
	redelivered := func() int {
		n := 0
		for _, d := range gh.Deliveries() {
			if d.GUID == failing.GUID && d.Redelivery {
				n++
			}
		}
		return n
	}
	s := serveInProcess(t, env, "--sweep-every", "20ms")
	eventually(t, "the failed delivery is redelivered", func() bool { return redelivered() > 0 })
	lists := deliveryLists(gh)
	eventually(t, "two more sweeps", func() bool { return deliveryLists(gh) >= lists+2 })
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, s.stderr)
	}
	if n := redelivered(); n != 1 {
		t.Errorf("redelivered %d times, want 1 (the redelivery succeeded)", n)
	}
	after := deliveryLists(gh)
	time.Sleep(100 * time.Millisecond)
	if n := deliveryLists(gh); n != after {
		t.Errorf("%d sweeps after serve returned", n-after)
	}
	if !strings.Contains(s.stderr.String(), "msg=sweep scanned=") {
		t.Errorf("sweeps are not logged:\n%s", s.stderr)
	}
}

// TestServeDryRunNoLoops: without App credentials there is nothing to
// reconcile or sweep with: no loop runs, whatever the flags say.
func TestServeDryRunNoLoops(t *testing.T) {
	s := serveInProcess(t, map[string]string{"CHECKOFF_DATA_DIR": t.TempDir()}, "--reconcile-every", "10ms", "--sweep-every", "10ms")
	time.Sleep(100 * time.Millisecond)
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, s.stderr)
	}
	if out := s.stderr.String(); strings.Contains(out, "reconciling") || strings.Contains(out, "sweep") {
		t.Errorf("dry-run started a loop:\n%s", out)
	}
}

// deliveryLists counts the sweeps' GET /app/hook/deliveries calls.
func deliveryLists(gh *githubtest.Server) int {
	n := 0
	for _, c := range gh.Calls() {
		if c.OperationID == "apps/list-webhook-deliveries" {
			n++
		}
	}
	return n
}
