package store

import (
	"context"
	"errors"
	"time"
)

// Record is one stored item, addressed by a partition key and a sort key.
// Version orders writes to the same key: a conditional write only replaces a
// record with a lower Version, so deliveries applied in any order, or twice,
// converge.
type Record struct {
	PK, SK  string
	Version int64  // e.g. UnixNano of the event time
	Data    []byte // opaque to the store (the app stores JSON)
	// Expires is zero for a record kept until deleted. Otherwise the record
	// vanishes at Expires, and it is ephemeral: a cache entry or a dedup
	// mark, whose loss costs a repeated, idempotent step, never a wrong
	// answer. A store may therefore lose the latest expiring records in a
	// power cut (File does not fsync a partition holding only those).
	Expires time.Time
}

// ErrNotFound is returned by Get when no live record has the key.
var ErrNotFound = errors.New("record not found")

// errClosed is the error of a call on a closed store.
var errClosed = errors.New("store is closed")

// Store is the ledger's persistence. Implementations: SQLite (embedded, for
// serve and the CLI) and Dynamo (for Lambda). All methods are safe for
// concurrent use; expired records are never returned.
type Store interface {
	// Get returns the record at (pk, sk), or ErrNotFound.
	Get(ctx context.Context, pk, sk string) (Record, error)
	// Query returns every live record under pk, ordered by SK.
	Query(ctx context.Context, pk string) ([]Record, error)
	// PutIfNewer writes rec unless a live record at the same key has a
	// Version >= rec.Version. It reports whether it wrote.
	PutIfNewer(ctx context.Context, rec Record) (bool, error)
	// PutManyIfNewer applies PutIfNewer to each of recs and reports, per
	// record, whether it wrote; of two records at one key, the higher
	// Version stays (of two equal ones, either). It exists so that a
	// delivery changing several records of one partition pays for one write
	// where the store allows (File: one rewrite and fsync per partition;
	// Dynamo: concurrent puts). It is not atomic: after an error some
	// records may be written, and as every write is conditional, doing it
	// again converges. Invalid keys fail the call before anything is
	// written.
	PutManyIfNewer(ctx context.Context, recs []Record) ([]bool, error)
	// PutIfAbsent writes rec unless a live record exists at the key. It
	// reports whether it wrote.
	PutIfAbsent(ctx context.Context, rec Record) (bool, error)
	// Delete removes the record at (pk, sk); deleting nothing is not an error.
	Delete(ctx context.Context, pk, sk string) error
}

// PutQuerier is a Store that writes records and reads a partition back in
// one step: PutManyThenQuery is PutManyIfNewer(recs), then Query(pk). The
// SQLite store runs both in one transaction on its writer connection, so
// the read sees exactly the writes before it and needs no read transaction
// of its own. Call the function PutManyThenQuery, which takes two calls on
// a Store without it.
type PutQuerier interface {
	PutManyThenQuery(ctx context.Context, recs []Record, pk string) ([]bool, []Record, error)
}

// PutManyThenQuery writes recs if newer (s.PutManyIfNewer) and returns the
// live records under pk (s.Query) afterwards, in one step where s is a
// PutQuerier.
func PutManyThenQuery(ctx context.Context, s Store, recs []Record, pk string) ([]bool, []Record, error) {
	if q, ok := s.(PutQuerier); ok {
		return q.PutManyThenQuery(ctx, recs, pk)
	}
	var wrote []bool
	if len(recs) > 0 {
		var err error
		if wrote, err = s.PutManyIfNewer(ctx, recs); err != nil {
			return nil, nil, err
		}
	}
	out, err := s.Query(ctx, pk)
	if err != nil {
		return nil, nil, err
	}
	return wrote, out, nil
}
