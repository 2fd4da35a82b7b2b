package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

var gateSpec = spec{
	name:    "gate",
	summary: "reconcile one release pipeline's approval now (--pipeline NAME)",
	usage:   "checkoff gate --pipeline NAME",
	about: `Reconciles one pipeline of the release config, with the same store as serve: approves its
waiting approval when every change in the release is checked off, rejects or holds it otherwise.
Exit status: 0 when it did its job (approved, rejected or nothing to do), 1 when AWS or GitHub
failed, 2 when the pipeline is not configured or the configuration is incomplete.`,
	env: joinEnv(envCredentials, envStore, envReleases),
}

// runGate reconciles one pipeline from the command line: exit 0 when it did
// its job, non-zero naming the pipeline when it is not configured or AWS or
// GitHub fails.
func runGate(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags(gateSpec)
	pipeline := fs.String("pipeline", "", "`name` of a pipeline in the release config (required)")
	pos, code, done := parse(fs, gateSpec, args, stdout, stderr)
	switch {
	case done:
		return code
	case *pipeline == "":
		return misuse(stderr, gateSpec, "--pipeline is required")
	case len(pos) > 0:
		return misuse(stderr, gateSpec, "unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff gate: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := buildRuntime(ctx, cfg, runtimeOptions{logger: newLogger(stderr, cfg.logJSON, slog.LevelInfo), dryOut: stdout, oneShot: true})
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
