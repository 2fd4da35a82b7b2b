// Package store persists checkoff's tick ledger, verdicts and delivery IDs.
//
// Entry points:
//
//   - [Store], [Record] and [ErrNotFound]: the interface the app programs
//     against. Writes are conditional ([Store.PutIfNewer],
//     [Store.PutIfAbsent], and [Store.PutManyIfNewer] for a delivery's
//     several records at once) so deliveries applied in any order, or
//     twice, converge.
//   - [OpenSQLite] returns a [SQLite]: the embedded store (one database
//     file, CHECKOFF_DATA_DIR/checkoff.db) for `checkoff serve` and the CLI,
//     shared safely by several processes; [SQLite.Deliveries] keeps the
//     handled delivery IDs in the same database. Built out with the
//     nosqlite tag (the Lambda build).
//   - [NewDynamo] returns a [Dynamo]: the DynamoDB store used on Lambda.
//   - [Historian] (both stores): the append-only history of the ledger and
//     verdict partitions, for `checkoff audit`.
//   - keys.go lists every partition-key prefix and what lives there.
//
// Both implementations hide expired records and reject empty, non-UTF-8 or
// over-long keys with an error, changing nothing.
package store
