// Package handlers holds checkoff's per-event webhook handlers: one thin
// type per GitHub event, each turning a decoded webhook.Event into a call of
// the App (app.App) with checkoff's own types (app.PRState, app.Actor,
// app.Review, app.MergeGroup). A handler switches on the action, builds the
// locator and calls one App method; logic that grows here belongs in the
// App.
//
// Entry point: All(a) returns the handlers for webhook.Options.Handlers.
//
// Why a package of its own, at the module root rather than under webhook/:
// the intake (package webhook: limits, signature, de-duplication, payload
// shape) imports no App package, as go-githubapp's dispatcher knows
// nothing of the handlers it routes to; these handlers are the one seam
// where intake types meet App types, so they import both and sit between
// them: cmd → webhook ← handlers → app. Outside webhook/, a check over
// ./webhook/... holds for the whole intake tree, and the module's top level
// shows the seam.
//
// The payload is decoded once, by the Dispatcher, into webhook.Event's
// trimmed structs; no handler decodes it again.
//
// The package's tests are checkoff's end-to-end scenarios: signed
// deliveries through webhook.Dispatcher, these handlers, the App, the file
// store and go-github against the OpenAPI-validating fake GitHub.
package handlers
