package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/checkoff-app/checkoff/app"
)

// loopRunTimeout bounds one reconcile or sweep, as the CLI's gate and
// redeliver are bounded.
const loopRunTimeout = 2 * time.Minute

// loops are serve's background work: reconciling the release pipelines
// (what EventBridge and the schedule do on Lambda) and sweeping failed
// deliveries.
type loops struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc // cancels a run under way
}

// startLoops starts the loops the runtime can run: both need App
// credentials, the reconcile loop a release gate too; an interval of 0
// turns a loop off. They stop ticking when ctx is done.
func startLoops(ctx context.Context, rt *runtime, reconcileEvery, sweepEvery time.Duration) *loops {
	// A run under way is not cut short by the signal, only by stop's
	// deadline: an answer half given is worse than a late shutdown.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &loops{cancel: cancel}
	if rt.clients == nil {
		return l
	}
	if rt.gate != nil && reconcileEvery > 0 {
		l.every(ctx, runCtx, reconcileEvery, func(ctx context.Context) { reconcileAll(ctx, rt) })
		rt.log.Info("reconciling release pipelines", "every", reconcileEvery.String())
	}
	if sweepEvery > 0 {
		l.every(ctx, runCtx, sweepEvery, func(ctx context.Context) { sweep(ctx, rt) })
		rt.log.Info("sweeping failed deliveries", "every", sweepEvery.String())
	}
	return l
}

// every runs fn each interval until ctx is done; a run that takes longer
// than the interval delays the next rather than overlapping it.
func (l *loops) every(ctx, runCtx context.Context, interval time.Duration, fn func(context.Context)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if ctx.Err() != nil {
				return
			}
			c, cancel := context.WithTimeout(runCtx, loopRunTimeout)
			fn(c)
			cancel()
		}
	}()
}

// stop waits for the loops to end (they end once serve's context is done),
// cancelling a run still under way when deadline's context is done.
func (l *loops) stop(deadline context.Context) {
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-deadline.Done():
		l.cancel()
		<-done
	}
	l.cancel()
}

// reconcileAll is one round of the reconcile loop. ReconcileAll logs each
// pipeline's decision; a failure is logged and retried next round.
func reconcileAll(ctx context.Context, rt *runtime) {
	if _, err := rt.gate.ReconcileAll(ctx); err != nil {
		rt.log.LogAttrs(ctx, slog.LevelWarn, "reconcile failed; retried next round", slog.Any("err", err))
	}
}

// sweep is one round of the sweep loop: `checkoff redeliver` with its
// defaults, remembering first attempts in the store.
func sweep(ctx context.Context, rt *runtime) {
	res, err := app.Sweep(ctx, rt.clients.App(), app.SweepOptions{Store: rt.store})
	attrs := []slog.Attr{slog.Int("scanned", res.Scanned), slog.Int("failed", res.Failed), slog.Int("redelivered", res.Redelivered),
		slog.Int("gave_up", res.GaveUp), slog.Int("expired", res.Expired)}
	if err != nil {
		rt.log.LogAttrs(ctx, slog.LevelWarn, "sweep failed; retried next round", append(attrs, slog.Any("err", err))...)
		return
	}
	rt.log.LogAttrs(ctx, slog.LevelInfo, "sweep", attrs...)
}
