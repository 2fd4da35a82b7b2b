package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/checkoff-app/checkoff/app"
)

var redeliverSpec = spec{
	name:    "redeliver",
	summary: "redeliver the App's failed webhook deliveries",
	usage:   "checkoff redeliver [--max N] [--max-age D]",
	about: `The sweeper from the command line (serve runs it every --sweep-every, the Lambda function
on its schedule): redelivers the App's failed webhook deliveries. A delivery is given up after
5 attempts or once its first attempt is older than --max-age; the store remembers first attempts.
Exit status: 0 done, 1 a GitHub or store error, 2 usage or no App credentials.`,
	env: joinEnv(envCredentials, envStore),
}

// runRedeliver is the sweeper from the command line.
func runRedeliver(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags(redeliverSpec)
	max := fs.Int("max", 25, "redeliveries at most")
	maxAge := fs.Duration("max-age", 24*time.Hour, "give up on a failed delivery whose first attempt is older than this")
	pos, code, done := parse(fs, redeliverSpec, args, stdout, stderr)
	switch {
	case done:
		return code
	case len(pos) > 0:
		return misuse(stderr, redeliverSpec, "unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff redeliver: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := buildRuntime(ctx, cfg, runtimeOptions{logger: newLogger(stderr, cfg.logJSON, slog.LevelInfo), dryOut: stdout, oneShot: true})
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
