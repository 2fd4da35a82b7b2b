// Package pipelinetest is a fake AWS CodePipeline endpoint for tests: an
// httptest server speaking the AWS JSON 1.1 protocol
// (X-Amz-Target: CodePipeline_20150709.*) for GetPipelineState,
// GetPipelineExecution, ListPipelineExecutions and PutApprovalResult.
//
// Every request is checked as AWS would check it — SigV4 signature
// (recomputed with the test credentials), content type, required members,
// unknown members, types, lengths, patterns and enums from the CodePipeline
// API model — and anything AWS would reject fails the test and gets AWS's
// ValidationException. Answers have the real response shapes; errors have
// AWS's JSON error shape (__type, message).
//
// Entry points:
//   - New starts the fake; Server.Client returns a real *codepipeline.Client
//     pointed at it.
//   - AddPipeline, Deployed, Start, Arrive, Supersede, ApproveByHand,
//     RejectByHand and Expire drive pipelines through executions and their
//     Manual approval (SUPERSEDED execution mode). DeployedSources and
//     StartSources give an execution several named source actions (GitHub,
//     S3, ECR revisions).
//   - Fail injects faults (Throttling, Internal, Unavailable); Before runs a
//     function between two calls, to stage races.
//   - Results lists the PutApprovalResult answers the fake accepted; Calls
//     counts requests per operation; Execution and Waiting show state.
package pipelinetest
