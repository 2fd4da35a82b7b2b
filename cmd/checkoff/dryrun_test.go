package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// Dry-run accepts the public webhook secret checkoff-dev, so anyone who can
// reach a dry-run server can write any tick and any merge verdict into its
// store. Those records must never be read by a run with App credentials,
// which would post checks and approve releases from them (issue 9,
// item 10).

// buildErr builds the runtime from env and returns the error; a runtime
// that builds is closed at once.
func buildErr(t *testing.T, env map[string]string) error {
	t.Helper()
	rt, err := buildFromEnv(context.Background(), env, runtimeOptions{
		logger: slog.New(slog.DiscardHandler),
		dryOut: io.Discard,
	})
	if err == nil {
		rt.closeStore()
	}
	return err
}

// dryRunEnv is `make run`'s environment, with the data directory dir ("":
// the default).
func dryRunEnv(dir string) map[string]string {
	env := map[string]string{}
	if dir != "" {
		env["CHECKOFF_DATA_DIR"] = dir
	}
	return env
}

// walkthroughFiles are the deliveries of the README's local trial.
var walkthroughFiles = []string{"1-opened.json", "2-reviewer-ticks.json", "3-merged.json"}

// readWalkthrough reads them (before a test leaves the package directory).
func readWalkthrough(t *testing.T) [][]byte {
	var out [][]byte
	for _, file := range walkthroughFiles {
		out = append(out, mustRead(t, "testdata/walkthrough/"+file))
	}
	return out
}

// forgeMergedVerdict is the attack: a complete verdict for a merge nobody
// reviewed, sent to a dry-run server signed with the public dev secret.
func forgeMergedVerdict(t *testing.T, rt *runtime, payloads [][]byte) {
	t.Helper()
	if !rt.dryRun {
		t.Fatal("runtime is not dry-run")
	}
	for i, body := range payloads {
		file := walkthroughFiles[i]
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "GitHub-Hookshot/test")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "forged-"+file)
		req.Header.Set("X-Hub-Signature-256", signature(devSecret, body))
		w := httptest.NewRecorder()
		rt.dispatcher.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", file, w.Code, w.Body)
		}
	}
}

// TestDryRunStoreRefusedWithCredentials: a credentialed run pointed at a
// data directory a dry-run wrote refuses to start, with an error that says
// why, and `checkoff serve` exits non-zero; the forged verdict there is
// never read.
func TestDryRunStoreRefusedWithCredentials(t *testing.T) {
	dir := t.TempDir()
	rt, _ := buildWith(t, dryRunEnv(dir))
	forgeMergedVerdict(t, rt, readWalkthrough(t))
	if err := rt.closeStore(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, dryRunMarker)); err != nil {
		t.Fatalf("dry-run left no marker in its data directory: %v", err)
	}

	gh := fixtureGitHub(t)
	env := credEnv(t, gh)
	env["CHECKOFF_BOT_LOGIN"] = "checkoff[bot]"
	env["CHECKOFF_DATA_DIR"] = dir
	err := buildErr(t, env)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "dry-run") {
		t.Fatalf("credentialed runtime on a dry-run store: err = %v, want a refusal naming %s and dry-run", err, dir)
	}

	// The command itself: serve exits with a usage error before listening.
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Setenv("PORT", "0")
	var out, errOut bytes.Buffer
	if code := run([]string{"serve", "--addr", "127.0.0.1:0"}, nil, &out, &errOut); code == exitOK {
		t.Fatalf("serve on a dry-run store exited %d; stderr:\n%s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "dry-run") || strings.Contains(errOut.String(), "checkoff listening") {
		t.Errorf("serve stderr = %q, want the dry-run refusal", errOut.String())
	}
	if n := len(gh.Calls()); n != 0 {
		t.Errorf("GitHub was called %d times by a runtime that refused to start", n)
	}
}

// TestDryRunUsesItsOwnDirectory: with no CHECKOFF_DATA_DIR, dry-run
// writes under .checkoff/dry-run and a credentialed run under .checkoff,
// so the two never meet; the credentialed run starts and finds no verdict.
func TestDryRunUsesItsOwnDirectory(t *testing.T) {
	payloads := readWalkthrough(t)
	t.Chdir(t.TempDir())
	rt, _ := buildWith(t, dryRunEnv(""))
	forgeMergedVerdict(t, rt, payloads)
	if err := rt.closeStore(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(".checkoff", "dry-run", dryRunMarker)); err != nil {
		t.Fatalf("dry-run did not write its marker in .checkoff/dry-run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(".checkoff", dryRunMarker)); err == nil {
		t.Fatal("dry-run marked the credentialed default directory")
	}

	gh := fixtureGitHub(t)
	env := credEnv(t, gh)
	env["CHECKOFF_BOT_LOGIN"] = "checkoff[bot]"
	delete(env, "CHECKOFF_DATA_DIR")
	cred, _ := buildWith(t, env)
	if cred.dryRun {
		t.Fatal("runtime with credentials is dry-run")
	}
	_, err := verdict.Get(context.Background(), cred.store, "acme", "invoice-log-api", githubtest.FixtureMergeSHA)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("credentialed run reads the dry-run verdict: %v", err)
	}
}

// TestDryRunRefusesCredentialedStore: dry-run pointed at a directory a
// credentialed run uses refuses to start and changes nothing there, so
// the credentialed run keeps working (a mistyped CHECKOFF_DATA_DIR must
// not take production down, nor feed it forged records).
func TestDryRunRefusesCredentialedStore(t *testing.T) {
	gh := fixtureGitHub(t)
	env := credEnv(t, gh)
	env["CHECKOFF_BOT_LOGIN"] = "checkoff[bot]"
	dir := env["CHECKOFF_DATA_DIR"]
	cred, _ := buildWith(t, env)
	if w := deliverAs(t, cred, "d-1", githubtest.FixtureAuthor); w.Code != http.StatusOK {
		t.Fatalf("credentialed delivery: %d %s", w.Code, w.Body)
	}
	if err := cred.closeStore(); err != nil {
		t.Fatal(err)
	}
	before := listTree(t, dir)

	err := buildErr(t, dryRunEnv(dir))
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("dry-run on a credentialed store: err = %v, want a refusal naming %s", err, dir)
	}
	if after := listTree(t, dir); after != before {
		t.Errorf("the refused dry-run changed the directory:\nbefore\n%s\nafter\n%s", before, after)
	}
	if err := buildErr(t, env); err != nil {
		t.Errorf("credentialed run after the refused dry-run: %v", err)
	}
}

// TestDryRunDataDirCases covers the remaining directory states.
func TestDryRunDataDirCases(t *testing.T) {
	gh := fixtureGitHub(t)
	cred := func(dir string) map[string]string {
		env := credEnv(t, gh)
		env["CHECKOFF_BOT_LOGIN"] = "checkoff[bot]"
		env["CHECKOFF_DATA_DIR"] = dir
		return env
	}
	tests := map[string]struct {
		prepare func(dir string)
		env     func(dir string) map[string]string
		refused string // "" when the runtime must build
	}{
		"dry-run, directory absent": {
			prepare: func(dir string) { os.Remove(dir) },
			env:     dryRunEnv,
		},
		"dry-run, empty directory": {
			env: dryRunEnv,
		},
		"dry-run, its own directory again": {
			prepare: func(dir string) { os.WriteFile(filepath.Join(dir, dryRunMarker), nil, 0o600) },
			env:     dryRunEnv,
		},
		"dry-run, directory holding a file": {
			prepare: func(dir string) { os.WriteFile(filepath.Join(dir, "deliveries.log"), []byte("x"), 0o600) },
			env:     dryRunEnv,
			refused: "not written by a dry-run",
		},
		"credentials, empty directory": {
			env: cred,
		},
		"credentials, marker only": {
			prepare: func(dir string) { os.WriteFile(filepath.Join(dir, dryRunMarker), nil, 0o600) },
			env:     cred,
			refused: "dry-run",
		},
		"credentials, marker is a directory": {
			prepare: func(dir string) { os.Mkdir(filepath.Join(dir, dryRunMarker), 0o700) },
			env:     cred,
			refused: "dry-run",
		},
		"dry-run with a DynamoDB table": {
			env: func(dir string) map[string]string {
				return map[string]string{"CHECKOFF_DATA_DIR": dir, "CHECKOFF_TABLE": "checkoff-ledger"}
			},
			refused: "CHECKOFF_TABLE",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.prepare != nil {
				tc.prepare(dir)
			}
			err := buildErr(t, tc.env(dir))
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("buildRuntime: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("buildRuntime: err = %v, want a refusal mentioning %q", err, tc.refused)
			}
		})
	}
}

// listTree lists every file under dir with its size, one per line.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b.WriteString(rel + " " + strconv.FormatInt(info.Size(), 10) + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
