// Package secrets loads the GitHub App's credentials: its ID, private key
// and webhook secret.
//
// Entry point: Sources.Load. The caller (cmd/checkoff, which reads the
// environment once) says where each value comes from: given directly, a
// key file, or SSM SecureString parameters, fetched with one GetParameters
// call. Values given directly win over parameters. The package reads no
// environment variable.
//
// Secrets and Sources print, log and marshal redacted, and Load's errors
// name files and parameters but never quote a value.
package secrets
