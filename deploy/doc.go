// Package deploy checks checkoff's deployment: its tests run `serverless
// package` on serverless.yml (offline, no AWS credentials) and assert on the
// CloudFormation it generates — runtime and architecture, the two functions
// (webhooks; release gate and sweeper) with their timeouts and reserved
// concurrency, the HTTP routes and their throttling, the EventBridge rule
// and schedule, the region, the ledger table, and least-privilege IAM that
// agrees with the release config shipped in the Lambda zip.
//
// Two checkers share the work. cfn-lint (AWS's CloudFormation linter,
// CfnLint, pinned as CfnLintVersion) checks both templates — the packaged
// one and contrib/pipeline.yml — against the resource specifications:
// property types and patterns, ARNs, conditions, dependencies. The small
// CloudFormation evaluator here checks what cfn-lint cannot, because it
// needs checkoff's own facts: that IAM resources resolve to the pipelines
// and approval actions releases.yml names, that grants match the calls the
// code makes (release.PipelineAPI, the store), that the event pattern
// matches the events the dispatcher routes, that the deploy role covers the
// registry handlers' permissions (testdata/cfn-handler-permissions.yml).
//
// The evaluator:
//   - ParseTemplate reads a template, JSON or YAML with short-form
//     intrinsics (!Ref, !Sub, !GetAtt, ...); DecodeYAML does the YAML part.
//   - Template.Statements lists every IAM policy statement the template
//     grants; Template.ManagedPolicyArns the managed policies roles attach.
//   - Values resolves intrinsics (Ref, Fn::Sub, Fn::Join, Fn::GetAtt,
//     Fn::FindInMap, Fn::If, Fn::Select) and conditions to concrete values,
//     so tests compare real ARNs.
//   - MatchEvent applies an EventBridge event pattern to an event.
package deploy
