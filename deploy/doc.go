// Package deploy checks checkoff's deployment: its tests run `serverless
// package` on serverless.yml (offline, no AWS credentials) and assert on the
// CloudFormation it generates — runtime and architecture, the two functions
// (webhooks; release gate and sweeper) with their timeouts and reserved
// concurrency, the HTTP routes and their throttling, the EventBridge rule
// and schedule, the region, the ledger table, and least-privilege IAM that
// agrees with the release config shipped in the Lambda zip.
//
// Two checkers share the work (both in internal/cfntest): cfn-lint (AWS's
// CloudFormation linter) checks both templates — the packaged one and
// contrib/pipeline.yml — against the resource specifications, and a small
// CloudFormation evaluator checks what cfn-lint cannot, because it needs
// checkoff's own facts: that IAM resources resolve to the pipelines and
// approval actions releases.yml names, that grants match the calls the code
// makes (release.PipelineAPI, the store), that the event pattern matches
// the events the intake routes, that the deploy role covers the registry
// handlers' permissions (testdata/cfn-handler-permissions.yml). This
// package holds only those tests.
package deploy
