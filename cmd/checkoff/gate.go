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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, ok := gateRuntime(ctx, gateSpec.name, *pipeline, slog.LevelInfo, stdout, stderr)
	if !ok {
		return exitUsage
	}
	defer rt.closeStore()
	out, err := rt.gate.Reconcile(ctx, *pipeline)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff gate: pipeline %s: %v\n", *pipeline, err)
		return exitFail
	}
	fmt.Fprintln(stdout, out.String())
	return exitOK
}

// gateRuntime builds the runtime of a one-shot release command (gate,
// status) from the environment; false, with the reason printed, when it
// cannot or has no release gate.
func gateRuntime(ctx context.Context, cmd, pipeline string, level slog.Level, stdout, stderr io.Writer) (*runtime, bool) {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff %s: %v\n", cmd, err)
		return nil, false
	}
	rt, err := buildRuntime(ctx, cfg, runtimeOptions{logger: newLogger(stderr, cfg.logJSON, level), dryOut: stdout, oneShot: true})
	if err != nil {
		fmt.Fprintf(stderr, "checkoff %s: %v\n", cmd, err)
		return nil, false
	}
	if rt.gate == nil {
		rt.closeStore()
		fmt.Fprintf(stderr, "checkoff %s: pipeline %s: no release gate (set CHECKOFF_RELEASES or CHECKOFF_RELEASES_PARAMETER, and App credentials)\n", cmd, pipeline)
		return nil, false
	}
	return rt, true
}
