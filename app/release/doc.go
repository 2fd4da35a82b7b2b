// Package release is checkoff's release gate: it answers the Manual
// approval action of an AWS CodePipeline once every change the pipeline
// would release was merged through fully checked-off pull requests, and
// never otherwise.
//
// Entry points:
//   - ParseConfig and LoadConfig read the release config (which repository
//     branch feeds which pipeline, stage and approval action).
//   - New builds a Gate from Options; *Gate implements the App's ReleaseGate (checked in cmd/checkoff).
//   - Gate.Verdict takes each verdict the app records: it posts the
//     "Release Gate" check run on the merge commit and reconciles.
//   - Gate.Reconcile reconciles one pipeline (the CLI's `checkoff gate`),
//     Gate.ReconcileAll every configured one (the schedule), and
//     Gate.HandleActionEvent an EventBridge approval-started event.
//
// Notifier (optional, in Options) hears of each held or rejected release:
// NewSNSNotifier publishes to an SNS topic (EnvNotifyTopic), through
// SNSAPI, its one call; package snstest is a fake SNS endpoint for tests.
//
// CodePipeline is reached through PipelineAPI (the four calls the IAM
// policy allows), GitHub through go-github. Package pipelinetest is a fake
// CodePipeline endpoint for tests.
package release
