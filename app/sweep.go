package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v62/github"
)

// SweepOptions bounds one sweep of the App's webhook deliveries.
type SweepOptions struct {
	MaxPages        int           // pages of 100 deliveries to scan (default 10)
	MaxRedeliveries int           // redeliveries per sweep (default 25)
	MaxAge          time.Duration // ignore deliveries older than this (default 24h)
	MaxAttempts     int           // give up on a delivery after this many attempts (default 5)
	Now             func() time.Time
}

// SweepResult counts what a sweep saw and did.
type SweepResult struct {
	Scanned     int // delivery attempts listed
	Failed      int // distinct deliveries with no successful attempt
	Redelivered int
	GaveUp      int // failed deliveries past MaxAttempts
}

// Sweep redelivers the App's failed webhook deliveries. GitHub never retries
// a failed delivery by itself, so a 5xx answer (GitHub down, budget spent)
// would otherwise leave a check run stale. client must be the App's JWT
// client. Only server-side failures (5xx, or no answer) are retried: a 4xx
// was a rejection that a redelivery cannot change.
func Sweep(ctx context.Context, client *github.Client, opts SweepOptions) (SweepResult, error) {
	if opts.MaxPages == 0 {
		opts.MaxPages = 10
	}
	if opts.MaxRedeliveries == 0 {
		opts.MaxRedeliveries = 25
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 24 * time.Hour
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 5
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	since := now().Add(-opts.MaxAge)

	type delivery struct {
		ok       bool
		retry    bool  // some attempt failed server-side
		latest   int64 // newest attempt's ID: redeliver that one
		attempts int
	}
	byGUID := map[string]*delivery{}
	var order []string // newest first, as listed
	var res SweepResult
	list := &github.ListCursorOptions{PerPage: 100}
scan:
	for page := 0; page < opts.MaxPages; page++ {
		batch, resp, err := client.Apps.ListHookDeliveries(ctx, list)
		if err != nil {
			return res, fmt.Errorf("list hook deliveries: %w", err)
		}
		for _, d := range batch {
			if d.GetDeliveredAt().Time.Before(since) {
				break scan
			}
			res.Scanned++
			x, ok := byGUID[d.GetGUID()]
			if !ok {
				x = &delivery{latest: d.GetID()}
				byGUID[d.GetGUID()] = x
				order = append(order, d.GetGUID())
			}
			x.attempts++
			code := d.GetStatusCode()
			switch {
			case code >= 200 && code < 300:
				x.ok = true
			case code == 0 || code >= 500:
				x.retry = true
			}
		}
		if resp.Cursor == "" {
			break
		}
		list.Cursor = resp.Cursor
	}
	for _, guid := range order {
		d := byGUID[guid]
		if d.ok || !d.retry {
			continue
		}
		res.Failed++
		if d.attempts >= opts.MaxAttempts {
			res.GaveUp++
			continue
		}
		if res.Redelivered >= opts.MaxRedeliveries {
			continue
		}
		if _, _, err := client.Apps.RedeliverHookDelivery(ctx, d.latest); err != nil {
			// A redelivery request is answered 202 and go-github reports
			// that as an AcceptedError; anything else is a failure.
			var accepted *github.AcceptedError
			if !errors.As(err, &accepted) {
				return res, fmt.Errorf("redeliver %s: %w", guid, err)
			}
		}
		res.Redelivered++
	}
	return res, nil
}
