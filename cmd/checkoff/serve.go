package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// defaultMaxConcurrent bounds the deliveries serve handles at once: enough
// to overlap GitHub's latency many times over on a small machine, while a
// burst beyond it waits holding only its raw payload, not its decoded event
// and GitHub calls.
const defaultMaxConcurrent = 64

// shutdownGrace is how long serve waits at shutdown for deliveries in
// flight and for a reconcile or sweep under way.
const shutdownGrace = 10 * time.Second

var serveSpec = spec{
	name:    "serve",
	summary: "run the webhook server (dry-run without App credentials)",
	usage:   "checkoff serve [--addr ADDR] [--writers a,b] [--max-concurrent N] [--reconcile-every D] [--sweep-every D] [--json]",
	about: `Serves POST /webhook (and GET /healthz): the same handler as the Lambda function.
With App credentials it posts check runs, reconciles every configured release pipeline
every --reconcile-every and redelivers failed webhook deliveries every --sweep-every,
so a self-hosted checkoff needs neither EventBridge nor a schedule. Without credentials
it runs dry-run: nothing is posted, each check run it would post is printed instead.
It stops on SIGINT or SIGTERM, letting deliveries and a reconcile or sweep under way finish.`,
	env: joinEnv(envCredentials, envWebhook, envStore, envReleases, []string{"CHECKOFF_CONFIG", "CHECKOFF_LOG_FORMAT", "PORT"}),
}

// serveFlags are serve's command line.
type serveFlags struct {
	addr           string
	writers        string
	maxConcurrent  int
	reconcileEvery time.Duration
	sweepEvery     time.Duration
	json           bool
}

// runServe runs the webhook server until SIGINT or SIGTERM.
func runServe(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, os.Getenv, stdout, stderr)
}

func parseServeFlags(args []string, stdout, stderr io.Writer) (serveFlags, int, bool) {
	var f serveFlags
	fs := newFlags(serveSpec)
	fs.StringVar(&f.addr, "addr", "", "listen `address` (default 127.0.0.1:$PORT)")
	fs.StringVar(&f.writers, "writers", "", "dry-run: comma-separated `logins` treated as having write access")
	fs.IntVar(&f.maxConcurrent, "max-concurrent", defaultMaxConcurrent, "deliveries handled at once; more wait up to 5s, then get 503 (0: no bound)")
	fs.DurationVar(&f.reconcileEvery, "reconcile-every", time.Minute, "with App credentials and a release config: reconcile every pipeline this often (0: never)")
	fs.DurationVar(&f.sweepEvery, "sweep-every", 10*time.Minute, "with App credentials: redeliver failed webhook deliveries this often (0: never)")
	fs.BoolVar(&f.json, "json", false, "dry-run: print each check run as the JSON line of the request instead of text")
	pos, code, done := parse(fs, serveSpec, args, stdout, stderr)
	switch {
	case done:
		return f, code, true
	case len(pos) > 0:
		return f, misuse(stderr, serveSpec, "unexpected argument %q", pos[0]), true
	case f.maxConcurrent < 0:
		return f, misuse(stderr, serveSpec, "-max-concurrent must be 0 or more"), true
	case f.reconcileEvery < 0 || f.sweepEvery < 0:
		return f, misuse(stderr, serveSpec, "--reconcile-every and --sweep-every must be 0 (off) or more"), true
	}
	return f, exitOK, false
}

// serve is runServe until ctx is done.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f, code, done := parseServeFlags(args, stdout, stderr)
	if done {
		return code
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff serve: %v\n", err)
		return exitUsage
	}
	if f.addr == "" {
		f.addr = fmt.Sprintf("127.0.0.1:%d", cfg.port)
	}
	log := newLogger(stderr, cfg.logJSON, slog.LevelInfo)
	var dryOut io.Writer = stdout
	if !f.json {
		dryOut = newCheckRunText(stdout)
	}
	rt, err := buildRuntime(ctx, cfg, runtimeOptions{dryOut: dryOut, logger: log, writers: splitList(f.writers), maxConcurrent: f.maxConcurrent})
	if err != nil {
		fmt.Fprintf(stderr, "checkoff serve: %v\n", err)
		return exitUsage
	}
	defer rt.closeStore()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff serve: %v\n", err)
		return exitFail
	}
	log.Info("checkoff listening", "addr", "http://"+ln.Addr().String(), "webhook", "/webhook", "dry_run", rt.dryRun)
	if rt.dryRun {
		printNextSteps(stderr, ln.Addr().String(), cfg, f)
	}
	return serveUntilDone(ctx, rt, ln, f, stderr)
}

// serveUntilDone serves ln and runs the background loops until ctx is
// done, then shuts both down within shutdownGrace.
func serveUntilDone(ctx context.Context, rt *runtime, ln net.Listener, f serveFlags, stderr io.Writer) int {
	srv := newServer(rt.dispatcher)
	loops := startLoops(ctx, rt, f.reconcileEvery, f.sweepEvery)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	code := exitOK
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "checkoff serve: %v\n", err)
		code = exitFail
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "checkoff serve: shutdown: %v\n", err)
		code = exitFail
	}
	loops.stop(shutdown)
	return code
}

// printNextSteps tells a dry-run's user what to do next: `make run` ends
// here, and the README's walkthrough picks up.
func printNextSteps(w io.Writer, addr string, cfg envConfig, f serveFlags) {
	send := "bin/checkoff send"
	if addr != "127.0.0.1:3000" {
		send += " --url http://" + addr + "/webhook"
	}
	secret := "the webhook secret is " + devSecret + " (send signs with it too)"
	if cfg.secrets.WebhookSecret != "" || cfg.secrets.WebhookSecretParameter != "" {
		secret = "the webhook secret is the one GITHUB_WEBHOOK_SECRET sets; send reads it too"
	}
	writers := "none: set --writers a,b, as dry-run cannot ask GitHub who may write"
	if f.writers != "" {
		writers = strings.Join(splitList(f.writers), ", ") + " (--writers)"
	}
	dir := cfg.dataDir
	if dir == "" {
		dir = dryRunDataDir
	}
	fmt.Fprintf(w, `
checkoff is running dry-run: no App credentials, so nothing is posted to GitHub;
each check run it would post is printed here instead.

Next, in a second terminal, the walkthrough (README "Local trial"):

  go build -o bin/checkoff ./cmd/checkoff
  W=cmd/checkoff/testdata/walkthrough
  %[1]s pull_request $W/1-opened.json
  %[1]s pull_request $W/2-reviewer-ticks.json
  %[1]s pull_request $W/3-merged.json

  - %[2]s
  - writers, whose ticks count: %[3]s
  - records go to %[4]s; the walkthrough runs once per directory (a body
    sent again is a replay): delete it, or set CHECKOFF_DATA_DIR to a new one, to repeat it

`, send, secret, writers, dir)
}

// newServer sets timeouts so a slow or stalled client (slow-loris) cannot
// hold a connection: GitHub sends a whole delivery at once.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       20 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
