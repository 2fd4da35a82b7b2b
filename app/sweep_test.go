package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/ghclient"
	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// sweepFake is a fake GitHub with the App's JWT client and an embedded
// store for the sweeper's records.
func sweepFake(t *testing.T) (*githubtest.Server, *github.Client, *store.SQLite) {
	t.Helper()
	gh := githubtest.New(t)
	clients, err := ghclient.New(ghclient.Config{AppID: gh.AppID, PrivateKey: gh.PrivateKeyPEM(), BaseURL: gh.URL})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return gh, clients.App(), st
}

// addNoise records n deliveries that succeeded, at when (zero: now): the
// traffic of a busy App.
func addNoise(gh *githubtest.Server, n int, when time.Time) {
	for range n {
		gh.AddDelivery(githubtest.Delivery{StatusCode: 200, DeliveredAt: when, Event: "pull_request", Action: "edited",
			InstallationID: githubtest.FixtureInstallation, RepositoryID: githubtest.FixtureRepoID})
	}
}

// addFailing records the original attempt of a delivery that failed with
// code at when, and returns it.
func addFailing(gh *githubtest.Server, code int, when time.Time) githubtest.Delivery {
	return gh.AddDelivery(githubtest.Delivery{StatusCode: code, DeliveredAt: when, Event: "pull_request", Action: "edited",
		InstallationID: githubtest.FixtureInstallation, RepositoryID: githubtest.FixtureRepoID})
}

// redeliveriesOf counts the redelivery attempts of guid the fake recorded.
func redeliveriesOf(gh *githubtest.Server, guid string) int {
	n := 0
	for _, d := range gh.Deliveries() {
		if d.GUID == guid && d.Redelivery {
			n++
		}
	}
	return n
}

// TestSweepBusyAppRetiresByFirstAttempt is the attack of issue 16, item 5:
// on an App busy enough that a sweep's window (here one page of 100)
// holds only the newest attempt of a delivery that always fails, the
// sweeper used to see one attempt per sweep and redeliver it every 10
// minutes forever. With the store it counts attempts across windows and
// retires the delivery by its first attempt's age.
func TestSweepBusyAppRetiresByFirstAttempt(t *testing.T) {
	tests := map[string]struct {
		firstAge        time.Duration // of the original attempt when sweeping starts
		maxAttempts     int
		wantRedelivered int
		wantExpired     bool
	}{
		// Redelivered at 23h30, 23h40 and 23h50; retired at 24h.
		"by age": {firstAge: 23*time.Hour + 30*time.Minute, maxAttempts: 100, wantRedelivered: 3, wantExpired: true},
		// The original plus four redeliveries make five attempts.
		"by attempts": {firstAge: time.Minute, maxAttempts: 5, wantRedelivered: 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gh, client, st := sweepFake(t)
			gh.SetRedeliveryStatus(503) // every redelivery fails too
			start := time.Now().UTC()
			failing := addFailing(gh, 503, start.Add(-tc.firstAge))
			addNoise(gh, 50, start.Add(-tc.firstAge+time.Second))
			gave := 0
			for round := range 20 { // 200 minutes of schedule
				now := start.Add(time.Duration(round) * 10 * time.Minute)
				res, err := Sweep(context.Background(), client, SweepOptions{
					MaxPages: 1, MaxAttempts: tc.maxAttempts, Store: st, Now: func() time.Time { return now },
				})
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				gave += res.GaveUp
				if tc.wantExpired && res.GaveUp != res.Expired {
					t.Errorf("round %d: %+v: gave up other than by age", round, res)
				}
				// Ten minutes of traffic: the newest attempt stays in the
				// next sweep's window, the older ones leave it.
				addNoise(gh, 60, time.Time{})
			}
			if got := redeliveriesOf(gh, failing.GUID); got != tc.wantRedelivered {
				t.Errorf("redelivered %d times in 20 sweeps, want %d", got, tc.wantRedelivered)
			}
			if gave == 0 {
				t.Error("no sweep reported the delivery retired")
			}
		})
	}
}

// TestSweepOriginalBeyondWindow: without a store, a sweep that scans back
// to MaxAge and lists only redeliveries of a delivery knows its original
// attempt is older than MaxAge, and retires it.
func TestSweepOriginalBeyondWindow(t *testing.T) {
	gh, client, _ := sweepFake(t)
	now := time.Now().UTC()
	original := addFailing(gh, 502, now.Add(-25*time.Hour))
	gh.AddDelivery(githubtest.Delivery{GUID: original.GUID, Redelivery: true, StatusCode: 502, DeliveredAt: now.Add(-time.Hour),
		Event: "pull_request", Action: "edited", InstallationID: githubtest.FixtureInstallation, RepositoryID: githubtest.FixtureRepoID})
	young := addFailing(gh, 502, now.Add(-2*time.Hour))
	addNoise(gh, 5, now.Add(-time.Minute))

	res, err := Sweep(context.Background(), client, SweepOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	want := SweepResult{Scanned: 7, Failed: 2, Redelivered: 1, GaveUp: 1, Expired: 1}
	if res != want {
		t.Errorf("sweep = %+v, want %+v", res, want)
	}
	if n := redeliveriesOf(gh, original.GUID); n != 1 { // the one added above
		t.Errorf("the day-old delivery was redelivered again (%d redeliveries)", n-1)
	}
	if n := redeliveriesOf(gh, young.GUID); n != 1 {
		t.Errorf("the two-hour-old delivery was redelivered %d times, want 1", n)
	}
}

// TestSweepDecisions covers what one sweep does with one failed delivery
// given what it lists and what the store remembers.
func TestSweepDecisions(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	type attempt struct {
		age        time.Duration
		code       int
		redelivery bool
	}
	tests := map[string]struct {
		attempts   []attempt // oldest first
		remembered *sweepRecord
		redelivs   int64 // the remembered record's Version
		// busy: 150 older deliveries fill the one page the sweep scans,
		// so it cannot see back to the original attempt.
		busy       bool
		want       SweepResult
		wantStored int64 // the record's Version afterwards; 0: none
	}{
		"fresh failure": {
			attempts:   []attempt{{age: time.Minute, code: 503}},
			want:       SweepResult{Scanned: 1, Failed: 1, Redelivered: 1},
			wantStored: 1,
		},
		"no answer": {
			attempts:   []attempt{{age: time.Minute, code: 0}},
			want:       SweepResult{Scanned: 1, Failed: 1, Redelivered: 1},
			wantStored: 1,
		},
		"rejected with 4xx": {
			attempts: []attempt{{age: time.Minute, code: 400}},
			want:     SweepResult{Scanned: 1},
		},
		"recovered": {
			attempts: []attempt{{age: time.Hour, code: 503}, {age: time.Minute, code: 200, redelivery: true}},
			want:     SweepResult{Scanned: 2},
		},
		"original just under a day old": {
			attempts:   []attempt{{age: 24*time.Hour - time.Minute, code: 503}},
			want:       SweepResult{Scanned: 1, Failed: 1, Redelivered: 1},
			wantStored: 1,
		},
		"five attempts listed": {
			attempts: []attempt{{age: 50 * time.Minute, code: 503}, {age: 40 * time.Minute, code: 503, redelivery: true},
				{age: 30 * time.Minute, code: 503, redelivery: true}, {age: 20 * time.Minute, code: 503, redelivery: true},
				{age: 10 * time.Minute, code: 503, redelivery: true}},
			want: SweepResult{Scanned: 5, Failed: 1, GaveUp: 1},
		},
		"one attempt listed, four redeliveries remembered": {
			attempts:   []attempt{{age: 10 * time.Minute, code: 503, redelivery: true}},
			remembered: &sweepRecord{First: now.Add(-2 * time.Hour)}, redelivs: 4,
			busy:       true,
			want:       SweepResult{Scanned: 100, Failed: 1, GaveUp: 1},
			wantStored: 4,
		},
		"one attempt listed, first seen a day ago": {
			attempts:   []attempt{{age: 10 * time.Minute, code: 503, redelivery: true}},
			remembered: &sweepRecord{First: now.Add(-24 * time.Hour)}, redelivs: 1,
			busy:       true,
			want:       SweepResult{Scanned: 100, Failed: 1, GaveUp: 1, Expired: 1},
			wantStored: 1,
		},
		"one attempt listed, remembered recently": {
			attempts:   []attempt{{age: 10 * time.Minute, code: 503, redelivery: true}},
			remembered: &sweepRecord{First: now.Add(-3 * time.Hour)}, redelivs: 2,
			busy:       true,
			want:       SweepResult{Scanned: 100, Failed: 1, Redelivered: 1},
			wantStored: 3,
		},
		"only a redelivery listed, scanned back a day": {
			attempts: []attempt{{age: 10 * time.Minute, code: 503, redelivery: true}},
			want:     SweepResult{Scanned: 1, Failed: 1, GaveUp: 1, Expired: 1},
		},
		"original listed, older record kept": {
			attempts:   []attempt{{age: 2 * time.Hour, code: 503}, {age: 10 * time.Minute, code: 503, redelivery: true}},
			remembered: &sweepRecord{First: now.Add(-2 * time.Hour)}, redelivs: 1,
			want:       SweepResult{Scanned: 2, Failed: 1, Redelivered: 1},
			wantStored: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gh, client, st := sweepFake(t)
			ctx := context.Background()
			var guid string
			listed := 0 // redeliveries among the attempts listed
			for i, a := range tc.attempts {
				if a.redelivery {
					listed++
				}
				d := gh.AddDelivery(githubtest.Delivery{GUID: guid, Redelivery: a.redelivery, StatusCode: a.code,
					DeliveredAt: now.Add(-a.age), Event: "pull_request", Action: "edited",
					InstallationID: githubtest.FixtureInstallation, RepositoryID: githubtest.FixtureRepoID})
				if i == 0 {
					guid = d.GUID
				}
			}
			opts := SweepOptions{Store: st, Now: func() time.Time { return now }}
			if tc.busy {
				addNoise(gh, 150, now.Add(-20*time.Minute))
				opts.MaxPages = 1
			}
			if tc.remembered != nil {
				if err := putSweepRecord(ctx, st, guid, tc.remembered.First, int(tc.redelivs), 24*time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Sweep(ctx, client, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res != tc.want {
				t.Errorf("sweep = %+v, want %+v", res, tc.want)
			}
			if got := redeliveriesOf(gh, guid) - listed; got != tc.want.Redelivered {
				t.Errorf("fake GitHub got %d redelivery requests, want %d", got, tc.want.Redelivered)
			}
			rec, err := st.Get(ctx, sweepPK(guid), sweepSK)
			switch {
			case tc.wantStored == 0 && err == nil:
				t.Errorf("sweep record %+v stored, want none", rec)
			case tc.wantStored != 0 && (err != nil || rec.Version != tc.wantStored):
				t.Errorf("sweep record = %+v, %v; want version %d", rec, err, tc.wantStored)
			}
		})
	}
}
