// Package app is the checkoff GitHub App: it loads a repository's
// .github/checkoff.yml, keeps the who-ticked ledger, evaluates pull requests
// with package checklist, posts one check run per checklist, and records a
// verdict for every merge for the release gate.
//
// Entry points:
//   - New builds an App from Options (built once: at start, or Lambda init).
//   - App.Opened, App.Edited, App.Pushed, App.Evaluate, App.Reviewed,
//     App.ReviewEdited, App.Recheck and App.MergeGroup are called by the
//     per-event handlers of package webhook.
//   - App.EvaluateMerged gives the verdict on a merged PR (for the gate);
//     App.RecheckMerge answers a re-run of the gate's check run on a merge
//     commit (App.OwnCheckRun, App.HasReleaseGate and GateCheckName serve
//     the routing in package webhook).
//   - App.Deliveries dedupes redelivered webhooks over the store.
//
// GitHub is reached through the small gitHub interface: the REST
// implementation (go-github over an installation client, with an ETag cache
// for the config and a short cache for permissions) or the dry-run one,
// which prints the check runs it would post.
package app
