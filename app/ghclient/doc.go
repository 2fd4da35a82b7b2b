// Package ghclient builds the GitHub clients of the checkoff App.
//
// Entry points:
//   - New parses the App's private key once and returns Clients.
//   - Clients.App is the client authenticated as the App (JWT), for the
//     /app/... endpoints such as hook deliveries.
//   - Clients.Installation returns an installation's client, cached per
//     installation ID so its token is reused across requests (on Lambda,
//     across warm invocations).
//   - Clients.RepoInstallation finds the installation of a repository.
//   - Clients.BotLogin derives the App's bot login ("<slug>[bot]") from
//     GET /app.
//   - Retry is the transport beneath all of them: bounded retries of GitHub
//     5xx, 429 and rate-limit 403 responses that honour Retry-After and
//     x-ratelimit-reset and never sleep past the request context's deadline.
//     The time budget itself (~8 s of GitHub's 10 s per delivery) is a
//     context deadline set by the webhook layer.
package ghclient
