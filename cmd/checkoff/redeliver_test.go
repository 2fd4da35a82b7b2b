package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// TestRedeliverRemembersFirstAttempt: `checkoff redeliver` keeps what it
// redelivered in its store, so a later run retires a delivery by its first
// attempt's age even when a busy App has pushed that attempt out of the
// scan window (10 pages of 100) and only a fresh redelivery is listed.
func TestRedeliverRemembersFirstAttempt(t *testing.T) {
	gh := fixtureGitHub(t)
	gh.SetRedeliveryStatus(503)
	for k, v := range credEnv(t, gh) {
		t.Setenv(k, v)
	}
	now := time.Now().UTC()
	delivery := func(code int, at time.Time) githubtest.Delivery {
		return gh.AddDelivery(githubtest.Delivery{StatusCode: code, DeliveredAt: at, Event: "pull_request", Action: "edited",
			InstallationID: githubtest.FixtureInstallation, RepositoryID: githubtest.FixtureRepoID})
	}
	failing := delivery(503, now.Add(-2*time.Hour))
	redeliver := func(maxAge string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run([]string{"redeliver", "--max-age", maxAge}, nil, &out, &errOut); code != exitOK {
			t.Fatalf("redeliver: exit %d: %s%s", code, out.String(), errOut.String())
		}
		return strings.TrimSpace(out.String())
	}

	if got, want := redeliver("3h"), "scanned 1 attempts, 1 failed deliveries, 1 redelivered, 0 given up (0 past --max-age)"; got != want {
		t.Fatalf("first run: %q, want %q", got, want)
	}
	// An hour of traffic between the original attempt and the redelivery.
	for range 1000 {
		delivery(200, now.Add(-time.Hour))
	}
	// Listed now: the redelivery, seconds old, and 999 of the others. The
	// original, 2 hours old, is past --max-age 119m only by the store.
	if got, want := redeliver("119m"), "scanned 1000 attempts, 1 failed deliveries, 0 redelivered, 1 given up (1 past --max-age)"; got != want {
		t.Errorf("second run: %q, want %q", got, want)
	}
	n := 0
	for _, d := range gh.Deliveries() {
		if d.GUID == failing.GUID && d.Redelivery {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the failing delivery was redelivered %d times, want 1", n)
	}
}
