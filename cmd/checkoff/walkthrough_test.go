package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// TestWalkthrough runs the README's local trial: `checkoff serve` in
// dry-run (here its runtime behind httptest) and `checkoff send` with the
// three walkthrough deliveries, and checks the check runs it prints.
func TestWalkthrough(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CHECKOFF_DATA_DIR": dir}
	var printed bytes.Buffer
	rt, err := buildFromEnv(context.Background(), env, runtimeOptions{
		dryOut:  &printed,
		logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		writers: []string{"bob-reviews"}, // as `make run` passes
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rt.dryRun {
		t.Fatal("runtime without credentials is not dry-run")
	}
	srv := httptest.NewServer(rt.dispatcher)
	defer srv.Close()

	send := func(file string) []github.CreateCheckRunOptions {
		t.Helper()
		printed.Reset()
		path := "testdata/walkthrough/" + file
		githubtest.ValidateWebhook(t, "pull_request", mustRead(t, path))
		var out, errOut bytes.Buffer
		if code := run([]string{"send", "--url", srv.URL + "/webhook", "pull_request", path}, nil, &out, &errOut); code != exitOK {
			t.Fatalf("send %s: exit %d: %s%s", file, code, out.String(), errOut.String())
		}
		var runs []github.CreateCheckRunOptions
		for _, line := range strings.Split(strings.TrimSpace(printed.String()), "\n") {
			if line == "" {
				continue
			}
			var l struct {
				DryRun string                       `json:"dry_run"`
				Body   github.CreateCheckRunOptions `json:"body"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("dry-run line %q: %v", line, err)
			}
			if l.DryRun != "POST /repos/acme/invoice-log-api/check-runs" {
				t.Errorf("dry-run request = %q", l.DryRun)
			}
			runs = append(runs, l.Body)
		}
		return runs
	}
	byName := func(runs []github.CreateCheckRunOptions) map[string]github.CreateCheckRunOptions {
		m := map[string]github.CreateCheckRunOptions{}
		for _, r := range runs {
			m[r.Name] = r
		}
		return m
	}

	// 1. The author opens the PR with the Author Checklist ticked.
	runs := byName(send("1-opened.json"))
	if r := runs["Author Checklist"]; r.GetConclusion() != "success" || r.Output.GetTitle() != "Author Checklist: 4 of 4 ticked" {
		t.Errorf("after opening, Author Checklist = %s %q", r.GetConclusion(), r.Output.GetTitle())
	}
	if r := runs["Reviewer Checklist"]; r.GetConclusion() != "failure" || r.Output.GetTitle() != "Reviewer Checklist: 0 of 4 ticked" {
		t.Errorf("after opening, Reviewer Checklist = %s %q", r.GetConclusion(), r.Output.GetTitle())
	}

	// 2. bob, a writer, ticks the Reviewer Checklist.
	runs = byName(send("2-reviewer-ticks.json"))
	r := runs["Reviewer Checklist"]
	if r.GetConclusion() != "success" || r.Output.GetTitle() != "Reviewer Checklist: 4 of 4 ticked" {
		t.Errorf("after review ticks, Reviewer Checklist = %s %q\n%s", r.GetConclusion(), r.Output.GetTitle(), r.Output.GetSummary())
	}
	if !strings.Contains(r.Output.GetSummary(), "ticked by @bob-reviews") {
		t.Errorf("summary does not say who ticked:\n%s", r.Output.GetSummary())
	}

	// 3. The merge records a complete verdict for the release gate.
	if runs := send("3-merged.json"); len(runs) != 0 {
		t.Errorf("a merge posted %d check runs, want none", len(runs))
	}
	rt.closeStore()
	st, err := store.OpenSQLite(filepath.Join(dir, store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := verdict.Get(context.Background(), st, "acme", "invoice-log-api", githubtest.FixtureMergeSHA)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Complete || v.PR != 12 || len(v.Reviewers) != 1 || v.Reviewers[0] != "bob-reviews" {
		t.Errorf("verdict = %+v, want complete #12 reviewed by bob-reviews", v)
	}
}

// TestReadmeDryRunDirectories keeps the README's account of where dry-run
// and credentialed runs keep their records in step with the code.
func TestReadmeDryRunDirectories(t *testing.T) {
	readme := string(mustRead(t, "../../README.md"))
	for _, want := range []string{
		"records ticks in `" + filepath.ToSlash(dryRunDataDir) + "/`",
		"writes a `" + dryRunMarker + "` marker",
		"(default `" + defaultDataDir + "/`; dry-run: `" + filepath.ToSlash(dryRunDataDir) + "/`)",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
