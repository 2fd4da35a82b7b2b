// Package app is the checkoff GitHub App: for each event it gathers the
// facts about a pull request (its newest state from the ledger, the config
// in force, permissions, contributors, changed files), calls the pure judge
// (package checklist), posts one check run per checklist, keeps the
// who-ticked ledger, and records a verdict for every merge for the release
// gate (package app/verdict).
//
// Entry points:
//   - New builds an App from Options (built once: at start, or Lambda init).
//   - App.Opened, App.Edited, App.PushedFrom (App.Pushed), App.Evaluate,
//     App.ReviewSubmitted, App.ReviewEdited, App.ReviewDismissed,
//     App.Recheck and App.MergeGroup are called by the per-event handlers
//     of package handlers.
//   - App.EvaluateMerged gives the verdict on a merged PR (for the gate);
//     App.RecheckMerge answers a re-run of the gate's check run on a merge
//     commit (App.OwnCheckRun, App.HasReleaseGate and GateCheckName serve
//     the routing in package handlers).
//   - Deliveries dedupes redelivered webhooks over a store; Sweep redelivers
//     the App's failed deliveries.
//
// GitHub is reached through the GitHub interface, in checkoff's own types:
// RESTGitHub (go-github over an installation client, with an ETag cache for
// the config and a short cache for permissions), DryRun (which prints the
// check runs it would post), or a test fake (internal/apptest).
package app
