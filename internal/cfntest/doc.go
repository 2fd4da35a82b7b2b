// Package cfntest is test support for checkoff's deployment: a small
// CloudFormation evaluator for what cfn-lint cannot check (checkoff's own
// facts: that IAM resources resolve to the pipelines and approval actions
// releases.yml names, that grants match the calls the code makes, that the
// event pattern matches the events the intake routes), and a runner of
// cfn-lint itself. The tests in packages deploy and contrib use it.
//
// Entry points:
//   - ParseTemplate reads a template, JSON or YAML with short-form
//     intrinsics (!Ref, !Sub, !GetAtt, ...); DecodeYAML does the YAML part.
//   - Template.Statements lists every IAM policy statement the template
//     grants; Template.ManagedPolicyArns the managed policies roles attach.
//   - Values resolves intrinsics (Ref, Fn::Sub, Fn::Join, Fn::GetAtt,
//     Fn::FindInMap, Fn::If, Fn::Select) and conditions to concrete values,
//     so tests compare real ARNs.
//   - MatchEvent applies an EventBridge event pattern to an event.
//   - CfnLint runs cfn-lint (CfnLintVersion) on templates.
package cfntest
