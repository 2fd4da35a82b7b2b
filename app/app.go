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

// Options configures New. Store is required; exactly one of Installations
// and DryRun is expected.
type Options struct {
	Store         store.Store
	Installations Installations // real GitHub; nil means dry-run
	DryRun        *DryRun       // used when Installations is nil
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
	github   func(installation int64) gitHub
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
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	ttl := opts.PermissionTTL
	if ttl == 0 {
		ttl = 3 * time.Minute
	}
	switch {
	case opts.Installations != nil:
		caches := newRESTCaches(ttl, a.now)
		inst := opts.Installations
		a.github = func(id int64) gitHub { return &restGitHub{client: inst.Installation(id), caches: caches} }
	case opts.DryRun != nil:
		a.github = func(int64) gitHub { return opts.DryRun }
	default:
		return nil, errors.New("app: either GitHub installations or a dry-run target is required")
	}
	return a, nil
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
