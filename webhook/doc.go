// Package webhook is checkoff's intake: it authenticates GitHub webhook
// deliveries, bounds them, decodes each payload once, checks its shape,
// de-duplicates it and routes it to a per-event Handler; and it adapts
// Lambda invocations to the same code path. It imports no App package
// (like palantir/go-githubapp's dispatcher): the handlers that call the App
// live in package handlers.
//
// Entry points:
//
//   - NewDispatcher builds a *Dispatcher, a plain http.Handler serving
//     POST /webhook and GET /healthz. `checkoff serve` and the Lambda adapter
//     share it.
//   - Handler is implemented by the per-event handlers (package handlers);
//     each gets the delivery as an *Event, decoded once into trimmed
//     structs of the fields checkoff reads (event.go). Deliveries is
//     implemented by the app over its store, to make redeliveries of
//     handled deliveries a no-op.
//   - LoggerFrom gives a handler the logger carrying the delivery's
//     identifiers.
//   - Lambda.Invoke is the Lambda entry point (lambda.Handler): it decodes
//     the invocation once, then hands API Gateway HTTP API v2 and Function
//     URL requests to the Dispatcher, CodePipeline action events (one type,
//     pipelineevent.ActionEvent) to the release gate, and scheduled events to the
//     sweeper.
//
// A POST /webhook passes these checks in order, and every rejection answers
// before any handler or Deliveries is called:
//
//	secret not configured                    401 (fail closed)
//	X-Hub-Signature-256 missing, not sha256=,
//	  or not 64 hex digits                   401
//	Content-Type not application/json        415
//	body over Options.MaxBody (25 MiB)       413
//	no room for the body in the unverified-
//	  body budget (Options.MaxUnverifiedBytes,
//	  64 MiB in total) within UnverifiedWait
//	  (2 s; a chunked body: at once)         503, Retry-After: 1
//	HMAC-SHA256 over the raw body wrong      401
//	X-GitHub-Event / X-GitHub-Delivery bad   400
//	payload not a JSON object, or a field
//	  of the wrong type                      400
//	ping                                     200
//	no handler for the event                 202
//	sender is Options.BotLogin               200 (ignored)
//	payload of another event's shape, or
//	  without a field its handler needs      400, the reason in the answer
//	no slot free within Options.QueueTimeout
//	  (when Options.MaxConcurrent is set;
//	  the raw payload is let go by then)     503, Retry-After: 1
//	delivery ID or body already Done         200 (no-op)
//	handler error, panic or timeout          500
//	handled                                  200
//
// A body is read, and its HMAC computed, in pooled 32 KiB chunks counted
// against the unverified-body budget, which is released as soon as the
// HMAC is checked. A handled delivery is marked Done twice: under its
// X-GitHub-Delivery and under "sha256:" and the hex SHA-256 of its body,
// since neither that header nor X-GitHub-Event is signed; a check_run or
// check_suite re-run request is marked under its ID only (two clicks send
// the same body). validate.go holds the table of each event's top-level
// keys and required fields.
//
// The form encoding (application/x-www-form-urlencoded, payload=...) is
// refused with 415: GitHub Apps always deliver JSON, and accepting only one
// encoding keeps the unauthenticated surface small.
package webhook
