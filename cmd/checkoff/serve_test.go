package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/webhook"
)

// The serve tests run newServer over a real loopback listener with a
// dispatcher whose handler and delivery store count calls: every slow or
// oversized request must be cut off before anything is handled.

const serveSecret = "serve-test-secret"

type countingHandler struct{ calls atomic.Int32 }

func (*countingHandler) Handles() []string { return []string{"pull_request"} }
func (h *countingHandler) Handle(context.Context, *webhook.Event) error {
	h.calls.Add(1)
	return nil
}

type countingDeliveries struct{ calls atomic.Int32 }

func (d *countingDeliveries) Seen(context.Context, ...string) (string, error) {
	d.calls.Add(1)
	return "", nil
}
func (d *countingDeliveries) Done(context.Context, ...string) error { d.calls.Add(1); return nil }

type serveEnv struct {
	addr       string
	srv        *http.Server
	handler    *countingHandler
	deliveries *countingDeliveries
}

// startServer serves newServer's configuration, with every timeout
// divided by scale (1: as shipped).
func startServer(t *testing.T, scale time.Duration) *serveEnv {
	t.Helper()
	e := &serveEnv{handler: &countingHandler{}, deliveries: &countingDeliveries{}}
	d := webhook.NewDispatcher(webhook.Options{
		Secret: []byte(serveSecret), Handlers: []webhook.Handler{e.handler},
		Deliveries: e.deliveries, Logger: slog.New(slog.DiscardHandler),
	})
	e.srv = newServer(d)
	e.srv.ReadHeaderTimeout /= scale
	e.srv.ReadTimeout /= scale
	e.srv.WriteTimeout /= scale
	e.srv.IdleTimeout /= scale
	e.srv.ErrorLog = nil
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go e.srv.Serve(ln)
	t.Cleanup(func() { e.srv.Close() })
	return e
}

func (e *serveEnv) noSideEffects(t *testing.T) {
	t.Helper()
	if n := e.handler.calls.Load(); n != 0 {
		t.Errorf("handler called %d times", n)
	}
	if n := e.deliveries.calls.Load(); n != 0 {
		t.Errorf("delivery store called %d times", n)
	}
}

// dripUntilClosed writes chunks every interval until the server closes the
// connection (a write or read fails) or giveUp passes, and returns how long
// the server kept it open and what it answered, if anything.
func dripUntilClosed(t *testing.T, conn net.Conn, chunk string, interval, giveUp time.Duration) (time.Duration, string) {
	t.Helper()
	start := time.Now()
	answer := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(conn) // returns when the server closes
		answer <- string(b)
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case a := <-answer:
			return time.Since(start), a
		case <-tick.C:
			if time.Since(start) > giveUp {
				t.Fatalf("connection still open after %s of slow writes", giveUp)
			}
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(conn, chunk); err != nil {
				select {
				case a := <-answer:
					return time.Since(start), a
				case <-time.After(time.Second):
					return time.Since(start), ""
				}
			}
		}
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestServerLimits pins newServer's configuration: a slow client is cut
// off, a handler's deadline (webhook.DefaultTimeout) fits in the write
// timeout, and headers are bounded.
func TestServerLimits(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	switch {
	case srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 10*time.Second:
		t.Errorf("ReadHeaderTimeout %s: want (0, 10s]", srv.ReadHeaderTimeout)
	case srv.ReadTimeout < srv.ReadHeaderTimeout || srv.ReadTimeout > 30*time.Second:
		t.Errorf("ReadTimeout %s: want [ReadHeaderTimeout, 30s]", srv.ReadTimeout)
	case srv.WriteTimeout <= webhook.DefaultTimeout:
		t.Errorf("WriteTimeout %s: a handler may run %s and must still be able to answer", srv.WriteTimeout, webhook.DefaultTimeout)
	case srv.IdleTimeout <= 0:
		t.Errorf("IdleTimeout %s: idle keep-alive connections must be closed", srv.IdleTimeout)
	case srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20:
		t.Errorf("MaxHeaderBytes %d: want (0, 1 MiB]", srv.MaxHeaderBytes)
	}
}

// TestSlowLorisHeaders: a client that sends its headers a line at a time
// is disconnected after ReadHeaderTimeout, with nothing handled. The
// timeouts are scaled down 25 times (5 s -> 200 ms); TestSlowLorisShipped
// runs the shipped values.
func TestSlowLorisHeaders(t *testing.T) {
	e := startServer(t, 25)
	conn := dial(t, e.addr)
	io.WriteString(conn, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	held, answer := dripUntilClosed(t, conn, "X-Slow: a\r\n", 20*time.Millisecond, 5*time.Second)
	t.Logf("server closed the connection after %s (ReadHeaderTimeout %s), answer %q", held, e.srv.ReadHeaderTimeout, firstLine(answer))
	if held > e.srv.ReadHeaderTimeout+time.Second {
		t.Errorf("held %s, ReadHeaderTimeout is %s", held, e.srv.ReadHeaderTimeout)
	}
	if strings.HasPrefix(answer, "HTTP/1.1 2") {
		t.Errorf("a request with unfinished headers got %q", firstLine(answer))
	}
	e.noSideEffects(t)
}

// TestSlowLorisBody: a signed request whose body trickles in is cut off
// after ReadTimeout (scaled 25 times: 20 s -> 800 ms) and never reaches the
// handler, even though its signature would have been valid.
func TestSlowLorisBody(t *testing.T) {
	e := startServer(t, 25)
	body := `{"action":"opened","sender":{"login":"mallory"},"padding":"` + strings.Repeat("x", 4096) + `"}`
	conn := dial(t, e.addr)
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
		"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: slow-1\r\nX-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n",
		signature(serveSecret, []byte(body)), len(body))
	rest := body
	start := time.Now()
	held, answer := func() (time.Duration, string) {
		answer := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(conn)
			answer <- string(b)
		}()
		for len(rest) > 0 {
			select {
			case a := <-answer:
				return time.Since(start), a
			case <-time.After(20 * time.Millisecond):
			}
			if time.Since(start) > 10*time.Second {
				t.Fatal("body still being read after 10s")
			}
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(conn, rest[:1]); err != nil {
				break
			}
			rest = rest[1:]
		}
		select {
		case a := <-answer:
			return time.Since(start), a
		case <-time.After(5 * time.Second):
			t.Fatal("no answer and no close after the body was sent")
			return 0, ""
		}
	}()
	t.Logf("cut off after %s with %d of %d body bytes sent (ReadTimeout %s), answer %q", held, len(body)-len(rest), len(body), e.srv.ReadTimeout, firstLine(answer))
	if rest == "" {
		t.Fatalf("the whole body was accepted at one byte per 20 ms")
	}
	if held > e.srv.ReadTimeout+time.Second {
		t.Errorf("held %s, ReadTimeout is %s", held, e.srv.ReadTimeout)
	}
	if strings.HasPrefix(answer, "HTTP/1.1 2") {
		t.Errorf("a cut-off body got %q", firstLine(answer))
	}
	e.noSideEffects(t)
}

// TestSlowLorisShipped runs the header case with the shipped 5 s
// ReadHeaderTimeout.
func TestSlowLorisShipped(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the shipped 5 s ReadHeaderTimeout")
	}
	t.Parallel()
	e := startServer(t, 1)
	conn := dial(t, e.addr)
	io.WriteString(conn, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	held, _ := dripUntilClosed(t, conn, "X-Slow: a\r\n", 250*time.Millisecond, 15*time.Second)
	if held < e.srv.ReadHeaderTimeout-time.Second || held > e.srv.ReadHeaderTimeout+2*time.Second {
		t.Errorf("held %s, ReadHeaderTimeout is %s", held, e.srv.ReadHeaderTimeout)
	}
	e.noSideEffects(t)
}

// TestOversizedHeaders: headers past MaxHeaderBytes get 431 from the
// server itself; just under the limit the request reaches the dispatcher
// (and, unsigned, is refused there).
func TestOversizedHeaders(t *testing.T) {
	e := startServer(t, 1)
	tests := map[string]struct {
		size int
		want int
	}{
		"over the limit":  {size: e.srv.MaxHeaderBytes + 8<<10, want: http.StatusRequestHeaderFieldsTooLarge},
		"under the limit": {size: e.srv.MaxHeaderBytes - 8<<10, want: http.StatusUnauthorized},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://"+e.addr+"/webhook", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Padding", strings.Repeat("p", tc.size))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%d header bytes: status %d, want %d", tc.size, resp.StatusCode, tc.want)
			}
		})
	}
	e.noSideEffects(t)
}

// TestOversizedBodyDeclared: a body declared over 25 MiB is refused with
// 413 before the server reads any of it.
func TestOversizedBodyDeclared(t *testing.T) {
	e := startServer(t, 1)
	conn := dial(t, e.addr)
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
		"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: big-1\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n",
		strings.Repeat("0", 64), webhook.DefaultMaxBody+1)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer without a body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	e.noSideEffects(t)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

func TestServeRejectsNegativeMaxConcurrent(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runServe([]string{"-max-concurrent", "-1"}, nil, &out, &errb); code != exitUsage {
		t.Errorf("serve -max-concurrent -1 exited %d, want %d (usage)", code, exitUsage)
	}
	if !strings.Contains(errb.String(), "-max-concurrent must be 0 or more") {
		t.Errorf("stderr %q lacks the reason", errb.String())
	}
}
