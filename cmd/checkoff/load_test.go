package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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

// TestLoad is the load tool (make load): the real `checkoff serve` with App
// credentials against a loopback fake GitHub that answers after a
// configurable delay, fed signed pull_request deliveries by CONCURRENCY
// clients until N are answered or DURATION passes. It reports throughput,
// server-side latency (the "took" of the server's "delivery handled" log
// lines), client-observed latency, GitHub calls per delivery and the
// server's peak RSS (VmHWM). It fails on any answer other than 200 and on
// any request the fake GitHub would reject, not on the targets, which
// docs/performance.md compares against.
//
// Off unless CHECKOFF_LOAD is set. Knobs (defaults):
//
//	CHECKOFF_LOAD_N            5000    deliveries per run
//	CHECKOFF_LOAD_CONCURRENCY  200     clients sending at once
//	CHECKOFF_LOAD_DURATION     60s     cap per run
//	CHECKOFF_LOAD_LATENCY      0s,20s  fake GitHub delay per request, one run each
//	CHECKOFF_LOAD_PRS          200     pull requests the deliveries spread over
//	CHECKOFF_LOAD_DATA_DIR     (temp)  parent of the file store's directory
//	                                   (/dev/shm takes the disk's fsync out)
//	CHECKOFF_LOAD_RATE         0       deliveries started per second, open
//	                                   loop (0: closed loop, each client sends
//	                                   its next delivery when answered)
//	CHECKOFF_LOAD_SERVER_ENV   ""      extra server variables, comma-separated
//	                                   (e.g. GOMEMLIMIT=24MiB)
//	CHECKOFF_LOAD_SERVER_ARGS  ""      extra serve flags, space-separated
//	                                   (e.g. --max-concurrent=16)
//	CHECKOFF_LOAD_BIN          (built) a checkoff binary to run instead of
//	                                   building this tree's (before/after
//	                                   comparisons under one load generator)
func TestLoad(t *testing.T) {
	if os.Getenv("CHECKOFF_LOAD") == "" {
		t.Skip("load tool: set CHECKOFF_LOAD=1 (make load)")
	}
	cfg := loadRun{
		n:           envInt(t, "CHECKOFF_LOAD_N", 5000),
		concurrency: envInt(t, "CHECKOFF_LOAD_CONCURRENCY", 200),
		duration:    envDuration(t, "CHECKOFF_LOAD_DURATION", 60*time.Second),
		prs:         envInt(t, "CHECKOFF_LOAD_PRS", 200),
		serverEnv:   splitList(os.Getenv("CHECKOFF_LOAD_SERVER_ENV")),
		serverArgs:  strings.Fields(os.Getenv("CHECKOFF_LOAD_SERVER_ARGS")),
	}
	if v := os.Getenv("CHECKOFF_LOAD_RATE"); v != "" && v != "0" {
		cfg.rate = envInt(t, "CHECKOFF_LOAD_RATE", 0)
	}
	latencies := []time.Duration{0, 20 * time.Millisecond}
	if v := os.Getenv("CHECKOFF_LOAD_LATENCY"); v != "" {
		latencies = nil
		for _, f := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil {
				t.Fatalf("CHECKOFF_LOAD_LATENCY: %v", err)
			}
			latencies = append(latencies, d)
		}
	}
	bin := os.Getenv("CHECKOFF_LOAD_BIN")
	if bin == "" {
		bin = buildServer(t, t.TempDir())
	}
	for _, lat := range latencies {
		cfg.latency = lat
		t.Run("github_latency="+lat.String(), func(t *testing.T) { runLoad(t, bin, cfg) })
	}
}

type loadRun struct {
	n, concurrency, prs int
	rate                int // deliveries per second; 0: closed loop
	duration, latency   time.Duration
	serverEnv           []string
	serverArgs          []string
}

const loadSecret = "load-test-webhook-secret"

// loadSteps are what happens to every pull request, in order: opened by
// its author with the author boxes ticked, a reviewer ticking the three
// reviewer boxes one edit at a time, and an edit of the description text
// that changes no box (no GitHub call at all).
var loadBodies = []string{
	"Adds a CSV export.\r\n\r\n## Author Checklist\r\n- [x] Unit tests cover the change\r\n- [x] CHANGELOG.md updated\r\n\r\n## Reviewer Checklist\r\n- [ ] Code is readable\r\n- [ ] Tests exercise the new behaviour\r\n- [ ] Deployment impact understood\r\n",
	"Adds a CSV export.\r\n\r\n## Author Checklist\r\n- [x] Unit tests cover the change\r\n- [x] CHANGELOG.md updated\r\n\r\n## Reviewer Checklist\r\n- [x] Code is readable\r\n- [ ] Tests exercise the new behaviour\r\n- [ ] Deployment impact understood\r\n",
	"Adds a CSV export.\r\n\r\n## Author Checklist\r\n- [x] Unit tests cover the change\r\n- [x] CHANGELOG.md updated\r\n\r\n## Reviewer Checklist\r\n- [x] Code is readable\r\n- [x] Tests exercise the new behaviour\r\n- [ ] Deployment impact understood\r\n",
	"Adds a CSV export.\r\n\r\n## Author Checklist\r\n- [x] Unit tests cover the change\r\n- [x] CHANGELOG.md updated\r\n\r\n## Reviewer Checklist\r\n- [x] Code is readable\r\n- [x] Tests exercise the new behaviour\r\n- [x] Deployment impact understood\r\n",
	"Adds a CSV export of the invoice log.\r\n\r\n## Author Checklist\r\n- [x] Unit tests cover the change\r\n- [x] CHANGELOG.md updated\r\n\r\n## Reviewer Checklist\r\n- [x] Code is readable\r\n- [x] Tests exercise the new behaviour\r\n- [x] Deployment impact understood\r\n",
}

// loadPayloads builds, per pull request, one signed-ready payload per
// step (validated against the webhook schema once each).
func loadPayloads(t *testing.T, gh *githubtest.Server, prs int) [][]byte {
	t.Helper()
	base := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var out [][]byte
	for i := range prs {
		number := 1000 + i
		head := fmt.Sprintf("%040x", 0xc0ffee000+i)
		gh.AddCommit(githubtest.FixtureRepo, githubtest.Commit{SHA: head, Parents: []string{githubtest.FixtureBaseSHA}, Message: fmt.Sprintf("change %d", number)})
		for step, body := range loadBodies {
			name, sender := "pull_request.edited", githubtest.FixtureReviewer
			if step == 0 {
				name, sender = "pull_request.opened", githubtest.FixtureAuthor
			}
			out = append(out, githubtest.Payload(t, name, func(p map[string]any) {
				githubtest.Set(p, "number", number)
				githubtest.Set(p, "pull_request.number", number)
				githubtest.Set(p, "pull_request.id", 1900000000+number)
				githubtest.Set(p, "pull_request.head.sha", head)
				githubtest.Set(p, "pull_request.body", body)
				githubtest.Set(p, "pull_request.updated_at", base.Add(time.Duration(step)*time.Minute).Format(time.RFC3339))
				githubtest.Set(p, "sender.login", sender)
				if step > 0 {
					githubtest.Set(p, "changes", map[string]any{"body": map[string]any{"from": loadBodies[step-1]}})
				}
			}))
		}
	}
	return out
}

// loadBody is delivery j's payload. Deliveries walk every PR through its
// steps: at any moment the clients work on different PRs, mostly at one
// step.
func loadBody(payloads [][]byte, prs, j int) []byte {
	pr, step := j%prs, (j/prs)%len(loadBodies)
	body := payloads[pr*len(loadBodies)+step]
	if cycle := j / len(payloads); cycle > 0 {
		// The ingress remembers handled bodies: a body sent again under a
		// new ID is a replay, answered without handling. Later cycles are
		// new bodies.
		body = append([]byte(fmt.Sprintf(`{"load_cycle":%d,`, cycle)), body[1:]...)
	}
	return body
}

type loadResult struct {
	sent, ok, failed int
	wall             time.Duration
	server, client   []time.Duration
	githubCalls      int
	peakRSS, rss     int64 // KiB
	serverCPU        time.Duration
	handlerErrors    int
	steal            float64 // share of the machine's CPU time the hypervisor took during the run
}

func runLoad(t *testing.T, bin string, cfg loadRun) {
	gh := fixtureGitHub(t)
	gh.SkipResponseValidation() // measure the server, not the fake's self-checks
	gh.SetFile(githubtest.FixtureRepo, githubtest.FixtureBaseBranch, ".github/checkoff.yml", "incomplete_conclusion: failure\n")
	payloads := loadPayloads(t, gh, cfg.prs)
	if cfg.latency > 0 {
		lat := cfg.latency
		gh.SetFault(func(githubtest.Call, *http.Request) *githubtest.Fault { return &githubtest.Fault{Delay: lat} })
	}

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if parent := os.Getenv("CHECKOFF_LOAD_DATA_DIR"); parent != "" {
		d, err := os.MkdirTemp(parent, "checkoff-load-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		data = d
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, cfg.serverArgs...)...)
	cmd.Env = []string{
		"HOME=" + dir, "CHECKOFF_DATA_DIR=" + data, "CHECKOFF_LOG_FORMAT=json",
		"GITHUB_APP_ID=" + strconv.FormatInt(gh.AppID, 10), "GITHUB_PRIVATE_KEY=" + string(gh.PrivateKeyPEM()),
		"GITHUB_WEBHOOK_SECRET=" + loadSecret, "GITHUB_API_URL=" + gh.URL,
	}
	cmd.Env = append(cmd.Env, cfg.serverEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var res loadResult
	logs := make(chan struct{})
	var other bytes.Buffer
	go func() {
		defer close(logs)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Took int64  `json:"took"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				other.Write(sc.Bytes())
				other.WriteByte('\n')
				continue
			}
			switch line.Msg {
			case "delivery handled":
				res.server = append(res.server, time.Duration(line.Took))
			case "handler failed":
				res.handlerErrors++
				other.Write(sc.Bytes())
				other.WriteByte('\n')
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: cfg.concurrency, MaxIdleConnsPerHost: cfg.concurrency, IdleConnTimeout: time.Minute,
	}}
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := client.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkoff serve did not come up:\n%s", other.String())
		}
	}
	gh.ResetCalls()

	// GitHub signs deliveries on its own machines: the signatures are
	// computed before the clock starts, so the load generator's share of
	// the 2 cores is its HTTP work, not 5,000 HMACs over 24 KB.
	sigs := make([]string, cfg.n)
	for j := range sigs {
		sigs[j] = signature(loadSecret, loadBody(payloads, cfg.prs, j))
	}

	steal0, total0 := cpuSteal()
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Open loop: a ticker hands out the delivery numbers at cfg.rate and
	// the clients take them; with every client busy, deliveries queue here
	// (counted in the client latency, as GitHub's would be).
	var tickets chan int
	start := time.Now()
	stop := start.Add(cfg.duration)
	if cfg.rate > 0 {
		tickets = make(chan int, cfg.n)
		go func() {
			defer close(tickets)
			every := time.Second / time.Duration(cfg.rate)
			for j := 0; j < cfg.n && time.Now().Before(stop); j++ {
				if d := time.Until(start.Add(time.Duration(j) * every)); d > 0 {
					time.Sleep(d)
				}
				tickets <- j
			}
		}()
	}
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var ok, failed int
			for {
				j := int(next.Add(1)) - 1
				if tickets != nil {
					var open bool
					if j, open = <-tickets; !open {
						break
					}
				}
				if j >= cfg.n || time.Now().After(stop) {
					break
				}
				body := loadBody(payloads, cfg.prs, j)
				req, _ := http.NewRequest(http.MethodPost, base+"/webhook", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "GitHub-Hookshot/load")
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("load-%d-%d", cfg.latency.Milliseconds(), j))
				req.Header.Set("X-Hub-Signature-256", sigs[j])
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed++
					t.Errorf("delivery %d: %v", j, err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					failed++
					t.Errorf("delivery %d: status %d", j, resp.StatusCode)
					continue
				}
				ok++
			}
			mu.Lock()
			res.client = append(res.client, lat...)
			res.ok += ok
			res.failed += failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	if steal1, total1 := cpuSteal(); total1 > total0 {
		res.steal = float64(steal1-steal0) / float64(total1-total0)
	}
	res.sent = res.ok + res.failed
	res.peakRSS, res.rss = procMemory(t, cmd.Process.Pid)
	res.serverCPU = procCPU(t, cmd.Process.Pid)
	res.githubCalls = len(gh.Calls())

	// Stop the server and read the rest of its log.
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		exited <- nil
	case <-time.After(15 * time.Second):
		t.Error("checkoff serve did not stop on SIGTERM within 15s")
	}
	<-logs
	if res.handlerErrors > 0 {
		t.Errorf("%d handler failures:\n%s", res.handlerErrors, other.String())
	}
	if len(res.server) != res.ok {
		t.Errorf("%d \"delivery handled\" log lines for %d answered deliveries", len(res.server), res.ok)
	}
	report(t, cfg, res)
}

func report(t *testing.T, cfg loadRun, r loadResult) {
	slices.Sort(r.server)
	slices.Sort(r.client)
	mode := "closed loop"
	if cfg.rate > 0 {
		mode = fmt.Sprintf("open loop at %d/s", cfg.rate)
	}
	t.Logf("checkoff serve %v, %d concurrent clients (%s), fake GitHub latency %s, %d PRs %v", cfg.serverArgs, cfg.concurrency, mode, cfg.latency, cfg.prs, cfg.serverEnv)
	t.Logf("  deliveries   %d answered 200, %d failed, in %s: %.0f deliveries/s", r.ok, r.failed, r.wall.Round(time.Millisecond), float64(r.ok)/r.wall.Seconds())
	t.Logf("  server-side  p50 %s  p90 %s  p99 %s  max %s", pct(r.server, 50), pct(r.server, 90), pct(r.server, 99), pct(r.server, 100))
	t.Logf("  client       p50 %s  p90 %s  p99 %s  max %s", pct(r.client, 50), pct(r.client, 90), pct(r.client, 99), pct(r.client, 100))
	t.Logf("  GitHub calls %d (%.2f per delivery)", r.githubCalls, float64(r.githubCalls)/float64(max(r.ok, 1)))
	t.Logf("  server RSS   peak (VmHWM) %.1f MB, at end %.1f MB", float64(r.peakRSS)/1024, float64(r.rss)/1024)
	t.Logf("  server CPU   %s user+system, %.2f ms per delivery", r.serverCPU, float64(r.serverCPU)/float64(time.Millisecond)/float64(max(r.ok, 1)))
	t.Logf("  machine      %.0f%% of CPU time stolen by the hypervisor during the run", 100*r.steal)
	if p := pct(r.server, 99); cfg.rate == 0 && cfg.concurrency >= 200 && p >= 5*time.Millisecond {
		t.Logf("  target missed: server-side p99 %s, target under 5ms at 200 concurrent deliveries", p)
	}
	if r.peakRSS >= 40*1024 {
		t.Logf("  target missed: peak RSS %.1f MB, target under 40 MB", float64(r.peakRSS)/1024)
	}
}

// pct is the p-th percentile of sorted durations (nearest rank).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	i = min(max(i, 1), len(sorted))
	return sorted[i-1].Round(10 * time.Microsecond)
}

// procMemory reads VmHWM (peak resident set) and VmRSS of a process, in KiB.
func procMemory(t *testing.T, pid int) (hwm, rss int64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Logf("peak RSS unavailable: %v", err)
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss
}

// cpuSteal reads the machine's steal and total CPU time from /proc/stat, in
// clock ticks: on a shared VM, time the hypervisor gives to others slows
// every process here alike, and a run's figures mean little without it.
func cpuSteal() (steal, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i < 8 {
			total += n
		}
		if i == 7 {
			steal = n
		}
	}
	return steal, total
}

// procCPU reads a process's user+system CPU time from /proc/PID/stat
// (clock ticks of 10 ms on Linux).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Logf("server CPU unavailable: %v", err)
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// the 14th and 15th of the whole line.
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration", name, v)
	}
	return d
}
