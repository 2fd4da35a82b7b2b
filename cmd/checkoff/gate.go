package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// runGate reconciles one pipeline from the command line, with the same
// store as serve: exit 0 when it did its job (approved, rejected or nothing
// to do), non-zero naming the pipeline when it is not configured or AWS or
// GitHub fails.
func runGate(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pipeline := fs.String("pipeline", "", "name of a pipeline in the release config (required)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *pipeline == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: checkoff gate --pipeline NAME")
		return exitUsage
	}
	log := newLogger(stderr, false, slog.LevelInfo)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := buildRuntime(ctx, runtimeOptions{logger: log, getenv: os.Getenv, dryOut: stdout, oneShot: true})
	if err != nil {
		fmt.Fprintf(stderr, "checkoff gate: %v\n", err)
		return exitUsage
	}
	defer rt.closeStore()
	if rt.gate == nil {
		fmt.Fprintf(stderr, "checkoff gate: pipeline %s: no release gate (set CHECKOFF_RELEASES or CHECKOFF_RELEASES_PARAMETER, and App credentials)\n", *pipeline)
		return exitUsage
	}
	out, err := rt.gate.Reconcile(ctx, *pipeline)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff gate: pipeline %s: %v\n", *pipeline, err)
		return exitFail
	}
	fmt.Fprintln(stdout, out.String())
	return exitOK
}
