// Package store persists checkoff's tick ledger, verdicts and delivery IDs.
//
// Entry points:
//
//   - [Store], [Record] and [ErrNotFound]: the interface the app programs
//     against. Writes are conditional ([Store.PutIfNewer],
//     [Store.PutIfAbsent], and [Store.PutManyIfNewer] for a delivery's
//     several records at once) so deliveries applied in any order, or
//     twice, converge.
//   - [OpenFile] returns a [File]: an embedded store in a local directory for
//     `checkoff serve` and the CLI. It is safe across goroutines and across
//     processes sharing the directory, and fsyncs every write but those of
//     expiring records only (see [Record]'s Expires).
//   - [NewDynamo] returns a [Dynamo]: the DynamoDB store used on Lambda.
//   - [OpenMarks] returns [Marks]: the append-only log of handled delivery
//     IDs that `checkoff serve` keeps beside its File store.
//
// Both implementations hide expired records and reject empty, non-UTF-8 or
// over-long keys with an error, changing nothing.
package store
