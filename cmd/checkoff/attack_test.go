package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// TestAttack is the unverified-upload attack of issue 9 (make attack): the
// real `checkoff serve` with App credentials against a loopback fake
// GitHub, while CONNS clients each send bodies of SIZE bytes with a wrong
// signature, as fast as they are answered, for DURATION, and a few clients
// send genuine signed deliveries (distinct pull_request events) all along.
// It fails when the server's peak RSS (VmHWM) reaches MAX_RSS_MB or a
// genuine delivery is not answered 2xx, and reports the figures.
//
// Off unless CHECKOFF_ATTACK is set. Knobs (defaults):
//
//	CHECKOFF_ATTACK_CONNS        24      attacking connections
//	CHECKOFF_ATTACK_SIZE_MB      25      body size per attacking request (MiB)
//	CHECKOFF_ATTACK_DURATION     10s     how long the attack goes on
//	CHECKOFF_ATTACK_MODE         declared,chunked  one run each: with a
//	                                     Content-Length, or chunked
//	CHECKOFF_ATTACK_GENUINE      4       clients sending genuine deliveries
//	CHECKOFF_ATTACK_MAX_RSS_MB   150     peak RSS the server must stay under (10^6 bytes)
//	CHECKOFF_ATTACK_SERVER_ENV   ""      extra server variables, comma-separated
//	CHECKOFF_ATTACK_SERVER_ARGS  ""      extra serve flags, space-separated
//
// Everything runs on loopback; attacking requests are bounded by DURATION
// and by CONNS at a time.
func TestAttack(t *testing.T) {
	if os.Getenv("CHECKOFF_ATTACK") == "" {
		t.Skip("attack tool: set CHECKOFF_ATTACK=1 (make attack)")
	}
	cfg := attackConfig{
		conns:      envInt(t, "CHECKOFF_ATTACK_CONNS", 24),
		size:       envInt(t, "CHECKOFF_ATTACK_SIZE_MB", 25) << 20,
		duration:   envDuration(t, "CHECKOFF_ATTACK_DURATION", 10*time.Second),
		genuine:    envInt(t, "CHECKOFF_ATTACK_GENUINE", 4),
		maxRSS:     int64(envInt(t, "CHECKOFF_ATTACK_MAX_RSS_MB", 150)) * 1e6 / 1024, // KiB, as VmHWM
		serverEnv:  splitList(os.Getenv("CHECKOFF_ATTACK_SERVER_ENV")),
		serverArgs: strings.Fields(os.Getenv("CHECKOFF_ATTACK_SERVER_ARGS")),
	}
	modes := []string{"declared", "chunked"}
	if v := os.Getenv("CHECKOFF_ATTACK_MODE"); v != "" {
		modes = splitList(v)
	}
	bin := buildServer(t, t.TempDir())
	for _, mode := range modes {
		if mode != "declared" && mode != "chunked" {
			t.Fatalf("CHECKOFF_ATTACK_MODE: %q is neither declared nor chunked", mode)
		}
		cfg.chunked = mode == "chunked"
		t.Run("bodies="+mode, func(t *testing.T) { runAttack(t, bin, cfg) })
	}
}

type attackConfig struct {
	conns, size, genuine int
	duration             time.Duration
	chunked              bool
	maxRSS               int64 // KiB
	serverEnv            []string
	serverArgs           []string
}

// servedProcess is a `checkoff serve` started by startServe.
type servedProcess struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	exited chan error
	logs   chan struct{} // closed when stderr is drained
	mu     sync.Mutex
	lines  map[string]int // log lines by msg
	other  bytes.Buffer   // lines worth showing on failure
}

// startServe starts bin as `checkoff serve` with App credentials for gh
// and the webhook secret, and waits until it answers /healthz.
func startServe(t *testing.T, bin string, gh *githubtest.Server, secret string, extraEnv, args []string) *servedProcess {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = []string{
		"HOME=" + dir, "CHECKOFF_DATA_DIR=" + filepath.Join(dir, "data"), "CHECKOFF_LOG_FORMAT=json",
		"GITHUB_APP_ID=" + strconv.FormatInt(gh.AppID, 10), "GITHUB_PRIVATE_KEY=" + string(gh.PrivateKeyPEM()),
		"GITHUB_WEBHOOK_SECRET=" + secret, "GITHUB_API_URL=" + gh.URL,
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &servedProcess{cmd: cmd, base: "http://" + addr, exited: make(chan error, 1), logs: make(chan struct{}), lines: map[string]int{}}
	go func() {
		defer close(p.logs)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			msg := jsonField(line, "msg")
			p.mu.Lock()
			p.lines[msg]++
			if reason := jsonField(line, "reason"); reason != "" {
				p.lines[msg+": "+reason]++
			}
			if msg == "" || msg == "handler failed" || strings.Contains(line, `"level":"ERROR"`) {
				p.other.WriteString(line + "\n")
			}
			p.mu.Unlock()
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkoff serve did not come up:\n%s", p.otherLines())
		}
	}
}

// stop sends SIGTERM and waits for the process and its log.
func (p *servedProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		p.exited <- nil
	case <-time.After(15 * time.Second):
		t.Error("checkoff serve did not stop on SIGTERM within 15s")
	}
	<-p.logs
}

func (p *servedProcess) count(msg string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines[msg]
}

// rejections tallies the "webhook rejected" lines by reason.
func (p *servedProcess) rejections() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k, n := range p.lines {
		if reason, ok := strings.CutPrefix(k, "webhook rejected: "); ok {
			out = append(out, fmt.Sprintf("%s: %d", reason, n))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func (p *servedProcess) otherLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.other.String()
}

// jsonField pulls a top-level string field out of a JSON log line without
// decoding the whole line.
func jsonField(line, key string) string {
	_, rest, ok := strings.Cut(line, `"`+key+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

type attackResult struct {
	attacks                  map[string]int             // answers (status or error kind) to attacking requests
	attackTook               map[string][]time.Duration // how long each answer took
	attackBytes              int64                      // body bytes the attackers handed to the transport
	genuineOK, genuineFailed int
	genuine                  []time.Duration
	genuineFailures          []string
	peakRSS, rss             int64 // KiB
	wall                     time.Duration
}

func runAttack(t *testing.T, bin string, cfg attackConfig) {
	gh := fixtureGitHub(t)
	gh.SkipResponseValidation() // measure the server, not the fake's self-checks
	gh.SetFile(githubtest.FixtureRepo, githubtest.FixtureBaseBranch, ".github/checkoff.yml", "incomplete_conclusion: failure\n")
	payloads := loadPayloads(t, gh, 200)
	srv := startServe(t, bin, gh, loadSecret, cfg.serverEnv, cfg.serverArgs)
	if hwm, _ := procMemory(t, srv.cmd.Process.Pid); hwm > 0 {
		t.Logf("server peak RSS before the attack: %.1f MiB", float64(hwm)/1024)
	}

	junk := bytes.Repeat([]byte(`{"a":"`), cfg.size/6+1)[:cfg.size]
	forged := signature("not-the-webhook-secret", junk)
	res := attackResult{attacks: map[string]int{}, attackTook: map[string][]time.Duration{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(cfg.duration)

	for range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One connection each, as an attacker holding 24 sockets would.
			client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1, DisableCompression: true}}
			defer client.CloseIdleConnections()
			for time.Now().Before(stop) {
				// The counting wrapper hides the length; declared mode sets it.
				counted := &countingReader{r: bytes.NewReader(junk)}
				req, _ := http.NewRequest(http.MethodPost, srv.base+"/webhook", counted)
				if !cfg.chunked {
					req.ContentLength = int64(len(junk))
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", "attack")
				req.Header.Set("X-Hub-Signature-256", forged)
				t0 := time.Now()
				resp, err := client.Do(req)
				answer := ""
				if err != nil {
					answer = "error: " + errorKind(err)
					time.Sleep(10 * time.Millisecond) // as a reconnecting client would
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					answer = strconv.Itoa(resp.StatusCode)
				}
				took := time.Since(t0)
				mu.Lock()
				res.attacks[answer]++
				res.attackTook[answer] = append(res.attackTook[answer], took)
				res.attackBytes += counted.n
				mu.Unlock()
			}
		}()
	}

	var next atomic.Int64
	for range cfg.genuine {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for time.Now().Before(stop) {
				j := int(next.Add(1)) - 1
				if j >= len(payloads) {
					return
				}
				// Each PR's steps in order, PRs side by side, as in make load.
				prs := len(payloads) / len(loadBodies)
				body := payloads[(j%prs)*len(loadBodies)+(j/prs)%len(loadBodies)]
				req, _ := http.NewRequest(http.MethodPost, srv.base+"/webhook", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("genuine-%d", j))
				req.Header.Set("X-Hub-Signature-256", signature(loadSecret, body))
				t0 := time.Now()
				resp, err := client.Do(req)
				took := time.Since(t0)
				failure := ""
				if err != nil {
					failure = err.Error()
				} else {
					msg, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						failure = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(msg)))
					}
				}
				mu.Lock()
				res.genuine = append(res.genuine, took)
				if failure == "" {
					res.genuineOK++
				} else {
					res.genuineFailed++
					res.genuineFailures = append(res.genuineFailures, fmt.Sprintf("genuine-%d: %s", j, failure))
				}
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	res.peakRSS, res.rss = procMemory(t, srv.cmd.Process.Pid)
	srv.stop(t)

	slices.Sort(res.genuine)
	mode := "with Content-Length"
	if cfg.chunked {
		mode = "chunked"
	}
	var answers []string
	total := 0
	for k, n := range res.attacks {
		took := res.attackTook[k]
		slices.Sort(took)
		answers = append(answers, fmt.Sprintf("%s: %d (p50 %s, max %s)", k, n, pct(took, 50), pct(took, 100)))
		total += n
	}
	slices.Sort(answers)
	t.Logf("checkoff serve %v %v; %d connections sending %d MiB bodies (%s) with a wrong signature for %s",
		cfg.serverArgs, cfg.serverEnv, cfg.conns, cfg.size>>20, mode, cfg.duration)
	t.Logf("  attack      %d requests, %.0f MiB handed to the transport: %s", total, float64(res.attackBytes)/(1<<20), strings.Join(answers, ", "))
	t.Logf("  genuine     %d answered 2xx, %d not; latency p50 %s  p99 %s  max %s", res.genuineOK, res.genuineFailed,
		pct(res.genuine, 50), pct(res.genuine, 99), pct(res.genuine, 100))
	t.Logf("  server      %d \"delivery handled\", %d \"webhook rejected\": %s", srv.count("delivery handled"), srv.count("webhook rejected"), srv.rejections())
	t.Logf("  server RSS  peak (VmHWM) %.1f MiB, at end %.1f MiB (limit %.1f MiB = %.0f MB)",
		float64(res.peakRSS)/1024, float64(res.rss)/1024, float64(cfg.maxRSS)/1024, float64(cfg.maxRSS)*1024/1e6)

	if res.peakRSS >= cfg.maxRSS {
		t.Errorf("server peak RSS %.1f MiB (%.0f MB), want under %.0f MB", float64(res.peakRSS)/1024, float64(res.peakRSS)*1024/1e6, float64(cfg.maxRSS)*1024/1e6)
	}
	if res.genuineOK == 0 {
		t.Error("no genuine delivery was answered during the attack")
	}
	if res.genuineFailed > 0 {
		t.Errorf("%d genuine deliveries not answered 2xx during the attack, e.g. %q", res.genuineFailed, res.genuineFailures[:min(5, len(res.genuineFailures))])
	}
	if n := srv.count("handler failed"); n > 0 {
		t.Errorf("%d handler failures:\n%s", n, srv.otherLines())
	}
	if n := res.attacks["200"] + res.attacks["202"]; n > 0 {
		t.Errorf("%d forged requests answered 2xx", n)
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// errorKind names a client error briefly: the server may answer 503 and
// close the connection while a 25 MiB body is still being written.
func errorKind(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "server closed the connection"
	case errors.As(err, &op):
		return op.Op + " " + op.Err.Error()
	}
	return err.Error()
}
