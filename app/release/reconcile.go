package release

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/checkoff-app/checkoff/internal/pipelineevent"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// Decision is what a reconcile did to the pipeline's approval.
type Decision string

// The decisions of a reconcile.
const (
	Nothing  Decision = "nothing"  // no approval waiting, or it was already answered
	Approved Decision = "approved" // PutApprovalResult Approved
	Rejected Decision = "rejected" // PutApprovalResult Rejected
	Waiting  Decision = "waiting"  // left pending: something holds the release
)

// Outcome is the result of one reconcile, for logs and the CLI.
type Outcome struct {
	Pipeline    string
	ExecutionID string // the execution waiting at the approval, when there is one
	Revision    string // its source commit
	Deployed    string // source commit of the latest succeeded execution; "" when none
	Decision    Decision
	Reason      string // the summary sent to CodePipeline, or why nothing was sent
	PRs         []int  // pull requests covering the checked commits
}

// String renders o on one line.
func (o Outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", o.Pipeline, o.Decision)
	if o.ExecutionID != "" {
		fmt.Fprintf(&b, " (execution %s", o.ExecutionID)
		if o.Revision != "" {
			fmt.Fprintf(&b, ", revision %s", short(o.Revision))
		}
		b.WriteString(")")
	}
	if o.Reason != "" {
		b.WriteString(": " + o.Reason)
	}
	return b.String()
}

// ErrUnknownPipeline is returned by Reconcile for a pipeline that is not in
// the release config.
var ErrUnknownPipeline = errors.New("pipeline is not in the release config")

// shaPattern matches a full git commit id (SHA-1, or SHA-256 repositories).
var shaPattern = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// maxReconcileAttempts bounds how often a reconcile starts over when the
// approval changed under it (a newer execution entered the stage).
const maxReconcileAttempts = 3

// maxExecutionPages bounds the ListPipelineExecutions pages read while
// looking for the deployed revision (100 executions a page).
const maxExecutionPages = 5

// ReconcileAll reconciles every configured pipeline (the schedule's
// sweep), in config order. One pipeline's failure does not stop the
// others; the errors are joined.
func (g *Gate) ReconcileAll(ctx context.Context) ([]Outcome, error) {
	var outs []Outcome
	var errs []error
	for _, name := range g.cfg.Pipelines() {
		out, err := g.Reconcile(ctx, name)
		outs = append(outs, out)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return outs, errors.Join(errs...)
}

// HandleActionEvent reconciles the event's pipeline when an approval
// action of a configured pipeline started. Other events, other pipelines
// and other approval actions are ignored with a log line. The event only
// triggers the reconcile: which execution and token to answer are read
// from CodePipeline, never taken from the event.
func (g *Gate) HandleActionEvent(ctx context.Context, e pipelineevent.ActionEvent) (Outcome, error) {
	out := Outcome{Pipeline: e.Pipeline, ExecutionID: e.ExecutionID, Decision: Nothing}
	if e.State != "STARTED" || e.Type.Category != "Approval" {
		out.Reason = fmt.Sprintf("ignored %s %s action event", e.State, e.Type.Category)
		g.log.DebugContext(ctx, "release gate: event ignored", "pipeline", e.Pipeline, "state", e.State, "category", e.Type.Category)
		return out, nil
	}
	rel, ok := g.cfg.ForPipeline(e.Pipeline)
	if !ok {
		out.Reason = "pipeline not in the release config"
		g.log.InfoContext(ctx, "release gate: pipeline not configured, event ignored", "pipeline", e.Pipeline, "execution", e.ExecutionID)
		return out, nil
	}
	if e.Stage != rel.Stage || (rel.Action != "" && e.Action != rel.Action) {
		out.Reason = fmt.Sprintf("approval %s/%s is not the configured one", e.Stage, e.Action)
		g.log.InfoContext(ctx, "release gate: other approval action, event ignored", "pipeline", e.Pipeline, "stage", e.Stage, "action", e.Action)
		return out, nil
	}
	return g.Reconcile(ctx, e.Pipeline)
}

// Reconcile brings the pipeline's approval in line with what it would
// release. It reads the approval waiting in the configured stage (its
// token and execution), the execution's source commit, and what is
// deployed (the source commit of the latest Succeeded execution); it
// checks every commit in between — each must have arrived through a pull
// request merged into the release branch with a complete verdict — and
// then:
//   - approves when every such pull request is complete;
//   - rejects when a commit arrived without a pull request (a direct push),
//     naming it; once a release with that push was rejected, later ones wait
//     instead, so that a person can approve one in CodePipeline (which makes
//     it what is deployed and unblocks the branch);
//   - otherwise waits (on_incomplete: wait, commenting once on each PR that
//     holds the release) or rejects (on_incomplete: reject).
//
// When the stage's action is not configured, the approval is the single
// action of the stage that is InProgress with an approval token;
// GetPipelineState does not say an action's category, and only approval
// actions carry a token.
//
// It is idempotent and fails closed: an approval already answered or a
// token that expired is an Outcome with Decision Nothing, not an error; any
// error means no approval, and names the pipeline and execution. Right
// before answering, the state is read again and the answer is sent only if
// the same execution still waits with the same token; otherwise the
// reconcile starts over for the new execution. Reconciles of one pipeline
// are serialised within the process; across processes CodePipeline accepts
// one answer per token.
func (g *Gate) Reconcile(ctx context.Context, pipeline string) (Outcome, error) {
	rel, ok := g.cfg.ForPipeline(pipeline)
	if !ok {
		return Outcome{Pipeline: pipeline, Decision: Nothing}, fmt.Errorf("reconcile %s: %w", pipeline, ErrUnknownPipeline)
	}
	defer g.lock("pipeline#" + pipeline)()
	var out Outcome
	for range maxReconcileAttempts {
		var again bool
		var err error
		out, again, err = g.reconcileOnce(ctx, rel)
		if err != nil {
			if out.ExecutionID != "" {
				err = fmt.Errorf("reconcile %s execution %s: %w", pipeline, out.ExecutionID, err)
			} else {
				err = fmt.Errorf("reconcile %s: %w", pipeline, err)
			}
			return out, err
		}
		if !again {
			g.log.InfoContext(ctx, "release gate", "pipeline", pipeline, "execution", out.ExecutionID,
				"revision", out.Revision, "deployed", out.Deployed, "decision", string(out.Decision), "reason", out.Reason)
			return out, nil
		}
	}
	out.Decision, out.Reason = Nothing, "the approval kept changing while it was checked; the next event reconciles it"
	return out, nil
}

// pending is an approval waiting for an answer.
type pending struct {
	Stage, Action string
	ExecutionID   string
	Token         string
}

// pendingApproval finds the approval waiting in the release's stage.
func (g *Gate) pendingApproval(ctx context.Context, rel Release) (pending, bool, error) {
	st, err := g.cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(rel.Pipeline)})
	if err != nil {
		return pending{}, false, fmt.Errorf("get pipeline state: %w", err)
	}
	var stage *types.StageState
	for i := range st.StageStates {
		if aws.ToString(st.StageStates[i].StageName) == rel.Stage {
			stage = &st.StageStates[i]
			break
		}
	}
	if stage == nil {
		return pending{}, false, fmt.Errorf("pipeline has no stage %q", rel.Stage)
	}
	if stage.LatestExecution == nil || stage.LatestExecution.Status != types.StageExecutionStatusInProgress {
		return pending{}, false, nil
	}
	execID := aws.ToString(stage.LatestExecution.PipelineExecutionId)
	var found []pending
	for _, a := range stage.ActionStates {
		name := aws.ToString(a.ActionName)
		if rel.Action != "" && name != rel.Action {
			continue
		}
		if a.LatestExecution == nil || a.LatestExecution.Status != types.ActionExecutionStatusInProgress {
			continue
		}
		tok := aws.ToString(a.LatestExecution.Token)
		if tok == "" {
			if rel.Action != "" {
				// An approval in progress without a token: PARALLEL
				// execution mode, which GetPipelineState cannot answer.
				return pending{}, false, fmt.Errorf("approval %s/%s is in progress but has no token (PARALLEL execution mode is not supported)", rel.Stage, name)
			}
			continue
		}
		found = append(found, pending{Stage: rel.Stage, Action: name, ExecutionID: execID, Token: tok})
	}
	switch {
	case len(found) == 0:
		if rel.Action != "" {
			for _, a := range stage.ActionStates {
				if aws.ToString(a.ActionName) == rel.Action {
					return pending{}, false, nil
				}
			}
			return pending{}, false, fmt.Errorf("stage %s has no action %q", rel.Stage, rel.Action)
		}
		return pending{}, false, nil
	case len(found) > 1:
		return pending{}, false, fmt.Errorf("stage %s has %d approvals waiting; name the action in the release config", rel.Stage, len(found))
	}
	if execID == "" {
		return pending{}, false, fmt.Errorf("stage %s is in progress without an execution id", rel.Stage)
	}
	return found[0], true, nil
}

// source is one source action's revision in an execution.
type source struct{ Action, Revision string }

func (s source) String() string { return s.Action + " " + short(s.Revision) }

// pickSource returns the commit a release of rel is judged on among an
// execution's source revisions: that of the release's source_action, or,
// when none is named, of the execution's one source. Several sources and
// none named is refused: which one is the release branch would be a guess,
// and approving on one would let the others through unjudged.
func pickSource(rel Release, srcs []source) (string, error) {
	if rel.SourceAction != "" {
		names := make([]string, len(srcs))
		for i, s := range srcs {
			if s.Action == rel.SourceAction {
				if !shaPattern.MatchString(s.Revision) {
					return "", fmt.Errorf("source action %s's revision %s is not a git commit: source_action must name the GitHub source of %s", s.Action, short(s.Revision), rel.Repo)
				}
				return s.Revision, nil
			}
			names[i] = s.Action
		}
		return "", fmt.Errorf("no source action %q (sources: %s): fix source_action in the release config", rel.SourceAction, strings.Join(names, ", "))
	}
	var distinct []source
	commits := true
	for _, s := range srcs {
		if slices.ContainsFunc(distinct, func(d source) bool { return d.Revision == s.Revision }) {
			continue
		}
		distinct = append(distinct, s)
		commits = commits && shaPattern.MatchString(s.Revision)
	}
	switch {
	case len(distinct) == 0:
		return "", errors.New("no source revision")
	case len(distinct) > 1:
		kind := "commit"
		if !commits {
			kind = "revision"
		}
		names := make([]string, len(distinct))
		for i, s := range distinct {
			names[i] = s.String()
		}
		return "", fmt.Errorf("more than one source %s (%s): name the source action to judge with source_action in the release config (checkoff judges that one only)", kind, strings.Join(names, ", "))
	case !commits:
		return "", fmt.Errorf("source %s is not a git commit: checkoff judges a GitHub source", distinct[0])
	}
	return distinct[0].Revision, nil
}

func sources(revs []types.SourceRevision) []source {
	out := make([]source, len(revs))
	for i, r := range revs {
		out[i] = source{Action: aws.ToString(r.ActionName), Revision: aws.ToString(r.RevisionId)}
	}
	return out
}

// listed is what ListPipelineExecutions says of the waiting execution and
// of what is deployed.
type listed struct {
	waiting    []source
	deployedID string // the latest Succeeded execution; "" when none
	deployed   []source
}

// executions reads ListPipelineExecutions, newest first, until it has the
// source revisions (named by source action, which GetPipelineExecution
// does not say) of execution id and of the latest Succeeded execution.
func (g *Gate) executions(ctx context.Context, pipeline, id string) (listed, error) {
	var l listed
	var next *string
	found := false
	for range maxExecutionPages {
		out, err := g.cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{
			PipelineName: aws.String(pipeline), MaxResults: aws.Int32(100), NextToken: next,
		})
		if err != nil {
			return l, fmt.Errorf("list pipeline executions: %w", err)
		}
		for _, s := range out.PipelineExecutionSummaries {
			if !found && aws.ToString(s.PipelineExecutionId) == id {
				l.waiting, found = sources(s.SourceRevisions), true
			}
			if l.deployedID == "" && s.Status == types.PipelineExecutionStatusSucceeded {
				l.deployedID, l.deployed = aws.ToString(s.PipelineExecutionId), sources(s.SourceRevisions)
			}
		}
		if found && l.deployedID != "" {
			return l, nil
		}
		if aws.ToString(out.NextToken) == "" {
			if !found {
				return l, errors.New("the execution is not among the pipeline's executions")
			}
			return l, nil
		}
		next = out.NextToken
	}
	if !found {
		return l, fmt.Errorf("the execution is not among the latest %d", maxExecutionPages*100)
	}
	return l, fmt.Errorf("no succeeded execution among the latest %d; cannot tell what is deployed", maxExecutionPages*100)
}

// reconcileOnce runs the algorithm once. again reports that the approval
// changed before it was answered.
func (g *Gate) reconcileOnce(ctx context.Context, rel Release) (out Outcome, again bool, err error) {
	out = Outcome{Pipeline: rel.Pipeline, Decision: Nothing}
	p, ok, err := g.pendingApproval(ctx, rel)
	if err != nil {
		return out, false, err
	}
	if !ok {
		out.Reason = "no approval is waiting"
		return out, false, nil
	}
	out.ExecutionID = p.ExecutionID
	revs, err := g.revisions(ctx, rel, p)
	if err != nil || revs.notRunning != "" {
		out.Reason = revs.notRunning
		if err != nil && revs.sourceErr {
			out.Reason = err.Error()
		}
		return out, false, err
	}
	out.Revision, out.Deployed = revs.waiting, revs.deployed

	chk, err := g.check(ctx, rel, revs.deployed, revs.waiting)
	if err != nil {
		return out, false, err
	}
	out.PRs = chk.prNumbers()
	reported, err := g.directReported(ctx, rel.Pipeline, chk.Direct)
	if err != nil {
		return out, false, err
	}
	status, summary := chk.decide(rel, revs.deployed, revs.waiting, reported)
	if status == "" {
		out.Decision, out.Reason = Waiting, summary
		g.commentHolds(ctx, rel, revs.waiting, chk)
		g.notify(ctx, rel, out, chk)
		return out, false, nil
	}
	return g.answer(ctx, rel, p, out, chk, status, summary)
}

// answer sends status for approval p, once sure it is still the one whose
// revision was checked (again: it was not, start over).
func (g *Gate) answer(ctx context.Context, rel Release, p pending, out Outcome, chk *checkResult, status types.ApprovalStatus, summary string) (Outcome, bool, error) {
	// The token answers one action execution.
	p2, ok, err := g.pendingApproval(ctx, rel)
	if err != nil {
		return out, false, err
	}
	if !ok || p2 != p {
		return out, true, nil
	}
	_, err = g.cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{
		PipelineName: aws.String(rel.Pipeline), StageName: aws.String(p.Stage), ActionName: aws.String(p.Action),
		Token:  aws.String(p.Token),
		Result: &types.ApprovalResult{Status: status, Summary: aws.String(summary)},
	})
	var done *types.ApprovalAlreadyCompletedException
	var expired *types.InvalidApprovalTokenException
	switch {
	case errors.As(err, &done):
		out.Reason = "the approval was already answered"
		return out, false, nil
	case errors.As(err, &expired):
		out.Reason = "the approval token is no longer valid (answered, expired or superseded)"
		return out, false, nil
	case err != nil:
		return out, false, fmt.Errorf("put approval result %s: %w", status, err)
	}
	out.Reason = summary
	if status == types.ApprovalStatusApproved {
		out.Decision = Approved
	} else {
		out.Decision = Rejected
		g.recordDirect(ctx, rel.Pipeline, p.ExecutionID, chk.Direct)
		g.notify(ctx, rel, out, chk)
	}
	return out, false, nil
}

// executionRevisions are the source revisions of the execution waiting at
// an approval and of the one deployed before it.
type executionRevisions struct {
	waiting, deployed string
	notRunning        string // why there is nothing to answer: the execution is no longer in progress
	sourceErr         bool   // the error is the release config's source choice (shown as the reason)
}

// revisions reads the waiting execution's revision (from the release's
// source action, checked against the execution's artifacts) and the
// deployed one.
func (g *Gate) revisions(ctx context.Context, rel Release, p pending) (executionRevisions, error) {
	var r executionRevisions
	ex, err := g.cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{
		PipelineName: aws.String(rel.Pipeline), PipelineExecutionId: aws.String(p.ExecutionID),
	})
	if err != nil {
		return r, fmt.Errorf("get pipeline execution: %w", err)
	}
	if ex.PipelineExecution == nil {
		return r, errors.New("get pipeline execution: empty answer")
	}
	if st := ex.PipelineExecution.Status; st != types.PipelineExecutionStatusInProgress {
		r.notRunning = fmt.Sprintf("execution is %s", st)
		return r, nil
	}
	l, err := g.executions(ctx, rel.Pipeline, p.ExecutionID)
	if err != nil {
		return r, err
	}
	if r.waiting, err = pickSource(rel, l.waiting); err != nil {
		r.sourceErr = true
		return r, err
	}
	// The listing and the execution must agree on what runs.
	if !slices.ContainsFunc(ex.PipelineExecution.ArtifactRevisions, func(a types.ArtifactRevision) bool { return aws.ToString(a.RevisionId) == r.waiting }) {
		return r, fmt.Errorf("source commit %s is not among the execution's artifact revisions", short(r.waiting))
	}
	if l.deployedID != "" {
		if r.deployed, err = pickSource(rel, l.deployed); err != nil {
			r.sourceErr = true
			return r, fmt.Errorf("deployed execution %s: %w", l.deployedID, err)
		}
	}
	return r, nil
}
