package store

import (
	"context"
	"strings"
	"time"
)

// historyPrefixes are the partitions whose every accepted write is kept in
// an append-only history beside the newest record: a pull request's ledger
// (app's ledgerPK) and a merge's verdict (verdict.PK). They are spelled out
// here because store is imported by both, not the other way round;
// cmd/checkoff's audit test pins them against the real key builders.
var historyPrefixes = []string{LedgerPrefix, VerdictPrefix}

// KeepsHistory reports whether writes to partition pk are kept in the
// history that [Historian.History] returns.
func KeepsHistory(pk string) bool {
	for _, p := range historyPrefixes {
		if strings.HasPrefix(pk, p) {
			return true
		}
	}
	return false
}

// HistoryEntry is one accepted write to a partition that keeps history.
// History is kept for good, so its Record's Expires is always zero.
type HistoryEntry struct {
	Record
	// Written is when the store accepted the write, by the writer's clock.
	Written time.Time
	// Delivery is the webhook delivery that carried the write, when the
	// writer's context named one (see [WithDelivery]); "" otherwise.
	Delivery string
	// Deleted marks a Delete of the record at SK rather than a put.
	Deleted bool
}

// Historian is a Store that keeps the history of ledger and verdict
// partitions (see [KeepsHistory]). SQLite and Dynamo implement it; File
// does not.
type Historian interface {
	// History returns every accepted write to pk, oldest first. A
	// partition that keeps no history, or was never written, has none.
	History(ctx context.Context, pk string) ([]HistoryEntry, error)
}

type deliveryKey struct{}

// WithDelivery returns ctx naming the webhook delivery whose handling it
// carries, so the history records which delivery made each change.
func WithDelivery(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, deliveryKey{}, id)
}

// deliveryOf is the delivery ctx names, or "".
func deliveryOf(ctx context.Context) string {
	id, _ := ctx.Value(deliveryKey{}).(string)
	if len(id) > maxSKBytes {
		id = id[:maxSKBytes]
	}
	return id
}
