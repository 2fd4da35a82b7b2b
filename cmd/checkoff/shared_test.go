package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/checkoff-app/checkoff/internal/githubtest"
	"github.com/checkoff-app/checkoff/internal/pipelinetest"
)

// postDelivery posts a signed pull_request.opened to a running serve.
// updated sets the PR's updated_at, so bodies differ: the intake treats a
// body it handled before as a replay, whatever its delivery ID.
func postDelivery(t *testing.T, addr, id, updated string) string {
	t.Helper()
	body := githubtest.Payload(t, "pull_request.opened", func(p map[string]any) {
		githubtest.Set(p, "pull_request.updated_at", updated)
	})
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", signature(botTestSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + strings.TrimSpace(string(b))
}

// TestSharedDataDirectory: the data directory's database is shared by
// processes at once, as a restart and the CLI need: two serve instances
// handle deliveries on one directory and know each other's, and `gate`,
// `status` and `audit` run while serve is up.
func TestSharedDataDirectory(t *testing.T) {
	gh, cp := fixtureGitHub(t), pipelinetest.New(t)
	awsEnvFor(t, cp)
	env, exec := mergedRelease(t, gh, cp)
	old := serveInProcess(t, env, "--reconcile-every", "0", "--sweep-every", "0")
	if got := postDelivery(t, old.addr, "d-1", "2024-05-06T09:15:00Z"); !strings.HasPrefix(got, "200") {
		t.Fatalf("old serve: %s", got)
	}
	// A restart starts the new instance before the old one stops.
	next := serveInProcess(t, env, "--reconcile-every", "0", "--sweep-every", "0")
	if got := postDelivery(t, next.addr, "d-1", "2024-05-06T09:15:00Z"); !strings.Contains(got, "already handled") {
		t.Errorf("new serve, the old one's delivery: %s, want already handled", got)
	}
	if got := postDelivery(t, next.addr, "d-2", "2024-05-06T09:16:00Z"); !strings.HasPrefix(got, "200") || strings.Contains(got, "already") {
		t.Errorf("new serve, a new delivery: %s", got)
	}
	old.stop(t)

	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	if code := runStatus([]string{"--pipeline", loopPipeline}, nil, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "answer now: approved") {
		t.Errorf("status while serve runs: exit %d\n%s%s", code, &out, &errOut)
	}
	out.Reset()
	errOut.Reset()
	if code := runGate([]string{"--pipeline", loopPipeline}, nil, &out, &errOut); code != exitOK {
		t.Fatalf("gate while serve runs: exit %d\n%s%s", code, &out, &errOut)
	}
	if res := cp.Results(loopPipeline); len(res) != 1 || res[0].Status != "Approved" || res[0].ExecutionID != exec {
		t.Errorf("approvals %+v, want %s approved once", res, exec)
	}
	out.Reset()
	errOut.Reset()
	if code := runAudit([]string{"acme/invoice-log-api#12", "--repo-id", "712345678"}, &out, &errOut, func(k string) string { return env[k] }); code != exitOK {
		t.Errorf("audit while serve runs: exit %d\n%s%s", code, &out, &errOut)
	}
	if code := next.stop(t); code != exitOK {
		t.Errorf("serve exited %d:\n%s", code, next.stderr)
	}
}
