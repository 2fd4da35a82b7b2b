package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// defaultMaxConcurrent bounds the deliveries serve handles at once: enough
// to overlap GitHub's latency many times over on a small machine, while a
// burst beyond it waits holding only its raw payload, not its decoded event
// and GitHub calls.
const defaultMaxConcurrent = 64

// runServe runs the webhook server: the same http.Handler as on Lambda.
// Without App credentials it runs dry-run and prints the check runs it
// would post.
func runServe(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:$PORT, PORT default 3000)")
	writers := fs.String("writers", "", "dry-run: comma-separated logins treated as having write access")
	maxConcurrent := fs.Int("max-concurrent", defaultMaxConcurrent, "deliveries handled at once; more wait up to 5s, then get 503 (0: no bound)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *addr == "" {
		port, err := atoiDefault(os.Getenv("PORT"), 3000)
		if err != nil {
			fmt.Fprintf(stderr, "checkoff serve: PORT: %v\n", err)
			return exitUsage
		}
		*addr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	log := newLogger(stderr, os.Getenv("CHECKOFF_LOG_FORMAT") == "json", slog.LevelInfo)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *maxConcurrent < 0 {
		fmt.Fprintln(stderr, "checkoff serve: -max-concurrent must be 0 or more")
		return exitUsage
	}
	rt, err := buildRuntime(ctx, runtimeOptions{dryOut: stdout, logger: log, getenv: os.Getenv, writers: splitList(*writers), maxConcurrent: *maxConcurrent})
	if err != nil {
		fmt.Fprintf(stderr, "checkoff serve: %v\n", err)
		return exitUsage
	}
	defer rt.closeStore()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff serve: %v\n", err)
		return exitFail
	}
	srv := newServer(rt.dispatcher)
	log.Info("checkoff listening", "addr", "http://"+ln.Addr().String(), "webhook", "/webhook", "dry_run", rt.dryRun)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "checkoff serve: %v\n", err)
		return exitFail
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "checkoff serve: shutdown: %v\n", err)
		return exitFail
	}
	return exitOK
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
