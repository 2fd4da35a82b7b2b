// Package snstest is a fake Amazon SNS endpoint for tests: an httptest
// server speaking the AWS query protocol (form-encoded POST, XML answers)
// for Publish, the one call the release gate's notifier makes.
//
// Every request is checked as SNS would check it — SigV4 signature
// (recomputed with the test credentials, service sns), content type,
// Action and Version, known parameters only, exactly one target, the
// message's presence, encoding and size, the subject's length and
// characters — and anything SNS would reject fails the test and gets
// SNS's InvalidParameter error. A topic that does not exist gets NotFound.
//
// Entry points:
//   - New starts the fake; Server.Client returns a real *sns.Client
//     pointed at it; Server.AddTopic creates a topic and returns its ARN.
//   - Fail injects faults (Throttled, Internal, AuthorizationError).
//   - Messages lists what the fake accepted.
package snstest
