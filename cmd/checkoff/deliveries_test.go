package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/checkoff-app/checkoff/app/githubtest"
)

// TestServeRemembersDeliveries: `checkoff serve` remembers handled
// deliveries in a log beside its file store, across restarts, and spends no
// partition file on them.
func TestServeRemembersDeliveries(t *testing.T) {
	gh := fixtureGitHub(t)
	env := credEnv(t, gh)
	env["CHECKOFF_BOT_LOGIN"] = "checkoff[bot]" // no GET /app
	dir := env["CHECKOFF_DATA_DIR"]

	rt, _ := buildWith(t, env)
	if w := deliverAs(t, rt, "d-1", githubtest.FixtureAuthor); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "already") {
		t.Fatalf("first delivery: %d %q", w.Code, w.Body)
	}
	if w := deliverAs(t, rt, "d-1", githubtest.FixtureAuthor); !strings.Contains(w.Body.String(), "already handled") {
		t.Errorf("redelivery: %d %q, want already handled", w.Code, w.Body)
	}
	if err := rt.closeStore(); err != nil {
		t.Fatal(err)
	}

	rt2, _ := buildWith(t, env) // a restart
	if w := deliverAs(t, rt2, "d-1", githubtest.FixtureAuthor); !strings.Contains(w.Body.String(), "already handled") {
		t.Errorf("redelivery after a restart: %d %q, want already handled", w.Code, w.Body)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "deliveries.log")); err != nil || !strings.Contains(string(b), " d-1\n") {
		t.Errorf("deliveries.log = %q, %v; want the mark of d-1", b, err)
	}
	parts, err := os.ReadDir(filepath.Join(dir, "p"))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 { // the PR's ledger only
		t.Errorf("partition files %d, want 1 (the ledger; no file per delivery)", len(parts))
	}
}
