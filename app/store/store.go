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
	Version int64     // e.g. UnixNano of the event time
	Data    []byte    // opaque to the store (the app stores JSON)
	Expires time.Time // zero: never; otherwise the record may vanish after it
}

// ErrNotFound is returned by Get when no live record has the key.
var ErrNotFound = errors.New("record not found")

// Store is the ledger's persistence. Implementations: File (embedded, for
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
	// PutIfAbsent writes rec unless a live record exists at the key. It
	// reports whether it wrote.
	PutIfAbsent(ctx context.Context, rec Record) (bool, error)
	// Delete removes the record at (pk, sk); deleting nothing is not an error.
	Delete(ctx context.Context, pk, sk string) error
}
