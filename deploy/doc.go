// Package deploy checks checkoff's deployment: its tests run `serverless
// package` on serverless.yml (offline, no AWS credentials) and assert on the
// CloudFormation it generates — runtime and architecture, the HTTP routes,
// the EventBridge rule and schedule, the ledger table, and least-privilege
// IAM that agrees with the release config shipped in the Lambda zip.
//
// The package also holds the small CloudFormation reader those tests and
// the contrib tests share:
//   - ParseTemplate reads a template, JSON or YAML with short-form
//     intrinsics (!Ref, !Sub, !GetAtt, ...); DecodeYAML does the YAML part.
//   - Template.Statements lists every IAM policy statement the template
//     grants; Template.ManagedPolicyArns the managed policies roles attach.
//   - Values resolves intrinsics (Ref, Fn::Sub, Fn::Join, Fn::GetAtt,
//     Fn::FindInMap, Fn::If, Fn::Select) and conditions to concrete values,
//     so tests compare real ARNs.
//   - MatchEvent applies an EventBridge event pattern to an event.
package deploy
