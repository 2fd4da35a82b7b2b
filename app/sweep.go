package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/store"
)

// SweepOptions bounds one sweep of the App's webhook deliveries.
type SweepOptions struct {
	MaxPages        int // pages of 100 deliveries to scan (default 10)
	MaxRedeliveries int // redeliveries per sweep (default 25)
	// MaxAge retires a failed delivery once its first attempt is this old
	// (default 24h); attempts older than it are not scanned.
	MaxAge      time.Duration
	MaxAttempts int // give up on a delivery after this many attempts (default 5)
	// Store, when set, remembers each redelivered delivery's first attempt
	// and how often it was redelivered, across sweeps. Without it a sweep
	// knows only the attempts in its scan window, and on a busy App (more
	// than MaxPages×100 deliveries between sweeps) a delivery that always
	// fails shows one fresh attempt per sweep and is redelivered forever.
	Store store.Store
	Now   func() time.Time
}

// SweepResult counts what a sweep saw and did.
type SweepResult struct {
	Scanned     int // delivery attempts listed
	Failed      int // distinct deliveries with no successful attempt
	Redelivered int
	GaveUp      int // failed deliveries retired: past MaxAttempts or MaxAge
	Expired     int // of GaveUp, those whose first attempt is past MaxAge
}

// sweepSK is the sort key of a delivery's sweep record; the record has a
// partition of its own, like a delivery's handled mark.
const sweepSK = "sweep"

func sweepPK(guid string) string { return store.SweepPrefix + guid }

// sweepRecord is what the store keeps of a redelivered delivery. Its
// Version counts the redeliveries requested.
type sweepRecord struct {
	First time.Time `json:"first"` // the earliest attempt seen
}

// Sweep redelivers the App's failed webhook deliveries. GitHub never retries
// a failed delivery by itself, so a 5xx answer (GitHub down, budget spent)
// would otherwise leave a check run stale. client must be the App's JWT
// client. Only server-side failures (5xx, or no answer) are retried: a 4xx
// was a rejection that a redelivery cannot change.
//
// A delivery is retired, across sweeps, once its first attempt is older
// than MaxAge or it has been attempted MaxAttempts times. The first
// attempt is the original delivery when the scan sees it; when it sees only
// redeliveries of it and scanned back to MaxAge, the original is older than
// that; otherwise the Store says when the delivery was first seen.
func Sweep(ctx context.Context, client *github.Client, opts SweepOptions) (SweepResult, error) {
	opts = opts.withDefaults()
	at := opts.Now()
	scan, err := scanDeliveries(ctx, client, opts, at.Add(-opts.MaxAge))
	res := SweepResult{Scanned: scan.scanned}
	if err != nil {
		return res, err
	}
	for _, guid := range scan.order {
		d := scan.byGUID[guid]
		if d.ok || !d.retry {
			continue
		}
		res.Failed++
		first, redelivered, err := remembered(ctx, opts.Store, guid, d.oldest)
		if err != nil {
			return res, err
		}
		// Only redeliveries listed while the scan reached MaxAge ago: the
		// original attempt is older than that.
		expired := (!d.original && scan.complete) || !at.Before(first.Add(opts.MaxAge))
		if expired || max(d.attempts, redelivered+1) >= opts.MaxAttempts {
			res.GaveUp++
			if expired {
				res.Expired++
			}
			continue
		}
		if res.Redelivered >= opts.MaxRedeliveries {
			continue
		}
		if err := redeliver(ctx, client, guid, d.latest); err != nil {
			return res, err
		}
		res.Redelivered++
		if opts.Store != nil {
			if err := putSweepRecord(ctx, opts.Store, guid, first, redelivered+1, opts.MaxAge); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func (o SweepOptions) withDefaults() SweepOptions {
	if o.MaxPages == 0 {
		o.MaxPages = 10
	}
	if o.MaxRedeliveries == 0 {
		o.MaxRedeliveries = 25
	}
	if o.MaxAge == 0 {
		o.MaxAge = 24 * time.Hour
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// sweptDelivery is what one scan saw of a delivery's attempts.
type sweptDelivery struct {
	ok       bool
	retry    bool  // some attempt failed server-side
	latest   int64 // newest attempt's ID: redeliver that one
	attempts int
	original bool      // the first delivery (not a redelivery) was listed
	oldest   time.Time // the oldest attempt listed
}

// deliveryScan is the App's delivery attempts since a time, by delivery.
type deliveryScan struct {
	byGUID   map[string]*sweptDelivery
	order    []string // newest first, as listed
	scanned  int
	complete bool // every attempt since then was listed
}

// scanDeliveries lists the App's delivery attempts back to since, at most
// opts.MaxPages pages.
func scanDeliveries(ctx context.Context, client *github.Client, opts SweepOptions, since time.Time) (deliveryScan, error) {
	scan := deliveryScan{byGUID: map[string]*sweptDelivery{}}
	list := &github.ListCursorOptions{PerPage: 100}
	for page := 0; page < opts.MaxPages; page++ {
		batch, resp, err := client.Apps.ListHookDeliveries(ctx, list)
		if err != nil {
			return scan, fmt.Errorf("list hook deliveries: %w", err)
		}
		for _, d := range batch {
			if d.GetDeliveredAt().Time.Before(since) {
				scan.complete = true
				return scan, nil
			}
			scan.add(d)
		}
		if resp.Cursor == "" {
			scan.complete = true
			return scan, nil
		}
		list.Cursor = resp.Cursor
	}
	return scan, nil
}

func (scan *deliveryScan) add(d *github.HookDelivery) {
	when := d.GetDeliveredAt().Time
	scan.scanned++
	x, ok := scan.byGUID[d.GetGUID()]
	if !ok {
		x = &sweptDelivery{latest: d.GetID(), oldest: when}
		scan.byGUID[d.GetGUID()] = x
		scan.order = append(scan.order, d.GetGUID())
	}
	x.attempts++
	if !d.GetRedelivery() {
		x.original = true
	}
	if when.Before(x.oldest) {
		x.oldest = when
	}
	code := d.GetStatusCode()
	switch {
	case code >= 200 && code < 300:
		x.ok = true
	case code == 0 || code >= 500:
		x.retry = true
	}
}

// remembered is what the store knows of guid across sweeps: its first
// attempt (the earlier of that and oldest) and how often it was
// redelivered. A nil store knows nothing.
func remembered(ctx context.Context, st store.Store, guid string, oldest time.Time) (first time.Time, redelivered int, err error) {
	first = oldest
	if st == nil {
		return first, 0, nil
	}
	rec, err := st.Get(ctx, sweepPK(guid), sweepSK)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return first, 0, nil
	case err != nil:
		return first, 0, fmt.Errorf("read sweep record of %s: %w", guid, err)
	}
	var r sweepRecord
	if err := json.Unmarshal(rec.Data, &r); err != nil {
		return first, 0, fmt.Errorf("decode sweep record of %s: %w", guid, err)
	}
	if r.First.Before(first) {
		first = r.First
	}
	return first, int(rec.Version), nil
}

// redeliver asks GitHub to redeliver attempt id of guid.
func redeliver(ctx context.Context, client *github.Client, guid string, id int64) error {
	if _, _, err := client.Apps.RedeliverHookDelivery(ctx, id); err != nil {
		// A redelivery request is answered 202 and go-github reports
		// that as an AcceptedError; anything else is a failure.
		var accepted *github.AcceptedError
		if !errors.As(err, &accepted) {
			return fmt.Errorf("redeliver %s: %w", guid, err)
		}
	}
	return nil
}

// putSweepRecord notes that guid, first attempted at first, has been
// redelivered n times. The record outlives the delivery's last possible
// redelivery (at first+MaxAge) by one scan window (MaxAge), so no later
// sweep takes a redelivery of it for a new delivery; losing it costs at
// most some redeliveries, so it may expire.
func putSweepRecord(ctx context.Context, st store.Store, guid string, first time.Time, n int, maxAge time.Duration) error {
	data, err := json.Marshal(sweepRecord{First: first.UTC()})
	if err != nil {
		return fmt.Errorf("encode sweep record of %s: %w", guid, err)
	}
	_, err = st.PutIfNewer(ctx, store.Record{
		PK: sweepPK(guid), SK: sweepSK, Version: int64(n), Data: data,
		Expires: first.Add(2*maxAge + time.Hour),
	})
	if err != nil {
		return fmt.Errorf("store sweep record of %s: %w", guid, err)
	}
	return nil
}
