package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
)

// DeliveryTTL is how long a handled delivery ID is remembered. GitHub lets
// deliveries be redelivered for three days; a week leaves margin.
const DeliveryTTL = 7 * 24 * time.Hour

// Deliveries remembers handled webhook deliveries so a redelivery of one
// that already succeeded is a no-op, over a Store (on Lambda, DynamoDB;
// `checkoff serve` uses a store.Marks log instead, which costs its File
// store no file per delivery).
type Deliveries struct {
	Store store.Store
	Now   func() time.Time
}

func deliveryPK(id string) string { return store.DeliveryPrefix + id }

// Seen returns the first of ids handled successfully before, or "".
func (d Deliveries) Seen(ctx context.Context, ids ...string) (string, error) {
	for _, id := range ids {
		_, err := d.Store.Get(ctx, deliveryPK(id), "done")
		switch {
		case err == nil:
			return id, nil
		case !errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("look up delivery %s: %w", id, err)
		}
	}
	return "", nil
}

// Done marks each of ids handled.
func (d Deliveries) Done(ctx context.Context, ids ...string) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	t := now()
	for _, id := range ids {
		_, err := d.Store.PutIfAbsent(ctx, store.Record{PK: deliveryPK(id), SK: "done", Version: t.UnixNano(), Data: []byte("{}"), Expires: t.Add(DeliveryTTL)})
		if err != nil {
			return fmt.Errorf("mark delivery %s done: %w", id, err)
		}
	}
	return nil
}
