// Package secrets loads the GitHub App's credentials: its ID, private key
// and webhook secret.
//
// Entry point: Load reads GITHUB_APP_ID, GITHUB_PRIVATE_KEY or
// GITHUB_PRIVATE_KEY_FILE, and GITHUB_WEBHOOK_SECRET; on Lambda the key and
// the secret may instead come from SSM SecureString parameters named by
// GITHUB_PRIVATE_KEY_PARAMETER and GITHUB_WEBHOOK_SECRET_PARAMETER, fetched
// with one GetParameters call. The plain variables win when set.
//
// Secrets prints, logs and marshals redacted, and Load's errors name
// variables, files and parameters but never quote a value.
package secrets
