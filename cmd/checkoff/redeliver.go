package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/checkoff-app/checkoff/app"
)

// runRedeliver is the sweeper from the command line: it redelivers the
// App's failed webhook deliveries (the scheduled Lambda does the same).
func runRedeliver(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("redeliver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	max := fs.Int("max", 25, "redeliveries at most")
	maxAge := fs.Duration("max-age", 24*time.Hour, "give up on a failed delivery whose first attempt is older than this")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	log := newLogger(stderr, false, slog.LevelInfo)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := buildRuntime(ctx, runtimeOptions{logger: log, getenv: os.Getenv, dryOut: stdout, oneShot: true})
	if err != nil {
		fmt.Fprintf(stderr, "checkoff redeliver: %v\n", err)
		return exitUsage
	}
	defer rt.closeStore()
	if rt.clients == nil {
		fmt.Fprintln(stderr, "checkoff redeliver: needs App credentials (GITHUB_APP_ID and GITHUB_PRIVATE_KEY)")
		return exitUsage
	}
	// The store remembers each delivery's first attempt across runs, so a
	// delivery that always fails is retired even when the App is busy
	// enough that its first attempt has left the scan window.
	res, err := app.Sweep(ctx, rt.clients.App(), app.SweepOptions{MaxRedeliveries: *max, MaxAge: *maxAge, Store: rt.store})
	fmt.Fprintf(stdout, "scanned %d attempts, %d failed deliveries, %d redelivered, %d given up (%d past --max-age)\n", res.Scanned, res.Failed, res.Redelivered, res.GaveUp, res.Expired)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff redeliver: %v\n", err)
		return exitFail
	}
	return exitOK
}
