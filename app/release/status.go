package release

import (
	"context"
	"fmt"

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
	revs, err := g.revisions(ctx, rel, p)
	if err != nil {
		return st, fmt.Errorf("status of %s execution %s: %w", pipeline, p.ExecutionID, err)
	}
	if revs.notRunning != "" {
		st.Reason = revs.notRunning
		return st, nil
	}
	st.Revision, st.Deployed = revs.waiting, revs.deployed
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
