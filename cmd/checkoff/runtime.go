package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/ghclient"
	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/app/secrets"
	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/webhook"
)

// devSecret is the webhook secret of dry-run mode when none is set, shared
// by `serve` and `send` so a local trial needs no set-up. Dry-run posts
// nothing anywhere, so a well-known secret protects nothing real; but
// anyone can therefore write ticks and verdicts into a dry-run store, which
// is why a credentialed run never reads one (dryRunMarker).
const devSecret = "checkoff-dev"

// The embedded store's default directories: dry-run keeps its own, so a
// local trial never leaves records where a credentialed run looks.
var (
	defaultDataDir = ".checkoff"
	dryRunDataDir  = filepath.Join(".checkoff", "dry-run")
)

// dryRunMarker is the file dry-run writes into its data directory before
// it stores anything; a credentialed run refuses a directory holding it.
const dryRunMarker = "DRY-RUN"

// runtime is everything built once at start (on Lambda: at init).
type runtime struct {
	log        *slog.Logger
	store      store.Store
	clients    *ghclient.Clients // nil in dry-run
	app        *app.App
	dispatcher *webhook.Dispatcher
	gate       *release.Gate // nil without a release config (or in dry-run)
	dryRun     bool
	botLogin   string // the App's bot, whose deliveries are ignored; "" when unknown
	closeStore func() error
}

// runtimeOptions are the few things that differ between serve, gate and
// Lambda.
type runtimeOptions struct {
	lambda  bool
	dryOut  io.Writer // where dry-run prints check runs
	logger  *slog.Logger
	getenv  func(string) string
	writers []string // dry-run: logins treated as writers
	oneShot bool     // gate, redeliver: no webhooks to filter, so no bot login lookup

	maxConcurrent int // serve: deliveries handled at once (webhook.Options.MaxConcurrent)
}

func newLogger(w io.Writer, json bool, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// buildRuntime reads the environment and builds the store, the GitHub
// clients, the App and the webhook dispatcher.
func buildRuntime(ctx context.Context, o runtimeOptions) (*runtime, error) {
	env := o.getenv
	rt := &runtime{log: o.logger}

	var awsCfg *aws.Config
	loadAWS := func() (aws.Config, error) {
		if awsCfg != nil {
			return *awsCfg, nil
		}
		c, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
		}
		awsCfg = &c
		return c, nil
	}

	var ssmClient *ssm.Client
	if env("GITHUB_PRIVATE_KEY_PARAMETER") != "" || env("GITHUB_WEBHOOK_SECRET_PARAMETER") != "" || env(release.EnvReleasesParameter) != "" {
		c, err := loadAWS()
		if err != nil {
			return nil, err
		}
		ssmClient = ssm.NewFromConfig(c)
	}
	sec, err := secrets.Load(ctx, env, ssmClient)
	if err != nil {
		return nil, err
	}

	// Without App credentials the runtime is dry-run: decided before the
	// store is opened, because a dry-run store is kept apart.
	dryRun := sec.AppID == 0 || len(sec.PrivateKey) == 0

	// Store: DynamoDB on Lambda, the embedded file store elsewhere; handled
	// deliveries are remembered in the same table, or in a log beside the
	// file store (a file per delivery would slow its writes).
	var deliveries webhook.Deliveries
	switch table := env("CHECKOFF_TABLE"); {
	case table != "" && dryRun && !o.lambda:
		return nil, fmt.Errorf("dry-run does not write to the DynamoDB table %s: it accepts the public webhook secret, and a credentialed run would trust what it records; unset CHECKOFF_TABLE or set App credentials", table)
	case table != "":
		c, err := loadAWS()
		if err != nil {
			return nil, err
		}
		rt.store = store.NewDynamo(dynamodb.NewFromConfig(c), table)
		rt.closeStore = func() error { return nil }
		deliveries = app.Deliveries{Store: rt.store}
	case o.lambda:
		return nil, errors.New("CHECKOFF_TABLE is required in Lambda mode: name the DynamoDB ledger table")
	default:
		dir := env("CHECKOFF_DATA_DIR")
		switch {
		case dir != "":
		case dryRun:
			dir = dryRunDataDir
		default:
			dir = defaultDataDir
		}
		if err := checkDataDir(dir, dryRun); err != nil {
			return nil, err
		}
		fileStore, err := store.OpenFile(dir)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", dir, err)
		}
		rt.store = fileStore
		rt.closeStore = fileStore.Close
		if !o.oneShot { // gate and redeliver handle no webhooks
			marks, err := store.OpenMarks(filepath.Join(dir, "deliveries.log"), app.DeliveryTTL)
			if err != nil {
				fileStore.Close()
				return nil, err
			}
			deliveries = marks
			rt.closeStore = func() error { return errors.Join(marks.Close(), fileStore.Close()) }
		}
	}

	// An explicit bot login wins; with credentials it is otherwise derived.
	opts := app.Options{Store: rt.store, Logger: rt.log, BotLogin: env("CHECKOFF_BOT_LOGIN")}
	secret := sec.WebhookSecret
	switch {
	case !dryRun:
		clients, err := ghclient.New(ghclient.Config{
			AppID: sec.AppID, PrivateKey: sec.PrivateKey,
			BaseURL: env("GITHUB_API_URL"), Logger: rt.log,
		})
		if err != nil {
			return nil, err
		}
		rt.clients = clients
		opts.Installations = clients
		if len(secret) == 0 {
			return nil, errors.New("GITHUB_WEBHOOK_SECRET (or GITHUB_WEBHOOK_SECRET_PARAMETER) is required with App credentials")
		}
		if opts.BotLogin == "" && !o.oneShot {
			opts.BotLogin = deriveBotLogin(ctx, clients, rt.log)
		}
	case o.lambda:
		return nil, errors.New("GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PARAMETER) are required in Lambda mode")
	default:
		rt.dryRun = true
		dry := &app.DryRun{Out: o.dryOut, Writers: o.writers}
		if path := env("CHECKOFF_CONFIG"); path != "" {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("read CHECKOFF_CONFIG: %w", err)
			}
			dry.ConfigData = data
		}
		opts.DryRun = dry
		if len(secret) == 0 {
			secret = []byte(devSecret)
		}
	}
	// The release gate: deployment config, never the repository's.
	var relCfg *release.Config
	if ssmClient != nil {
		relCfg, err = release.LoadConfig(ctx, env, ssmClient)
	} else {
		relCfg, err = release.LoadConfig(ctx, env, nil)
	}
	switch {
	case errors.Is(err, release.ErrNoConfig):
		relCfg = nil
	case err != nil:
		return nil, err
	}
	evaluator := &mergedEvaluator{clients: rt.clients}
	if relCfg != nil && rt.clients != nil {
		c, err := loadAWS()
		if err != nil {
			return nil, err
		}
		clients := rt.clients
		rt.gate, err = release.New(release.Options{
			Config:   relCfg,
			Pipeline: codepipeline.NewFromConfig(c),
			GitHub: func(ctx context.Context, owner, repo string) (*github.Client, error) {
				id, err := clients.RepoInstallation(ctx, owner, repo)
				if err != nil {
					return nil, err
				}
				return clients.Installation(id), nil
			},
			Store:     rt.store,
			Evaluator: evaluator,
			Logger:    rt.log,
		})
		if err != nil {
			return nil, err
		}
		opts.Gate = rt.gate
	} else if relCfg != nil {
		rt.log.Warn("release gate disabled: it needs App credentials", "pipelines", relCfg.Pipelines())
	}
	a, err := app.New(opts)
	if err != nil {
		return nil, err
	}
	rt.app = a
	rt.botLogin = opts.BotLogin
	evaluator.app = a
	rt.dispatcher = webhook.NewDispatcher(webhook.Options{
		Secret:        secret,
		Handlers:      webhook.Handlers(a),
		Deliveries:    deliveries,
		Logger:        rt.log,
		BotLogin:      opts.BotLogin,
		MaxConcurrent: o.maxConcurrent,
	})
	return rt, nil
}

// mergedEvaluator lets the gate ask the App for the verdict on a merged PR
// whose merge webhook never arrived; it finds the repository's installation
// first. It is built before the App (the App needs the gate), hence the
// late-set field.
type mergedEvaluator struct {
	app     *app.App
	clients *ghclient.Clients
}

func (m *mergedEvaluator) EvaluateMerged(ctx context.Context, owner, repo string, number int) (verdict.Verdict, error) {
	id, err := m.clients.RepoInstallation(ctx, owner, repo)
	if err != nil {
		return verdict.Verdict{}, err
	}
	return m.app.EvaluateMerged(ctx, id, owner, repo, number)
}

// checkDataDir keeps dry-run records and trusted ones apart. A
// credentialed run refuses a directory holding dryRunMarker. Dry-run
// claims a directory only when it is absent, empty or already its own,
// writing the marker (synced) before any record; a directory with anything
// else in it may be a credentialed run's store, and forged records there
// would be trusted. Nothing is changed when the directory is refused.
func checkDataDir(dir string, dryRun bool) error {
	marker := filepath.Join(dir, dryRunMarker)
	_, err := os.Lstat(marker)
	marked := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check data directory %s: %w", dir, err)
	}
	if !dryRun {
		if marked {
			return fmt.Errorf("data directory %s was written by a dry-run (it holds %s): dry-run accepts the public webhook secret, so its ticks and verdicts cannot be trusted; set CHECKOFF_DATA_DIR to another directory", dir, dryRunMarker)
		}
		return nil
	}
	if marked {
		return nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("check data directory %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("data directory %s was not written by a dry-run (no %s file): dry-run will not add records a credentialed run would trust; unset CHECKOFF_DATA_DIR (dry-run uses %s) or name an empty directory", dir, dryRunMarker, dryRunDataDir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", dir, err)
	}
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mark data directory %s as dry-run: %w", dir, err)
	}
	_, err = f.WriteString("Written by checkoff in dry-run (no App credentials). Anyone with the public\nwebhook secret could write this store, so a run with credentials refuses it.\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir) // the marker's entry is durable before any record
	}
	if err != nil {
		return fmt.Errorf("mark data directory %s as dry-run: %w", dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// splitList parses a comma-separated flag or variable.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// atoiDefault parses a positive integer variable, or returns def.
func atoiDefault(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive number", s)
	}
	return n, nil
}

// The release gate is the App's ReleaseGate; neither package imports the
// other (both share package verdict), so the wiring checks it.
var _ app.ReleaseGate = (*release.Gate)(nil)
