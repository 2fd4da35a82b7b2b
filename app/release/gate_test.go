package release

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/pipelineevent"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/internal/pipelinetest"
)

const (
	repoName     = "acme/invoice-log-api"
	devPipeline  = "invoice-log-api-dev"
	approveStage = "ApproveChangeSet"
	approveName  = "ChecklistApproval"
	installID    = 4242
)

// env is one release set-up: a repository with a dev branch feeding the
// dev pipeline, a fake GitHub and a fake CodePipeline, the file store and
// the gate under test.
type env struct {
	t    testing.TB
	cp   *pipelinetest.Server
	gh   *githubtest.Server
	st   store.Store
	gate *Gate
	eval *scriptedEval
	logs *syncBuffer

	mu   sync.Mutex
	head string // dev's head commit
	seq  int
	at   time.Time
}

type envOptions struct {
	onIncomplete string // wait (default) or reject
	evaluator    bool
	maxCommits   int
	action       string // "" to leave the action to discovery
	sourceAction string // the release's source_action; "" for none
	notifier     Notifier
}

// scriptedEval stands in for the app's EvaluateMerged: it answers the
// verdicts the test gives it and counts calls.
type scriptedEval struct {
	mu       sync.Mutex
	verdicts map[int]verdict.Verdict
	calls    int
}

func (s *scriptedEval) EvaluateMerged(_ context.Context, owner, repo string, number int) (verdict.Verdict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	v, ok := s.verdicts[number]
	if !ok {
		return verdict.Verdict{}, fmt.Errorf("no verdict scripted for %s/%s#%d", owner, repo, number)
	}
	return v, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.onIncomplete == "" {
		o.onIncomplete = OnIncompleteWait
	}
	action := ""
	if o.action != "" {
		action = "    action: " + o.action + "\n"
	}
	if o.sourceAction != "" {
		action += "    source_action: " + o.sourceAction + "\n"
	}
	cfg, err := ParseConfig("releases.yml", []byte(fmt.Sprintf(`releases:
  - repo: %s
    branch: dev
    pipeline: %s
    stage: %s
%s    on_incomplete: %s
  - repo: %s
    branch: master
    pipeline: invoice-log-api-prod
    stage: %s
`, repoName, devPipeline, approveStage, action, o.onIncomplete, repoName, approveStage)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cp: pipelinetest.New(t), gh: githubtest.New(t), eval: &scriptedEval{verdicts: map[int]verdict.Verdict{}},
		logs: &syncBuffer{}, at: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	e.st, err = store.OpenSQLite(filepath.Join(t.TempDir(), store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.gh.AddRepo(githubtest.Repo{FullName: repoName, DefaultBranch: "master", Installation: installID})
	e.cp.AddPipeline(devPipeline, approveStage, approveName, "NotifyTeam")
	e.cp.AddPipeline("invoice-log-api-prod", approveStage, approveName)

	// What is deployed: dev's head, released before the gate existed.
	e.head = e.sha()
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: e.head, Message: "initial"})
	e.gh.SetBranch(repoName, "dev", e.head)
	e.cp.Deployed(devPipeline, e.head)

	base, _ := url.Parse(e.gh.URL)
	client := github.NewClient(nil).WithAuthToken(e.gh.InstallationToken(installID))
	client.BaseURL = base
	opts := Options{
		Config: cfg, Pipeline: e.cp.Client(), Store: e.st,
		GitHub: func(_ context.Context, owner, repo string) (*github.Client, error) {
			if !strings.EqualFold(owner+"/"+repo, repoName) {
				return nil, fmt.Errorf("app not installed on %s/%s", owner, repo)
			}
			return client, nil
		},
		Logger:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxCommits: o.maxCommits,
		Notifier:   o.notifier,
	}
	if o.evaluator {
		opts.Evaluator = e.eval
	}
	e.gate, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) sha() string {
	e.seq++
	sum := sha1.Sum([]byte(fmt.Sprint("commit ", e.seq)))
	return hex.EncodeToString(sum[:])
}

// merge merges pull request number into dev with a merge commit: the PR's
// own commit and the merge commit become dev's new head. It returns the
// verdict the app would record (not delivered yet).
func (e *env) merge(number int, complete bool, holding ...string) verdict.Verdict {
	e.mu.Lock()
	defer e.mu.Unlock()
	own, merge := e.sha(), e.sha()
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: own, Parents: []string{e.head}, Message: fmt.Sprintf("Change for #%d", number), Author: "dana"})
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: merge, Parents: []string{e.head, own}, Message: fmt.Sprintf("Merge pull request #%d", number), Author: "dana"})
	e.head = merge
	e.gh.SetBranch(repoName, "dev", merge)
	e.gh.SetPull(repoName, githubtest.PullRequest{
		Number: number, User: "dana", BaseRef: "dev", HeadSHA: own, Commits: []string{own},
		Merged: true, MergeCommitSHA: merge,
	})
	e.at = e.at.Add(time.Minute)
	return e.verdict(number, merge, own, complete, holding...)
}

func (e *env) verdict(number int, merge, head string, complete bool, holding ...string) verdict.Verdict {
	v := verdict.Verdict{Installation: installID, Owner: "acme", Repo: "invoice-log-api", PR: number, Base: "dev",
		MergeSHA: merge, HeadSHA: head, Author: "dana", Complete: complete, Holding: holding, At: e.at}
	if complete {
		v.Reviewers = []string{"alice", "bob"}
	}
	return v
}

// squash merges a single squashed commit for the PR.
func (e *env) squash(number int, complete bool) verdict.Verdict {
	e.mu.Lock()
	defer e.mu.Unlock()
	head, merged := e.sha(), e.sha()
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: head, Parents: []string{e.head}, Message: "work"})
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: merged, Parents: []string{e.head}, Message: fmt.Sprintf("Squashed (#%d)", number)})
	e.head = merged
	e.gh.SetBranch(repoName, "dev", merged)
	e.gh.SetPull(repoName, githubtest.PullRequest{Number: number, User: "dana", BaseRef: "dev", HeadSHA: head, Merged: true, MergeCommitSHA: merged})
	e.at = e.at.Add(time.Minute)
	return e.verdict(number, merged, head, complete)
}

// push pushes a commit straight to dev.
func (e *env) push() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.sha()
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: c, Parents: []string{e.head}, Message: "hotfix straight to dev", Author: "mallory"})
	e.head = c
	e.gh.SetBranch(repoName, "dev", c)
	return c
}

// deliver is what the app does with a verdict: record it, hand it to the gate.
func (e *env) deliver(v verdict.Verdict) error {
	e.t.Helper()
	if err := verdict.Put(context.Background(), e.st, v); err != nil {
		e.t.Fatal(err)
	}
	return e.gate.Verdict(context.Background(), v)
}

// release starts an execution of dev's head and lets it reach the approval.
func (e *env) release() string {
	id := e.cp.Start(devPipeline, e.head)
	e.cp.Arrive(devPipeline, id)
	return id
}

// started delivers the EventBridge event for the approval of exec.
func (e *env) started(exec string) (Outcome, error) {
	return e.gate.HandleActionEvent(context.Background(), pipelineevent.ActionEvent{
		Pipeline: devPipeline, ExecutionID: exec, Stage: approveStage, Action: approveName,
		State: "STARTED", Type: pipelineevent.ActionType{Category: "Approval"},
	})
}

// results returns the approvals the gate gave, failing on any given to a
// revision other than the one the test says was checked.
func (e *env) results() []pipelinetest.Result { return e.cp.Results(devPipeline) }

func (e *env) wantResults(want ...string) {
	e.t.Helper()
	got := e.results()
	var s []string
	for _, r := range got {
		s = append(s, r.Status+" "+r.ExecutionID)
	}
	if strings.Join(s, ", ") != strings.Join(want, ", ") {
		e.t.Fatalf("approval results:\n got [%s]\nwant [%s]", strings.Join(s, ", "), strings.Join(want, ", "))
	}
}

// must returns a check that a reconcile decided want without error:
// must(t, Approved)(e.started(exec)).
func must(t *testing.T, want Decision) func(Outcome, error) Outcome {
	return func(out Outcome, err error) Outcome {
		t.Helper()
		if err != nil {
			t.Fatalf("outcome %v: error %v", out, err)
		}
		if out.Decision != want {
			t.Fatalf("decision %s (%s), want %s", out.Decision, out.Reason, want)
		}
		return out
	}
}

func TestMergeThenApprovalStarted(t *testing.T) {
	e := newEnv(t, envOptions{})
	deployed := e.head
	v := e.merge(12, true)
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	runs := e.gh.CheckRuns(repoName)
	if len(runs) != 1 || runs[0].Name != CheckName || runs[0].HeadSHA != v.MergeSHA || runs[0].Conclusion != "success" || runs[0].Title != "May ship" {
		t.Fatalf("check runs %+v", runs)
	}
	e.wantResults() // nothing waits yet

	exec := e.release()
	out := must(t, Approved)(e.started(exec))
	if out.ExecutionID != exec || out.Revision != v.MergeSHA || out.Deployed != deployed || fmt.Sprint(out.PRs) != "[12]" {
		t.Errorf("outcome %+v", out)
	}
	e.wantResults("Approved " + exec)
	r := e.results()[0]
	if r.Revisions[0] != v.MergeSHA {
		t.Errorf("approved revision %s, checked %s", r.Revisions[0], v.MergeSHA)
	}
	for _, want := range []string{"#12 reviewed by alice, bob", "since " + deployed[:7], v.MergeSHA[:7]} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("summary %q lacks %q", r.Summary, want)
		}
	}
	if r.Stage != approveStage || r.Action != approveName {
		t.Errorf("answered %s/%s", r.Stage, r.Action)
	}

	// The duplicate event, the schedule and the CLI find nothing to do.
	must(t, Nothing)(e.started(exec))
	outs, err := e.gate.ReconcileAll(context.Background())
	if err != nil || len(outs) != 2 || outs[0].Decision != Nothing || outs[1].Decision != Nothing {
		t.Fatalf("ReconcileAll: %v %v", outs, err)
	}
	e.wantResults("Approved " + exec)
	if n := e.cp.Calls("PutApprovalResult"); n != 1 {
		t.Errorf("PutApprovalResult calls = %d, want 1", n)
	}
}

func TestApprovalStartedThenMerge(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.merge(12, true) // merged on GitHub; the webhook is late
	exec := e.release()
	out := must(t, Waiting)(e.started(exec))
	if !strings.Contains(out.Reason, "#12 (no verdict recorded") {
		t.Errorf("reason %q", out.Reason)
	}
	if c := e.gh.Comments(repoName, 12); len(c) != 0 {
		t.Errorf("commented %q without a verdict to show", c[0].Body)
	}
	e.wantResults()

	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	e.wantResults("Approved " + exec)
	// The webhook is redelivered.
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	e.wantResults("Approved " + exec)
	if runs := e.gh.CheckRuns(repoName); len(runs) != 1 || runs[0].Updates != 0 {
		t.Errorf("redelivered verdict changed check runs: %+v", runs)
	}
}

func TestApprovalStartedEvaluatesLostMerge(t *testing.T) {
	e := newEnv(t, envOptions{evaluator: true})
	v := e.merge(12, true)
	e.eval.verdicts[12] = v // the merge webhook was lost: the app evaluates on demand
	exec := e.release()
	must(t, Approved)(e.started(exec))
	e.wantResults("Approved " + exec)
	if e.eval.calls != 1 {
		t.Errorf("evaluator calls = %d", e.eval.calls)
	}
	// The evaluated verdict was recorded: a later reconcile does not ask again.
	if got, err := verdict.Get(context.Background(), e.st, "acme", "invoice-log-api", v.MergeSHA); err != nil || !got.Complete {
		t.Fatalf("stored verdict %+v %v", got, err)
	}

	// An evaluation that fails approves nothing.
	v2 := e.merge(13, true)
	exec2 := e.release()
	out, err := e.started(exec2)
	if err == nil || out.Decision != Nothing || !strings.Contains(err.Error(), devPipeline) || !strings.Contains(err.Error(), exec2) {
		t.Fatalf("failed evaluation: %v %v", out, err)
	}
	e.wantResults("Approved " + exec)
	e.eval.verdicts[13] = v2
	must(t, Approved)(e.started(exec2))
	e.wantResults("Approved "+exec, "Approved "+exec2)
}

func TestIncompleteThenCompletedByEdit(t *testing.T) {
	e := newEnv(t, envOptions{})
	box := "Reviewer Checklist: Are the commit messages appropriate?"
	v := e.merge(12, false, box)
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	runs := e.gh.CheckRuns(repoName)
	if len(runs) != 1 || runs[0].Conclusion != "failure" || runs[0].Title != "Held: 1 box not checked off" || !strings.Contains(runs[0].Summary, box) {
		t.Fatalf("check runs %+v", runs)
	}
	exec := e.release()
	out := must(t, Waiting)(e.started(exec))
	if !strings.Contains(out.Reason, box) {
		t.Errorf("reason %q", out.Reason)
	}
	// Duplicate events and the sweep comment once.
	must(t, Waiting)(e.started(exec))
	if _, err := e.gate.ReconcileAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	comments := e.gh.Comments(repoName, 12)
	if len(comments) != 1 || !strings.HasPrefix(comments[0].Body, commentMarker) || !strings.Contains(comments[0].Body, "- "+box) || !strings.Contains(comments[0].Body, devPipeline) {
		t.Fatalf("comments %+v", comments)
	}
	e.wantResults()

	// A stale, incomplete delivery arriving after the completing edit changes nothing.
	e.at = e.at.Add(time.Hour)
	done := e.verdict(12, v.MergeSHA, v.HeadSHA, true)
	if err := e.deliver(done); err != nil {
		t.Fatal(err)
	}
	e.wantResults("Approved " + exec)
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	runs = e.gh.CheckRuns(repoName)
	if len(runs) != 1 || runs[0].Conclusion != "success" || runs[0].Updates != 1 {
		t.Errorf("check run after the edit: %+v", runs)
	}
	e.wantResults("Approved " + exec)
}

func TestIncompleteRejects(t *testing.T) {
	e := newEnv(t, envOptions{onIncomplete: OnIncompleteReject})
	v := e.merge(12, false, "Author Checklist: Has the author tested changes?")
	if err := e.deliver(v); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	out := must(t, Rejected)(e.started(exec))
	e.wantResults("Rejected " + exec)
	if !strings.Contains(e.results()[0].Summary, "#12 (Author Checklist: Has the author tested changes?)") {
		t.Errorf("summary %q", e.results()[0].Summary)
	}
	if out.Reason != e.results()[0].Summary {
		t.Errorf("outcome reason %q differs from the summary sent", out.Reason)
	}
	if c := e.gh.Comments(repoName, 12); len(c) != 0 {
		t.Errorf("rejecting also commented: %v", c)
	}
	// Completing the PR later approves nothing by itself: the execution failed.
	e.at = e.at.Add(time.Hour)
	if err := e.deliver(e.verdict(12, v.MergeSHA, v.HeadSHA, true)); err != nil {
		t.Fatal(err)
	}
	e.wantResults("Rejected " + exec)
	// A new release of the same revision now passes.
	exec2 := e.release()
	must(t, Approved)(e.started(exec2))
	e.wantResults("Rejected "+exec, "Approved "+exec2)
}

func TestDirectPush(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.cp.PageSize = 1 // finding what is deployed takes several pages
	pushed := e.push()
	// The commit also went through a PR — into another branch; it still
	// reached dev without one.
	e.gh.SetPull(repoName, githubtest.PullRequest{Number: 99, User: "mallory", BaseRef: "experimental", HeadSHA: pushed,
		Commits: []string{pushed}, Merged: true, MergeCommitSHA: e.sha()})
	v13 := e.squash(13, true)
	if err := e.deliver(v13); err != nil {
		t.Fatal(err)
	}
	exec1 := e.release()
	must(t, Rejected)(e.started(exec1))
	e.wantResults("Rejected " + exec1)
	if s := e.results()[0].Summary; !strings.Contains(s, "commit "+pushed[:7]+" reached dev without a pull request") {
		t.Errorf("summary %q does not name the pushed commit", s)
	}

	// Later releases still carry the push: checkoff approves none, and
	// leaves the approval to a person.
	v14 := e.merge(14, true)
	if err := e.deliver(v14); err != nil {
		t.Fatal(err)
	}
	exec2 := e.release()
	out := must(t, Waiting)(e.started(exec2))
	if !strings.Contains(out.Reason, pushed[:7]) {
		t.Errorf("reason %q", out.Reason)
	}
	e.wantResults("Rejected " + exec1)

	// A person approves it: that release is now what is deployed.
	e.cp.ApproveByHand(devPipeline)
	v15 := e.merge(15, true)
	if err := e.deliver(v15); err != nil {
		t.Fatal(err)
	}
	exec3 := e.release()
	out = must(t, Approved)(e.started(exec3))
	if out.Deployed != v14.MergeSHA || fmt.Sprint(out.PRs) != "[15]" {
		t.Errorf("after the manual approval: %+v", out)
	}
	e.wantResults("Rejected "+exec1, "Approved "+exec3)

	// A new direct push is rejected again.
	again := e.push()
	exec4 := e.release()
	must(t, Rejected)(e.started(exec4))
	if s := e.results()[2].Summary; !strings.Contains(s, again[:7]) {
		t.Errorf("summary %q", s)
	}
}

func TestSupersededExecution(t *testing.T) {
	e := newEnv(t, envOptions{})
	v12 := e.merge(12, false, "Reviewer Checklist: Are there a sufficient amount of Unit Tests included?")
	if err := e.deliver(v12); err != nil {
		t.Fatal(err)
	}
	exec1 := e.cp.Start(devPipeline, e.head)
	v13 := e.merge(13, true)
	if err := e.deliver(v13); err != nil {
		t.Fatal(err)
	}
	exec2 := e.cp.Start(devPipeline, e.head)
	e.cp.Supersede(devPipeline, exec1)
	e.cp.Arrive(devPipeline, exec2)

	// #13 is complete, but the release also carries #12's commits.
	out := must(t, Waiting)(e.started(exec2))
	if fmt.Sprint(out.PRs) != "[12 13]" || out.Revision != v13.MergeSHA {
		t.Errorf("outcome %+v", out)
	}
	// An event for the superseded execution does not answer anything.
	if _, err := e.started(exec1); err != nil {
		t.Fatal(err)
	}
	e.wantResults()

	e.at = e.at.Add(time.Hour)
	if err := e.deliver(e.verdict(12, v12.MergeSHA, v12.HeadSHA, true)); err != nil {
		t.Fatal(err)
	}
	e.wantResults("Approved " + exec2)
	if s := e.results()[0].Summary; !strings.Contains(s, "#12 reviewed by alice, bob; #13 reviewed by alice, bob.") {
		t.Errorf("summary %q", s)
	}
}

// TestApprovalChangesWhileChecking: between reading the approval and
// answering it, a person rejects the execution and a newer one, carrying
// an incomplete PR, enters the stage. The old token must not be used and
// the new execution must not be approved on the old check.
func TestApprovalChangesWhileChecking(t *testing.T) {
	e := newEnv(t, envOptions{})
	v12 := e.merge(12, true)
	if err := e.deliver(v12); err != nil {
		t.Fatal(err)
	}
	exec1 := e.release()
	v13 := e.merge(13, false, "Author Checklist: Does a build from the Cmd Line Pass?")
	exec2 := e.cp.Start(devPipeline, e.head)
	e.cp.Arrive(devPipeline, exec2) // waits in the transition
	if err := verdict.Put(context.Background(), e.st, v13); err != nil {
		t.Fatal(err)
	}
	e.cp.Before("ListPipelineExecutions", func() { e.cp.RejectByHand(devPipeline) })

	out := must(t, Waiting)(e.started(exec1))
	if out.ExecutionID != exec2 || out.Revision != v13.MergeSHA {
		t.Errorf("outcome %+v", out)
	}
	e.wantResults()
	if n := e.cp.Calls("PutApprovalResult"); n != 0 {
		t.Errorf("PutApprovalResult calls = %d", n)
	}
}

func TestAlreadyAnsweredOrExpired(t *testing.T) {
	tests := map[string]func(cp *pipelinetest.Server){
		"approved by a person meanwhile": func(cp *pipelinetest.Server) { cp.ApproveByHand(devPipeline) },
		"rejected by a person meanwhile": func(cp *pipelinetest.Server) { cp.RejectByHand(devPipeline) },
		"expired meanwhile":              func(cp *pipelinetest.Server) { cp.Expire(devPipeline) },
	}
	for name, meanwhile := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			if err := verdict.Put(context.Background(), e.st, e.merge(12, true)); err != nil {
				t.Fatal(err)
			}
			exec := e.release()
			e.cp.Before("PutApprovalResult", func() { meanwhile(e.cp) })
			out := must(t, Nothing)(e.started(exec))
			if !strings.Contains(out.Reason, "already answered") && !strings.Contains(out.Reason, "no longer valid") {
				t.Errorf("reason %q", out.Reason)
			}
			e.wantResults()
			must(t, Nothing)(e.started(exec))
			if n := e.cp.Calls("PutApprovalResult"); n != 1 {
				t.Errorf("PutApprovalResult calls = %d, want 1", n)
			}
		})
	}
}

func TestCodePipelineFailures(t *testing.T) {
	e := newEnv(t, envOptions{})
	if err := verdict.Put(context.Background(), e.st, e.merge(12, true)); err != nil {
		t.Fatal(err)
	}
	exec := e.release()

	// Throttling and a 5xx are retried by the SDK: one approval.
	e.cp.Fail("PutApprovalResult", pipelinetest.Throttling)
	e.cp.Fail("GetPipelineState", pipelinetest.Internal)
	must(t, Approved)(e.started(exec))
	e.wantResults("Approved " + exec)

	// Failures that outlast the retries approve nothing and say where.
	for _, op := range []string{"GetPipelineState", "GetPipelineExecution", "ListPipelineExecutions", "PutApprovalResult"} {
		t.Run(op, func(t *testing.T) {
			before := len(e.results())
			if err := verdict.Put(context.Background(), e.st, e.merge(20+before, true)); err != nil {
				t.Fatal(err)
			}
			exec := e.release()
			e.cp.Fail(op, pipelinetest.Internal, pipelinetest.Unavailable, pipelinetest.Throttling)
			out, err := e.started(exec)
			if err == nil || out.Decision != Nothing {
				t.Fatalf("outcome %v, error %v", out, err)
			}
			if !strings.Contains(err.Error(), "reconcile "+devPipeline) {
				t.Errorf("error %q does not name the pipeline", err)
			}
			if op != "GetPipelineState" && !strings.Contains(err.Error(), exec) {
				t.Errorf("error %q does not name the execution", err)
			}
			if len(e.results()) != before {
				t.Fatalf("approved despite %s failing", op)
			}
			// The next trigger approves, once.
			must(t, Approved)(e.started(exec))
			if len(e.results()) != before+1 {
				t.Fatalf("results %v", e.results())
			}
		})
	}
}

func TestUnknownPipelineAndBranch(t *testing.T) {
	e := newEnv(t, envOptions{})
	out, err := e.gate.HandleActionEvent(context.Background(), pipelineevent.ActionEvent{
		Pipeline: "someone-elses-pipeline", ExecutionID: "0123abcd-0123-4567-89ab-0123456789ab",
		Stage: approveStage, Action: approveName, State: "STARTED", Type: pipelineevent.ActionType{Category: "Approval"},
	})
	if err != nil || out.Decision != Nothing {
		t.Fatalf("unknown pipeline event: %v %v", out, err)
	}
	if !strings.Contains(e.logs.String(), "pipeline=someone-elses-pipeline") {
		t.Errorf("no log line for the ignored pipeline:\n%s", e.logs)
	}
	if _, err := e.gate.Reconcile(context.Background(), "someone-elses-pipeline"); !errors.Is(err, ErrUnknownPipeline) || !strings.Contains(err.Error(), "someone-elses-pipeline") {
		t.Errorf("Reconcile of an unknown pipeline: %v", err)
	}
	// Events the gate does not act on.
	for _, ev := range []pipelineevent.ActionEvent{
		{Pipeline: devPipeline, Stage: approveStage, Action: approveName, State: "SUCCEEDED", Type: pipelineevent.ActionType{Category: "Approval"}},
		{Pipeline: devPipeline, Stage: "Build", Action: "Build", State: "STARTED", Type: pipelineevent.ActionType{Category: "Build"}},
		{Pipeline: devPipeline, Stage: "SecurityReview", Action: "Approve", State: "STARTED", Type: pipelineevent.ActionType{Category: "Approval"}},
	} {
		if out, err := e.gate.HandleActionEvent(context.Background(), ev); err != nil || out.Decision != Nothing {
			t.Errorf("%+v: %v %v", ev, out, err)
		}
	}
	// A verdict for a branch that feeds no pipeline touches nothing.
	v := e.merge(12, true)
	v.Base = "feature-x"
	if err := e.gate.Verdict(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"GetPipelineState", "GetPipelineExecution", "ListPipelineExecutions", "PutApprovalResult"} {
		if n := e.cp.Calls(op); n != 0 {
			t.Errorf("%s called %d times for ignored input", op, n)
		}
	}
	if runs := e.gh.CheckRuns(repoName); len(runs) != 0 {
		t.Errorf("check runs posted for an unreleased branch: %+v", runs)
	}
}

func TestConcurrentDuplicateTriggers(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.merge(12, true)
	if err := verdict.Put(context.Background(), e.st, v); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = e.started(exec)
			} else {
				err = e.gate.Verdict(context.Background(), v)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	e.wantResults("Approved " + exec)
	if n := e.cp.Calls("PutApprovalResult"); n != 1 {
		t.Errorf("PutApprovalResult calls = %d, want 1", n)
	}
	if runs := e.gh.CheckRuns(repoName); len(runs) != 1 || runs[0].Updates != 0 {
		t.Errorf("duplicate verdicts made check runs %+v", runs)
	}
}

func TestActionDiscovery(t *testing.T) {
	e := newEnv(t, envOptions{action: ""})
	if err := verdict.Put(context.Background(), e.st, e.merge(12, true)); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	// Without a configured action, the event's action is accepted and the
	// waiting approval is found among the stage's actions.
	must(t, Approved)(e.started(exec))
	e.wantResults("Approved " + exec)

	// A configured action that the stage lacks is an error, not a guess.
	e2 := newEnv(t, envOptions{action: "SignOff"})
	if err := verdict.Put(context.Background(), e2.st, e2.merge(12, true)); err != nil {
		t.Fatal(err)
	}
	e2.release()
	if out, err := e2.gate.Reconcile(context.Background(), devPipeline); err == nil || !strings.Contains(err.Error(), `no action "SignOff"`) {
		t.Fatalf("missing action: %v %v", out, err)
	}
	if len(e2.results()) != 0 {
		t.Fatal("approved with a misconfigured action")
	}
}

func TestTooManyCommitsWait(t *testing.T) {
	e := newEnv(t, envOptions{maxCommits: 3})
	for n := 12; n < 14; n++ { // 4 commits: two merges of two commits
		if err := verdict.Put(context.Background(), e.st, e.merge(n, true)); err != nil {
			t.Fatal(err)
		}
	}
	exec := e.release()
	out := must(t, Waiting)(e.started(exec))
	if !strings.Contains(out.Reason, "4 commits") {
		t.Errorf("reason %q", out.Reason)
	}
	e.wantResults()
}

func TestRollbackChecksTheRevision(t *testing.T) {
	e := newEnv(t, envOptions{})
	v12 := e.merge(12, true)
	if err := verdict.Put(context.Background(), e.st, v12); err != nil {
		t.Fatal(err)
	}
	exec1 := e.release()
	must(t, Approved)(e.started(exec1))
	v13 := e.merge(13, true)
	if err := verdict.Put(context.Background(), e.st, v13); err != nil {
		t.Fatal(err)
	}
	exec2 := e.release()
	must(t, Approved)(e.started(exec2))

	// Releasing #12's merge again (behind what is deployed) checks that
	// revision itself.
	exec3 := e.cp.Start(devPipeline, v12.MergeSHA)
	e.cp.Arrive(devPipeline, exec3)
	out := must(t, Approved)(e.started(exec3))
	if fmt.Sprint(out.PRs) != "[12]" {
		t.Errorf("rollback checked %v", out.PRs)
	}
	e.wantResults("Approved "+exec1, "Approved "+exec2, "Approved "+exec3)
}

func TestSeveralSourceRevisionsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	if err := verdict.Put(context.Background(), e.st, e.merge(12, true)); err != nil {
		t.Fatal(err)
	}
	exec := e.cp.Start(devPipeline, e.head, strings.Repeat("d", 40))
	e.cp.Arrive(devPipeline, exec)
	if out, err := e.started(exec); err == nil || !strings.Contains(err.Error(), "more than one source commit") {
		t.Fatalf("two source commits: %v %v", out, err)
	}
	e.wantResults()
}

func TestGitHubFailureApprovesNothing(t *testing.T) {
	for _, op := range []string{"repos/compare-commits-with-basehead", "repos/list-pull-requests-associated-with-commit"} {
		t.Run(op, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			if err := verdict.Put(context.Background(), e.st, e.merge(12, true)); err != nil {
				t.Fatal(err)
			}
			exec := e.release()
			e.gh.FailNext(op, 1, githubtest.ServerError(502))
			out, err := e.started(exec)
			if err == nil || out.Decision != Nothing || !strings.Contains(err.Error(), exec) {
				t.Fatalf("outcome %v, error %v", out, err)
			}
			e.wantResults()
			must(t, Approved)(e.started(exec))
			e.wantResults("Approved " + exec)
		})
	}
}

// TestSquashAndRebaseMerges: commits that reach the branch as a squash
// commit, or rebased one by one, are covered by their PR.
func TestSquashAndRebaseMerges(t *testing.T) {
	e := newEnv(t, envOptions{})
	v12 := e.squash(12, true)
	if err := verdict.Put(context.Background(), e.st, v12); err != nil {
		t.Fatal(err)
	}
	// #13 rebased: two new commits on dev, the last one is its merge_commit_sha.
	r1, r2 := e.sha(), e.sha()
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: r1, Parents: []string{e.head}})
	e.gh.AddCommit(repoName, githubtest.Commit{SHA: r2, Parents: []string{r1}})
	e.head = r2
	e.gh.SetBranch(repoName, "dev", r2)
	e.gh.SetPull(repoName, githubtest.PullRequest{Number: 13, User: "dana", BaseRef: "dev", HeadSHA: e.sha(),
		Commits: []string{r1, r2}, Merged: true, MergeCommitSHA: r2})
	if err := verdict.Put(context.Background(), e.st, e.verdict(13, r2, "", true)); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	out := must(t, Approved)(e.started(exec))
	if fmt.Sprint(out.PRs) != "[12 13]" {
		t.Errorf("PRs %v", out.PRs)
	}
}

// TestCallBudget pins what a reconcile costs: GitHub calls grow with the
// commits released, once; a sweep over a release that keeps waiting costs
// one compare and no commit lookups (they are cached).
func TestCallBudget(t *testing.T) {
	e := newEnv(t, envOptions{})
	for n := 12; n < 15; n++ {
		if err := verdict.Put(context.Background(), e.st, e.merge(n, true)); err != nil {
			t.Fatal(err)
		}
	}
	exec := e.release()
	calls := func() string {
		return fmt.Sprintf("compare=%d pulls=%d comments=%d | state=%d execution=%d list=%d put=%d",
			e.gh.Count("repos/compare-commits-with-basehead"), e.gh.Count("repos/list-pull-requests-associated-with-commit"),
			e.gh.Count("issues/create-comment"), e.cp.Calls("GetPipelineState"), e.cp.Calls("GetPipelineExecution"),
			e.cp.Calls("ListPipelineExecutions"), e.cp.Calls("PutApprovalResult"))
	}
	must(t, Approved)(e.gate.Reconcile(context.Background(), devPipeline))
	// 3 merges of 2 commits each.
	if got, want := calls(), "compare=1 pulls=6 comments=0 | state=2 execution=1 list=1 put=1"; got != want {
		t.Errorf("approving 3 PRs:\n got %s\nwant %s", got, want)
	}
	e.wantResults("Approved " + exec)

	if err := verdict.Put(context.Background(), e.st, e.merge(15, false, "Author Checklist: Has the author tested changes?")); err != nil {
		t.Fatal(err)
	}
	e.release()
	e.gh.ResetCalls()
	must(t, Waiting)(e.gate.Reconcile(context.Background(), devPipeline))
	if got, want := calls(), "compare=1 pulls=2 comments=1 | state=3 execution=2 list=2 put=1"; got != want {
		t.Errorf("waiting on 1 PR:\n got %s\nwant %s", got, want)
	}
	e.gh.ResetCalls()
	must(t, Waiting)(e.gate.Reconcile(context.Background(), devPipeline))
	if got, want := calls(), "compare=1 pulls=0 comments=0 | state=4 execution=3 list=3 put=1"; got != want {
		t.Errorf("sweeping the same wait:\n got %s\nwant %s", got, want)
	}
}

// BenchmarkSweepWaiting measures the scheduled sweep of a pipeline whose
// approval keeps waiting on a release of 10 PRs (20 commits), the common
// steady state; it reports the calls each sweep makes.
func BenchmarkSweepWaiting(b *testing.B) {
	e := newEnv(b, envOptions{})
	e.gate.log = slog.New(slog.DiscardHandler)
	for n := 1; n <= 10; n++ {
		if err := verdict.Put(context.Background(), e.st, e.merge(n, n != 10, "Reviewer Checklist: Are the commit messages appropriate?")); err != nil {
			b.Fatal(err)
		}
	}
	e.release()
	if _, err := e.gate.ReconcileAll(context.Background()); err != nil { // warm the commit cache
		b.Fatal(err)
	}
	e.gh.ResetCalls()
	cp0 := e.cp.Calls("GetPipelineState") + e.cp.Calls("GetPipelineExecution") + e.cp.Calls("ListPipelineExecutions")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := e.gate.Reconcile(context.Background(), devPipeline)
		if err != nil || out.Decision != Waiting {
			b.Fatal(out, err)
		}
	}
	b.StopTimer()
	cp := e.cp.Calls("GetPipelineState") + e.cp.Calls("GetPipelineExecution") + e.cp.Calls("ListPipelineExecutions") - cp0
	b.ReportMetric(float64(len(e.gh.Calls()))/float64(b.N), "github-calls/op")
	b.ReportMetric(float64(cp)/float64(b.N), "codepipeline-calls/op")
}
