package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// TestServeRemembersDeliveries: `checkoff serve` remembers handled
// deliveries in its SQLite database, across restarts, and keeps nothing
// beside it but the database.
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
	if err := rt2.closeStore(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), store.SQLiteFileName) { // checkoff.db, -wal, -shm
			t.Errorf("%s beside the database", e.Name())
		}
	}
}

// TestServeCreatesItsDataDirectory: a first credentialed run on a fresh
// clone creates the data directory it is told to use.
func TestServeCreatesItsDataDirectory(t *testing.T) {
	gh := fixtureGitHub(t)
	env := credEnv(t, gh)
	env["CHECKOFF_BOT_LOGIN"] = "checkoff[bot]"
	env["CHECKOFF_DATA_DIR"] = env["CHECKOFF_DATA_DIR"] + "/not/yet"
	rt, _ := buildWith(t, env)
	defer rt.closeStore()
	if _, err := os.Stat(env["CHECKOFF_DATA_DIR"] + "/" + store.SQLiteFileName); err != nil {
		t.Errorf("database not created: %v", err)
	}
}
