package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// dryRunJSON sends the walkthrough through a dry-run runtime and returns
// what app.DryRun printed: one JSON line per check run.
func dryRunJSON(t *testing.T, edit func(p map[string]any)) []byte {
	t.Helper()
	var printed bytes.Buffer
	rt, err := buildFromEnv(context.Background(), map[string]string{"CHECKOFF_DATA_DIR": t.TempDir()}, runtimeOptions{
		dryOut: &printed, logger: slog.New(slog.DiscardHandler), writers: []string{githubtest.FixtureReviewer},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.closeStore()
	for i, file := range walkthroughFiles[:2] {
		body := mustRead(t, "testdata/walkthrough/"+file)
		if edit != nil {
			var p map[string]any
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			edit(p)
			body, _ = json.Marshal(p)
		}
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "text-"+string(rune('a'+i)))
		req.Header.Set("X-Hub-Signature-256", signature(devSecret, body))
		w := httptest.NewRecorder()
		rt.dispatcher.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", file, w.Code, w.Body)
		}
	}
	return printed.Bytes()
}

// TestDryRunText: dry-run's check runs read as text (name, commit,
// conclusion, title, summary), however the JSON lines arrive in writes.
func TestDryRunText(t *testing.T) {
	lines := dryRunJSON(t, nil)
	var whole bytes.Buffer
	w := newCheckRunText(&whole)
	if _, err := w.Write(lines); err != nil {
		t.Fatal(err)
	}
	compareGolden(t, filepath.Join("testdata", "dryrun", "walkthrough.golden"), whole.Bytes())

	// Byte by byte, as a slow writer would: the same text.
	var split bytes.Buffer
	w = newCheckRunText(&split)
	for i := range lines {
		if _, err := w.Write(lines[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if split.String() != whole.String() {
		t.Errorf("written a byte at a time:\n%s\nwant\n%s", split.String(), whole.String())
	}
}

// TestDryRunTextPassesOtherLines: a line that is not a check run is
// printed as it came, never dropped.
func TestDryRunTextPassesOtherLines(t *testing.T) {
	var out bytes.Buffer
	io.WriteString(newCheckRunText(&out), "not json\n{\"dry_run\":\"GET /x\"}\n")
	if got := out.String(); got != "not json\n{\"dry_run\":\"GET /x\"}\n" {
		t.Errorf("got %q", got)
	}
}

// TestDryRunTextTerminalInjection: the text quotes pull-request content
// (anyone can send it to a dry-run server with the public secret), and a
// terminal must not act on it: escape sequences, other control characters
// and bidirectional overrides are replaced. The JSON line escapes them
// itself.
func TestDryRunTextTerminalInjection(t *testing.T) {
	const evil = "\x1b]0;owned\x07\x1b[2J\u202eexe.txt\u202c\x9b31m"
	lines := dryRunJSON(t, func(p map[string]any) {
		pr := p["pull_request"].(map[string]any)
		pr["body"] = strings.Replace(pr["body"].(string), "Do the changes implement the correct feature?", "Do the changes implement the correct feature? "+evil, 1)
	})
	if !bytes.Contains(lines, []byte(`\u001b`)) || !bytes.Contains(lines, []byte("]0;owned")) {
		t.Fatalf("the hostile item did not reach the summary; JSON lines:\n%s", lines)
	}
	var out bytes.Buffer
	newCheckRunText(&out).Write(lines)
	text := out.String()
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\u202c", "\x9b"} {
		if strings.Contains(text, bad) {
			t.Errorf("text holds %q:\n%q", bad, text)
		}
	}
	if !strings.Contains(text, "]0;owned") || !strings.Contains(text, "\ufffd") {
		t.Errorf("the hostile text is not shown, replaced:\n%s", text)
	}
}

// TestServeDryRunOutput: serve prints check runs as text by default and
// as the JSON lines with --json, and says what to do next at start.
func TestServeDryRunOutput(t *testing.T) {
	body := mustRead(t, "testdata/walkthrough/1-opened.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, `── check run "Author Checklist" on acme/invoice-log-api@3f5a9d2c1b7e: SUCCESS`},
		{[]string{"--json"}, `{"dry_run":"POST /repos/acme/invoice-log-api/check-runs","body":{"name":"Author Checklist"`},
	} {
		dir := t.TempDir()
		s := serveInProcess(t, map[string]string{"CHECKOFF_DATA_DIR": dir}, append([]string{"--writers", "bob-reviews"}, tc.args...)...)
		var out, errOut bytes.Buffer
		if code := run([]string{"send", "--url", "http://" + s.addr + "/webhook", "pull_request", "-"}, bytes.NewReader(body), &out, &errOut); code != exitOK {
			t.Fatalf("send: %d %s%s", code, out.String(), errOut.String())
		}
		eventually(t, "the check runs are printed", func() bool { return strings.Count(s.stdout.String(), "Checklist") >= 2 })
		if !strings.Contains(s.stdout.String(), tc.want) {
			t.Errorf("serve %v printed:\n%s\nwant a line starting %q", tc.args, s.stdout, tc.want)
		}
		if code := s.stop(t); code != exitOK {
			t.Fatalf("serve exited %d", code)
		}
		steps := s.stderr.String()
		steps = steps[strings.Index(steps, "\n\ncheckoff is running dry-run"):]
		steps = steps[:strings.Index(steps, "to repeat it\n")+len("to repeat it\n")]
		steps = strings.NewReplacer(s.addr, "ADDR", dir, "DIR").Replace(steps)
		compareGolden(t, filepath.Join("testdata", "dryrun", "next-steps.golden"), []byte(steps))
	}
}
