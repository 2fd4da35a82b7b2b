package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// The cold-start test runs the real `bootstrap` (built like `make lambda`,
// for the host's architecture) under a Lambda Runtime API emulator, with
// the ledger in dynalite and GitHub faked on loopback: what Lambda does at
// a cold start, minus the sandbox.

const (
	coldSecret    = "cold-start-webhook-secret"
	coldTable     = "checkoff-coldstart"
	runtimePrefix = "/2018-06-01/runtime/"
	functionARN   = "arn:aws:lambda:eu-west-1:123456789012:function:checkoff"
)

// buildBootstrap builds cmd/checkoff as `make lambda` does (static, no RPC
// mode, stripped) for goarch into dir and returns the binary's path.
func buildBootstrap(t testing.TB, dir, goarch string) string {
	t.Helper()
	return buildBinary(t, dir, goarch, "lambda.norpc,nosqlite")
}

// buildServer builds checkoff as `serve` runs on a machine: with SQLite.
func buildServer(t testing.TB, dir string) string {
	t.Helper()
	return buildBinary(t, dir, goruntime.GOARCH, "")
}

func buildBinary(t testing.TB, dir, goarch, tags string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(goruntime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command(goBin, "build", "-trimpath", "-tags", tags, "-ldflags=-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build (GOARCH=%s): %v\n%s", goarch, err, msg)
	}
	return out
}

// zipArtifact packs bootstrap and the release config like `make lambda`
// (zip -X -D, deflate at the highest level) and returns the zip's size.
func zipArtifact(t testing.TB, bootstrap, releases, out string) int64 {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, file := range []struct {
		path, name string
		mode       os.FileMode
	}{{bootstrap, "bootstrap", 0o755}, {releases, "releases.yml", 0o644}} {
		data, err := os.ReadFile(file.path)
		if err != nil {
			t.Fatal(err)
		}
		h := &zip.FileHeader{Name: file.name, Method: zip.Deflate, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		h.SetMode(file.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// moduleRoot finds the directory holding go.mod above the working
// directory.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// startDynalite starts npm dynalite on a free loopback port for one test
// and returns its endpoint. Without node or dynalite the test is skipped,
// unless CI is set. (A copy of app/store's helper: test code is not
// importable.)
func startDynalite(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed")
	}
	cli := filepath.Join(moduleRoot(t), "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		skipOrFail(t, fmt.Sprintf("dynalite is not installed (%v); run npm ci", err))
	}
	var last error
	for range 3 { // the probed port may be taken before node binds it
		endpoint, err := launchDynalite(t, node, cli)
		if err == nil {
			return endpoint
		}
		last = err
	}
	t.Fatal(last)
	return ""
}

func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", why)
	}
	t.Skip(why)
}

func launchDynalite(t testing.TB, node, cli string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start dynalite: %w", err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening") {
				ready <- true
				io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			return "", fmt.Errorf("dynalite exited before listening: %s", stderr.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return "", fmt.Errorf("dynalite did not listen within 15s: %s", stderr.String())
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// createLedgerTable creates the ledger table with serverless.yml's key
// schema (pk, sk: strings).
func createLedgerTable(t testing.TB, endpoint string) {
	t.Helper()
	client := dynamodb.New(dynamodb.Options{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDCOLDSTART", "cold-start-secret", ""),
		BaseEndpoint: aws.String(endpoint),
	})
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: aws.String(coldTable),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
}

// runtimeAPI emulates the Lambda Runtime API (2018-06-01) for one
// function instance: invocations queued with invoke are handed out by
// GET .../invocation/next; the function's answers arrive on .../response
// or .../error, and an init failure on .../init/error. Anything else the
// runtime sends fails the test.
type runtimeAPI struct {
	t    testing.TB
	srv  *httptest.Server
	next chan *invocation
	done chan struct{}

	mu        sync.Mutex
	seq       int
	pending   map[string]*invocation
	firstNext time.Time // when the runtime first asked for work: init is over
	initErr   chan runtimeError
}

type invocation struct {
	id       string
	payload  []byte
	answered chan struct{}
	response []byte
	err      *runtimeError
	at       time.Time // when the answer arrived
}

// runtimeError is what a runtime posts to .../error and .../init/error.
type runtimeError struct {
	Type    string // Lambda-Runtime-Function-Error-Type header
	Message string `json:"errorMessage"`
	Kind    string `json:"errorType"`
}

func newRuntimeAPI(t testing.TB) *runtimeAPI {
	api := &runtimeAPI{
		t: t, next: make(chan *invocation, 16), done: make(chan struct{}),
		pending: map[string]*invocation{}, initErr: make(chan runtimeError, 1),
	}
	api.srv = httptest.NewServer(http.HandlerFunc(api.serve))
	t.Cleanup(func() {
		close(api.done)
		api.srv.Close()
	})
	return api
}

// addr is the AWS_LAMBDA_RUNTIME_API value: host:port, no scheme.
func (api *runtimeAPI) addr() string { return strings.TrimPrefix(api.srv.URL, "http://") }

// queue adds an invocation; the runtime gets it on its next GET .../next.
func (api *runtimeAPI) queue(payload []byte) *invocation {
	api.mu.Lock()
	api.seq++
	inv := &invocation{id: fmt.Sprintf("8476a536-e9f4-11e8-9739-2dfe598c%04d", api.seq), payload: payload, answered: make(chan struct{})}
	api.pending[inv.id] = inv
	api.mu.Unlock()
	api.next <- inv
	return inv
}

// wait waits for the invocation's answer.
func (api *runtimeAPI) wait(inv *invocation, timeout time.Duration) error {
	select {
	case <-inv.answered:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("invocation %s not answered within %s", inv.id, timeout)
	}
}

func (api *runtimeAPI) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, runtimePrefix)
	if !ok {
		api.t.Errorf("runtime API: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	switch {
	case path == "invocation/next" && r.Method == http.MethodGet:
		api.mu.Lock()
		if api.firstNext.IsZero() {
			api.firstNext = time.Now()
		}
		api.mu.Unlock()
		select {
		case inv := <-api.next:
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", functionARN)
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
			h.Set("Content-Type", "application/json")
			w.Write(inv.payload)
		case <-r.Context().Done(): // the function instance went away
		case <-api.done:
		}
	case path == "init/error" && r.Method == http.MethodPost:
		e := api.readError(r)
		select {
		case api.initErr <- e:
		default:
			api.t.Errorf("runtime API: init error posted twice: %+v", e)
		}
		accepted(w)
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		api.mu.Lock()
		inv, ok := api.pending[id]
		delete(api.pending, id)
		api.mu.Unlock()
		if !ok {
			api.t.Errorf("runtime API: answer for unknown or answered invocation %q", id)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch kind {
		case "response":
			inv.response, _ = io.ReadAll(r.Body)
		case "error":
			e := api.readError(r)
			inv.err = &e
		default:
			api.t.Errorf("runtime API: unexpected POST %s", r.URL.Path)
		}
		inv.at = time.Now()
		close(inv.answered)
		accepted(w)
	default:
		api.t.Errorf("runtime API: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

func (api *runtimeAPI) readError(r *http.Request) runtimeError {
	var e runtimeError
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &e); err != nil {
		api.t.Errorf("runtime API: error body is not JSON: %q", body)
	}
	e.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	return e
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

// httpAPIEvent is an API Gateway HTTP API (payload 2.0) request carrying a
// signed webhook delivery, as the $default stage passes it.
func httpAPIEvent(t testing.TB, secret, event, delivery string, body []byte) []byte {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "POST /webhook",
		RawPath:  "/webhook",
		Headers: map[string]string{
			"content-type":        "application/json",
			"user-agent":          "GitHub-Hookshot/044aadd",
			"x-github-event":      event,
			"x-github-delivery":   delivery,
			"x-hub-signature-256": signature(secret, body),
			"content-length":      strconv.Itoa(len(body)),
			"host":                "abc123.execute-api.eu-west-1.amazonaws.com",
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", APIID: "abc123", Stage: "$default", RequestID: "JKJaXmPLvHcESHA=",
			DomainName: "abc123.execute-api.eu-west-1.amazonaws.com", TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "POST", Path: "/webhook", Protocol: "HTTP/1.1", SourceIP: "140.82.115.10", UserAgent: "GitHub-Hookshot/044aadd",
			},
		},
		Body: string(body),
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func signature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// fixtureGitHub is a fake GitHub matching the webhook fixtures: the
// installation on acme/invoice-log-api and pull request #12.
func fixtureGitHub(t testing.TB) *githubtest.Server {
	gh := githubtest.New(t)
	gh.AddRepo(githubtest.Repo{FullName: githubtest.FixtureRepo, ID: githubtest.FixtureRepoID, DefaultBranch: "master", Installation: githubtest.FixtureInstallation})
	gh.AddCommit(githubtest.FixtureRepo, githubtest.Commit{SHA: githubtest.FixtureBaseSHA, Message: "base"})
	gh.AddCommit(githubtest.FixtureRepo, githubtest.Commit{SHA: githubtest.FixtureHeadSHA, Parents: []string{githubtest.FixtureBaseSHA}, Message: "export invoices as CSV"})
	gh.SetBranch(githubtest.FixtureRepo, githubtest.FixtureBaseBranch, githubtest.FixtureBaseSHA)
	gh.SetPull(githubtest.FixtureRepo, githubtest.PullRequest{
		Number: githubtest.FixturePull, User: githubtest.FixtureAuthor, BaseRef: githubtest.FixtureBaseBranch,
		BaseSHA: githubtest.FixtureBaseSHA, HeadSHA: githubtest.FixtureHeadSHA,
	})
	gh.SetPermission(githubtest.FixtureRepo, githubtest.FixtureReviewer, "write")
	return gh
}

// lambdaInstance is one started bootstrap process.
type lambdaInstance struct {
	cmd     *exec.Cmd
	started time.Time
	stderr  *lockedBuffer
	exited  chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// coldEnv is the function's environment: what serverless.yml sets, with
// the secrets as plain variables, AWS pointed at dynalite and GitHub at
// the fake. Nothing is inherited from the test's own environment.
func coldEnv(api *runtimeAPI, gh *githubtest.Server, dynamo, releases, home string) map[string]string {
	return map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          api.addr(),
		"AWS_LAMBDA_FUNCTION_NAME":        "checkoff",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_ACCESS_KEY_ID":               "AKIDCOLDSTART",
		"AWS_SECRET_ACCESS_KEY":           "cold-start-secret",
		"AWS_SESSION_TOKEN":               "cold-start-session",
		"AWS_EC2_METADATA_DISABLED":       "true",
		"AWS_CONFIG_FILE":                 filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE":     filepath.Join(home, "no-aws-credentials"),
		"AWS_ENDPOINT_URL_DYNAMODB":       dynamo,
		"CHECKOFF_TABLE":                  coldTable,
		"CHECKOFF_RELEASES":               releases,
		"GITHUB_APP_ID":                   strconv.FormatInt(gh.AppID, 10),
		"GITHUB_PRIVATE_KEY":              string(gh.PrivateKeyPEM()),
		"GITHUB_WEBHOOK_SECRET":           coldSecret,
		"GITHUB_API_URL":                  gh.URL,
		"HOME":                            home,
		"TZ":                              ":UTC",
	}
}

func startLambda(t testing.TB, bootstrap string, env map[string]string) *lambdaInstance {
	t.Helper()
	cmd := exec.Command(bootstrap)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	l := &lambdaInstance{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = l.stderr, l.stderr
	l.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { l.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-l.exited
	})
	return l
}

// coldStart is what one cold start measured.
type coldStart struct {
	init          time.Duration // process start to the first GET .../next
	firstResponse time.Duration // process start to the first answer (a ping)
	pullRequest   time.Duration // the following pull_request, first token fetch included
}

// coldSetup is the fixed part of a cold start: binary, GitHub, dynalite.
type coldSetup struct {
	bootstrap, releases, home, dynamo string
	gh                                *githubtest.Server
	ssm                               *fakeSSM // nil: secrets in plain variables
	runs                              int      // makes delivery IDs unique across runs
}

func newColdSetup(t testing.TB) *coldSetup {
	t.Helper()
	dir := t.TempDir()
	s := &coldSetup{bootstrap: buildBootstrap(t, dir, goruntime.GOARCH), home: t.TempDir()}
	s.releases = filepath.Join(dir, "releases.yml")
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "contrib", "releases.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.releases, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s.dynamo = startDynalite(t)
	createLedgerTable(t, s.dynamo)
	s.gh = fixtureGitHub(t)
	return s
}

// env is the function's environment; with the fake SSM, the key and the
// webhook secret come from SecureString parameters, as serverless.yml
// configures them.
func (s *coldSetup) env(api *runtimeAPI) map[string]string {
	env := coldEnv(api, s.gh, s.dynamo, s.releases, s.home)
	if s.ssm != nil {
		delete(env, "GITHUB_PRIVATE_KEY")
		delete(env, "GITHUB_WEBHOOK_SECRET")
		env["GITHUB_PRIVATE_KEY_PARAMETER"] = "/checkoff/github-private-key"
		env["GITHUB_WEBHOOK_SECRET_PARAMETER"] = "/checkoff/github-webhook-secret"
		env["AWS_ENDPOINT_URL_SSM"] = s.ssm.srv.URL
	}
	return env
}

// fakeSSM answers AmazonSSM.GetParameters with the App's key and the
// webhook secret as SecureString parameters, and counts calls.
type fakeSSM struct {
	srv   *httptest.Server
	calls atomic.Int32
}

func newFakeSSM(t testing.TB, key []byte) *fakeSSM {
	f := &fakeSSM{}
	values := map[string]string{"/checkoff/github-private-key": string(key), "/checkoff/github-webhook-secret": coldSecret}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		var in struct {
			Names          []string
			WithDecryption bool
		}
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameters" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			t.Errorf("SSM: unexpected request %s %s", r.Header.Get("X-Amz-Target"), r.URL)
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !in.WithDecryption {
			t.Errorf("SSM: GetParameters %+v (%v): want WithDecryption", in, err)
		}
		type param struct{ Name, Type, Value, ARN string }
		out := struct {
			Parameters        []param
			InvalidParameters []string
		}{InvalidParameters: []string{}}
		for _, n := range in.Names {
			v, ok := values[n]
			if !ok {
				out.InvalidParameters = append(out.InvalidParameters, n)
				continue
			}
			out.Parameters = append(out.Parameters, param{Name: n, Type: "SecureString", Value: v, ARN: "arn:aws:ssm:eu-west-1:123456789012:parameter" + n})
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// run starts one function instance with a ping queued, then sends a
// pull_request.opened delivery, and returns what it measured.
func (s *coldSetup) run(t testing.TB) coldStart {
	t.Helper()
	s.runs++
	n := s.runs
	api := newRuntimeAPI(t)
	ping := api.queue(httpAPIEvent(t, coldSecret, "ping", fmt.Sprintf("ping-%d", n), githubtest.Payload(t, "ping", nil)))
	fn := startLambda(t, s.bootstrap, s.env(api))
	if err := api.wait(ping, 20*time.Second); err != nil {
		t.Fatalf("%v; function output:\n%s", err, fn.stderr)
	}
	var m coldStart
	api.mu.Lock()
	m.init = api.firstNext.Sub(fn.started)
	api.mu.Unlock()
	m.firstResponse = ping.at.Sub(fn.started)
	wantStatus(t, ping, http.StatusOK, fn)

	runsBefore := len(s.gh.CheckRuns(githubtest.FixtureRepo))
	// The ledger table outlives the run: the intake remembers handled
	// bodies, so each run sends a body of its own.
	body := githubtest.Payload(t, "pull_request.opened", nil)
	body = append([]byte(fmt.Sprintf(`{"cold_run":%d,`, n)), body[1:]...)
	pr := api.queue(httpAPIEvent(t, coldSecret, "pull_request", fmt.Sprintf("pr-%d", n), body))
	if err := api.wait(pr, 20*time.Second); err != nil {
		t.Fatalf("%v; function output:\n%s", err, fn.stderr)
	}
	m.pullRequest = pr.at.Sub(ping.at)
	wantStatus(t, pr, http.StatusOK, fn)
	if got := len(s.gh.CheckRuns(githubtest.FixtureRepo)) - runsBefore; got != 2 {
		t.Fatalf("pull_request.opened posted %d check runs, want 2 (Author and Reviewer Checklist); function output:\n%s", got, fn.stderr)
	}
	return m
}

func wantStatus(t testing.TB, inv *invocation, want int, fn *lambdaInstance) {
	t.Helper()
	if inv.err != nil {
		t.Fatalf("invocation %s failed: %+v; function output:\n%s", inv.id, *inv.err, fn.stderr)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(inv.response, &resp); err != nil {
		t.Fatalf("response %q: %v", inv.response, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("status %d (%q), want %d; function output:\n%s", resp.StatusCode, resp.Body, want, fn.stderr)
	}
}

// TestColdStart runs the real bootstrap under the Runtime API emulator: a
// signed ping and a signed pull_request.opened are answered 200, the pull
// request's two check runs are on the fake GitHub, and its ledger went to
// DynamoDB (dynalite). Timings are logged; BenchmarkColdStart reports them.
func TestColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap binary")
	}
	s := newColdSetup(t)
	m := s.run(t)
	t.Logf("init %s, first response %s, pull_request (with first token) %s", m.init, m.firstResponse, m.pullRequest)
	if n := s.gh.TokensIssued(); n != 1 {
		t.Errorf("installation tokens issued = %d, want 1", n)
	}
}

// TestColdStartRejectsBadSignature: an invocation with a wrong signature
// is answered 401 through the same code path and touches nothing.
func TestColdStartRejectsBadSignature(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap binary")
	}
	s := newColdSetup(t)
	api := newRuntimeAPI(t)
	bad := api.queue(httpAPIEvent(t, "not-the-secret", "pull_request", "forged-1", githubtest.Payload(t, "pull_request.opened", nil)))
	fn := startLambda(t, s.bootstrap, s.env(api))
	if err := api.wait(bad, 20*time.Second); err != nil {
		t.Fatalf("%v; function output:\n%s", err, fn.stderr)
	}
	wantStatus(t, bad, http.StatusUnauthorized, fn)
	for _, c := range s.gh.Calls() {
		if c.OperationID != "apps/get-authenticated" { // init's bot-login lookup
			t.Errorf("a forged delivery made a GitHub call: %s %s", c.Method, c.Path)
		}
	}
}

// TestLambdaInitError: without CHECKOFF_TABLE the function must not start
// serving; it reports the init failure to the Runtime API
// (POST /runtime/init/error, as the Lambda docs require of custom
// runtimes, so the invocation fails with the message instead of a bare
// "Runtime exited"), says why on stderr, and exits non-zero.
func TestLambdaInitError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap binary")
	}
	dir := t.TempDir()
	bootstrap := buildBootstrap(t, dir, goruntime.GOARCH)
	gh := githubtest.New(t)
	api := newRuntimeAPI(t)
	env := coldEnv(api, gh, "http://127.0.0.1:9", filepath.Join(dir, "releases.yml"), dir)
	delete(env, "CHECKOFF_TABLE")
	delete(env, "CHECKOFF_RELEASES")
	fn := startLambda(t, bootstrap, env)

	var exitErr error
	select {
	case exitErr = <-fn.exited:
		fn.exited <- exitErr // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatalf("function still running without CHECKOFF_TABLE; output:\n%s", fn.stderr)
	}
	var ee *exec.ExitError
	if !errors.As(exitErr, &ee) || ee.ExitCode() == 0 {
		t.Errorf("exit: %v, want a non-zero exit code", exitErr)
	}
	if out := fn.stderr.String(); !strings.Contains(out, "CHECKOFF_TABLE is required") {
		t.Errorf("stderr does not say why:\n%s", out)
	}
	api.mu.Lock()
	asked := !api.firstNext.IsZero()
	api.mu.Unlock()
	if asked {
		t.Error("the function asked for an invocation although init failed")
	}
	select {
	case e := <-api.initErr:
		if !strings.Contains(e.Message, "CHECKOFF_TABLE") || e.Type == "" {
			t.Errorf("init error %+v: want the reason and a Lambda-Runtime-Function-Error-Type", e)
		}
	default:
		t.Error("init failure not reported to the Runtime API (POST /2018-06-01/runtime/init/error)")
	}
}

// BenchmarkColdStart starts a fresh function instance per iteration and
// reports init-ms (process start to the first GET .../next, Lambda's Init
// Duration), first-ms (process start to the first answered invocation, a
// ping) and pr-ms (the next invocation, a pull_request.opened that fetches
// the first installation token and writes the ledger), with the secrets in
// plain variables and, as deployed, in SSM (one GetParameters at init,
// against a loopback fake: AWS adds its round trip). It logs the bootstrap
// and zip sizes for the host architecture and for arm64, the one
// `make lambda` ships.
func BenchmarkColdStart(b *testing.B) {
	s := newColdSetup(b)
	for _, secretsFrom := range []string{"env", "ssm"} {
		b.Run("secrets="+secretsFrom, func(b *testing.B) {
			s.ssm = nil
			if secretsFrom == "ssm" {
				s.ssm = newFakeSSM(b, s.gh.PrivateKeyPEM())
			}
			var total coldStart
			n := 0
			for b.Loop() {
				n++
				m := s.run(b)
				total.init += m.init
				total.firstResponse += m.firstResponse
				total.pullRequest += m.pullRequest
			}
			if s.ssm != nil && int(s.ssm.calls.Load()) != n {
				b.Errorf("%d SSM calls for %d cold starts, want one each", s.ssm.calls.Load(), n)
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(n) / float64(time.Millisecond) }
			b.ReportMetric(ms(total.init), "init-ms")
			b.ReportMetric(ms(total.firstResponse), "first-ms")
			b.ReportMetric(ms(total.pullRequest), "pr-ms")
		})
	}
	s.ssm = nil

	b.StopTimer()
	dir := b.TempDir()
	arm := filepath.Join(dir, "arm64")
	if err := os.Mkdir(arm, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, a := range []struct{ arch, bin string }{{goruntime.GOARCH, s.bootstrap}, {"arm64", buildBootstrap(b, arm, "arm64")}} {
		st, err := os.Stat(a.bin)
		if err != nil {
			b.Fatal(err)
		}
		zipSize := zipArtifact(b, a.bin, s.releases, filepath.Join(filepath.Dir(a.bin), "checkoff-lambda.zip"))
		// Logged: a benchmark with sub-benchmarks reports no metrics of its own.
		b.Logf("%s: bootstrap %d bytes (%.2f MB), zip %d bytes (%.2f MB)", a.arch, st.Size(), float64(st.Size())/1e6, zipSize, float64(zipSize)/1e6)
	}
}

// TestArtifactSize keeps the shipped artifact (arm64) under Lambda-friendly
// size: a zip over 10 MB slows every cold start's code download.
func TestArtifactSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bootstrap binary")
	}
	dir := t.TempDir()
	bin := buildBootstrap(t, dir, "arm64")
	releases := filepath.Join(moduleRoot(t), "contrib", "releases.yml")
	size := zipArtifact(t, bin, releases, filepath.Join(dir, "checkoff-lambda.zip"))
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("arm64 bootstrap %d bytes, zip %d bytes", st.Size(), size)
	if size >= 10<<20 {
		t.Errorf("zip is %.2f MiB, target under 10 MiB", float64(size)/(1<<20))
	}
}
