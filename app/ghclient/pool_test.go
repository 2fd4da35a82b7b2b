package ghclient

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// TestBotLogin asks the OpenAPI-checked fake GitHub for the App as the App
// (the fake rejects anything but a valid app JWT) and builds the bot login
// from its slug.
func TestBotLogin(t *testing.T) {
	gh := githubtest.New(t)
	gh.AppSlug = "checkoff-acme"
	c, err := New(Config{AppID: gh.AppID, PrivateKey: gh.PrivateKeyPEM(), BaseURL: gh.URL})
	if err != nil {
		t.Fatal(err)
	}
	login, err := c.BotLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if login != "checkoff-acme[bot]" {
		t.Errorf("BotLogin = %q, want checkoff-acme[bot]", login)
	}
	if n := gh.Count("apps/get-authenticated"); n != 1 {
		t.Errorf("GET /app called %d times, want 1", n)
	}

	gh.FailNext("apps/get-authenticated", 1, githubtest.Fault{Status: http.StatusNotFound, Body: `{"message":"Not Found"}`})
	if login, err := c.BotLogin(context.Background()); err == nil || login != "" {
		t.Errorf("BotLogin on a 404 = %q, %v; want an error", login, err)
	}
}

// TestIdleConnectionsReused: the transport New builds keeps enough idle
// connections per host for concurrent requests to reuse them. Two rounds of
// n requests are held at the server until all n are in flight, so each
// round needs n connections at once; with Go's default of 2 idle
// connections per host the second round would dial n-2 new ones.
func TestIdleConnectionsReused(t *testing.T) {
	const n = 12
	_, gh := newFakeGitHub(t, "")
	var mu sync.Mutex
	dials := 0
	arrived := 0
	var all chan struct{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		release := all
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
			t.Errorf("requests not concurrent: fewer than %d in flight after 10s", n)
		}
		gh.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			dials++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newTestClients(t, srv.URL, nil)

	round := func() int {
		mu.Lock()
		arrived, dials = 0, 0
		all = make(chan struct{})
		mu.Unlock()
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := c.App().Apps.ListHookDeliveries(context.Background(), nil); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return dials
	}
	if d := round(); d < n {
		t.Fatalf("first round opened %d connections for %d concurrent requests", d, n)
	}
	if d := round(); d != 0 {
		t.Errorf("second round opened %d new connections, want all %d reused (idle pool per host too small)", d, n)
	}
}
