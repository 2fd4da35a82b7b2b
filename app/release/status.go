package release

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// Status explains a pipeline's release as the gate sees it now: what waits,
// what is deployed, every commit between with the pull request that merged
// it, each PR's verdict and what holds it, and the answer the gate would
// give. It is what `checkoff status` prints.
type Status struct {
	Pipeline    string     `json:"pipeline"`
	Waiting     bool       `json:"waiting"` // an approval is waiting for an answer
	ExecutionID string     `json:"execution_id,omitempty"`
	Revision    string     `json:"revision,omitempty"`
	Deployed    string     `json:"deployed,omitempty"` // "" for a first release
	Commits     int        `json:"commits"`
	TooMany     int        `json:"too_many,omitempty"` // commits in range, over the limit checkoff checks
	PRs         []StatusPR `json:"prs,omitempty"`
	Direct      []string   `json:"direct_pushes,omitempty"`
	Answer      Decision   `json:"answer"` // what a reconcile would answer now
	Reason      string     `json:"reason"`
}

// StatusPR is one pull request in a release.
type StatusPR struct {
	Number    int      `json:"number"`
	MergeSHA  string   `json:"merge_sha"`
	Complete  bool     `json:"complete"`
	Reviewers []string `json:"reviewers,omitempty"`
	Holding   []string `json:"holding,omitempty"` // each item that holds it: text, why, who may tick it
}

// Status explains pipeline's release without answering anything: no
// approval, comment, check run or notification is sent. Verdicts it lacks
// are judged and recorded, as a reconcile would.
func (g *Gate) Status(ctx context.Context, pipeline string) (Status, error) {
	rel, ok := g.cfg.ForPipeline(pipeline)
	if !ok {
		return Status{Pipeline: pipeline}, fmt.Errorf("status of %s: %w", pipeline, ErrUnknownPipeline)
	}
	st := Status{Pipeline: pipeline, Answer: Nothing}
	p, ok, err := g.pendingApproval(ctx, rel)
	if err != nil {
		return st, fmt.Errorf("status of %s: %w", pipeline, err)
	}
	if !ok {
		st.Reason = "no approval is waiting"
		return st, nil
	}
	st.Waiting, st.ExecutionID = true, p.ExecutionID
	if err := g.statusRevisions(ctx, rel, p, &st); err != nil {
		return st, fmt.Errorf("status of %s execution %s: %w", pipeline, p.ExecutionID, err)
	}
	chk, err := g.check(ctx, rel, st.Deployed, st.Revision)
	if err != nil {
		return st, fmt.Errorf("status of %s execution %s: %w", pipeline, p.ExecutionID, err)
	}
	st.Commits, st.TooMany, st.Direct = chk.Commits, chk.TooMany, chk.Direct
	for _, pr := range chk.PRs {
		sp := StatusPR{Number: pr.Number, MergeSHA: pr.MergeSHA, Complete: pr.complete(), Reviewers: pr.Verdict.Reviewers}
		if !sp.Complete {
			sp.Holding = pr.Verdict.Holding
			if pr.Problem != "" {
				sp.Holding = []string{pr.Problem}
			}
		}
		st.PRs = append(st.PRs, sp)
	}
	reported, err := g.directReported(ctx, rel.Pipeline, chk.Direct)
	if err != nil {
		return st, err
	}
	status, summary := chk.decide(rel, st.Deployed, st.Revision, reported)
	st.Reason = summary
	switch status {
	case types.ApprovalStatusApproved:
		st.Answer = Approved
	case types.ApprovalStatusRejected:
		st.Answer = Rejected
	default:
		st.Answer = Waiting
	}
	return st, nil
}

// statusRevisions fills the waiting and deployed revisions, from the
// source action the release names.
func (g *Gate) statusRevisions(ctx context.Context, rel Release, p pending, st *Status) error {
	ex, err := g.cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{
		PipelineName: aws.String(rel.Pipeline), PipelineExecutionId: aws.String(p.ExecutionID),
	})
	if err != nil {
		return fmt.Errorf("get pipeline execution: %w", err)
	}
	if ex.PipelineExecution == nil {
		return errors.New("get pipeline execution: empty answer")
	}
	l, err := g.executions(ctx, rel.Pipeline, p.ExecutionID)
	if err != nil {
		return err
	}
	if st.Revision, err = pickSource(rel, l.waiting); err != nil {
		return err
	}
	if !slices.ContainsFunc(ex.PipelineExecution.ArtifactRevisions, func(r types.ArtifactRevision) bool { return aws.ToString(r.RevisionId) == st.Revision }) {
		return fmt.Errorf("source commit %s is not among the execution's artifact revisions", short(st.Revision))
	}
	if l.deployedID != "" {
		if st.Deployed, err = pickSource(rel, l.deployed); err != nil {
			return fmt.Errorf("deployed execution %s: %w", l.deployedID, err)
		}
	}
	return nil
}
