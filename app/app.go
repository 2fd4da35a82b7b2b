package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/store"
)

// Installations gives the go-github client of an installation; built and
// cached by package ghclient.
type Installations interface {
	Installation(id int64) *github.Client
}

// Options configures New. Store and one way to reach GitHub are required:
// GitHub, or else Installations (REST) or DryRun.
type Options struct {
	Store store.Store
	// GitHub gives the App's view of GitHub for an installation: RESTGitHub
	// over installation clients, a *DryRun, or a test fake.
	GitHub        func(installation int64) GitHub
	Installations Installations // shorthand for GitHub: RESTGitHub(Installations, PermissionTTL, Now)
	DryRun        *DryRun       // shorthand for GitHub: this DryRun for every installation
	Gate          ReleaseGate   // nil: no release gating
	BotLogin      string        // the App's own bot ("checkoff[bot]"): its events are ignored
	Logger        *slog.Logger
	Now           func() time.Time
	// PermissionTTL is how long a collaborator permission is cached
	// (default 3 minutes): long enough to spare GitHub, short enough that
	// revoked access stops counting soon.
	PermissionTTL time.Duration
}

// App evaluates pull requests and posts check runs. Its caches make it
// worth building once and sharing across requests.
type App struct {
	store    store.Store
	gate     ReleaseGate
	botLogin string
	log      *slog.Logger
	now      func() time.Time
	github   func(installation int64) GitHub
}

// New builds an App.
func New(opts Options) (*App, error) {
	if opts.Store == nil {
		return nil, errors.New("app: a store is required")
	}
	a := &App{
		store:    opts.Store,
		gate:     opts.Gate,
		botLogin: opts.BotLogin,
		log:      opts.Logger,
		now:      opts.Now,
		github:   opts.GitHub,
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	switch {
	case a.github != nil:
	case opts.Installations != nil:
		a.github = RESTGitHub(opts.Installations, opts.PermissionTTL, a.now)
	case opts.DryRun != nil:
		a.github = func(int64) GitHub { return opts.DryRun }
	default:
		return nil, errors.New("app: a way to reach GitHub (GitHub, Installations or DryRun) is required")
	}
	return a, nil
}

// RESTGitHub is GitHub over the go-github client of each installation, with
// caches shared by every installation for as long as the returned function
// lives (on Lambda: across warm invocations): an ETag cache for the config
// and a ttl cache (default 3 minutes) for permissions.
func RESTGitHub(inst Installations, ttl time.Duration, now func() time.Time) func(installation int64) GitHub {
	if ttl == 0 {
		ttl = 3 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	caches := newRESTCaches(ttl, now)
	return func(id int64) GitHub { return &restGitHub{client: inst.Installation(id), caches: caches} }
}

// logger returns the request's logger (attached by the webhook layer) or
// the App's.
func (a *App) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return a.log
}

type loggerKey struct{}

// WithLogger returns a context carrying l; App log lines made while
// handling that context use it, so they carry the delivery's attributes.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}
