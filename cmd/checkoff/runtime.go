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
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/ghclient"
	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/app/secrets"
	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/handlers"
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
	deliveries webhook.Deliveries // nil for one-shot commands
	clients    *ghclient.Clients  // nil in dry-run
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

// buildRuntime builds the store, the GitHub clients, the release gate, the
// App and the webhook dispatcher from cfg. Nothing is opened when the mode
// is refused; the store is closed again when a later step fails.
func buildRuntime(ctx context.Context, cfg envConfig, o runtimeOptions) (*runtime, error) {
	cloud := &awsClients{ctx: ctx}
	sec, err := loadSecrets(ctx, cfg, cloud)
	if err != nil {
		return nil, err
	}
	rt := &runtime{log: o.logger, dryRun: !sec.HasApp()}
	if err := checkMode(cfg, sec, o); err != nil {
		return nil, err
	}
	if err := rt.openStore(cfg, o, cloud); err != nil {
		return nil, err
	}
	if err := rt.build(ctx, cfg, sec, o, cloud); err != nil {
		rt.closeStore()
		return nil, err
	}
	return rt, nil
}

// build is buildRuntime once the store is open.
func (rt *runtime) build(ctx context.Context, cfg envConfig, sec secrets.Secrets, o runtimeOptions, cloud *awsClients) error {
	opts := app.Options{Store: rt.store, Logger: rt.log, BotLogin: cfg.botLogin}
	secret := sec.WebhookSecret
	if rt.dryRun {
		dry, err := newDryRun(cfg, o)
		if err != nil {
			return err
		}
		opts.DryRun = dry
		if len(secret) == 0 {
			secret = []byte(devSecret)
		}
	} else {
		clients, err := ghclient.New(ghclient.Config{AppID: sec.AppID, PrivateKey: sec.PrivateKey, BaseURL: cfg.githubAPI, Logger: rt.log})
		if err != nil {
			return err
		}
		rt.clients, opts.Installations = clients, clients
		if opts.BotLogin == "" && !o.oneShot {
			opts.BotLogin = deriveBotLogin(ctx, clients, rt.log)
		}
	}
	evaluator := &mergedEvaluator{clients: rt.clients}
	gate, err := newGate(ctx, cfg, rt, evaluator, cloud)
	if err != nil {
		return err
	}
	if gate != nil {
		rt.gate, opts.Gate = gate, gate
	}
	a, err := app.New(opts)
	if err != nil {
		return err
	}
	rt.app, rt.botLogin, evaluator.app = a, opts.BotLogin, a
	rt.dispatcher = webhook.NewDispatcher(webhook.Options{
		Secret:        secret,
		Handlers:      handlers.All(a),
		Deliveries:    rt.deliveries,
		Logger:        rt.log,
		BotLogin:      opts.BotLogin,
		MaxConcurrent: o.maxConcurrent,
	})
	return nil
}

// checkMode refuses the combinations of credentials, store and mode that
// must not run, before anything is opened.
func checkMode(cfg envConfig, sec secrets.Secrets, o runtimeOptions) error {
	dryRun := !sec.HasApp()
	switch {
	case o.lambda && cfg.table == "":
		return errors.New("CHECKOFF_TABLE is required in Lambda mode: name the DynamoDB ledger table")
	case o.lambda && dryRun:
		return errors.New("GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PARAMETER) are required in Lambda mode")
	case dryRun && cfg.table != "":
		return fmt.Errorf("dry-run does not write to the DynamoDB table %s: it accepts the public webhook secret, and a credentialed run would trust what it records; unset CHECKOFF_TABLE or set App credentials", cfg.table)
	case !dryRun && !o.oneShot && len(sec.WebhookSecret) == 0:
		// One-shot commands take no webhooks, so they need no secret.
		return errors.New("GITHUB_WEBHOOK_SECRET (or GITHUB_WEBHOOK_SECRET_PARAMETER) is required with App credentials")
	}
	return nil
}

// awsClients loads the AWS configuration once, on first use: a run that
// needs no AWS service never reads it.
type awsClients struct {
	ctx context.Context
	cfg *aws.Config
	ssm *ssm.Client
}

func (a *awsClients) config() (aws.Config, error) {
	if a.cfg == nil {
		c, err := awsconfig.LoadDefaultConfig(a.ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
		}
		a.cfg = &c
	}
	return *a.cfg, nil
}

// ssmClient is the one SSM client the secrets and the release config share.
func (a *awsClients) ssmClient() (*ssm.Client, error) {
	if a.ssm == nil {
		c, err := a.config()
		if err != nil {
			return nil, err
		}
		a.ssm = ssm.NewFromConfig(c)
	}
	return a.ssm, nil
}

// loadSecrets loads the App's credentials, from SSM when parameters name them.
func loadSecrets(ctx context.Context, cfg envConfig, cloud *awsClients) (secrets.Secrets, error) {
	if !cfg.secrets.NeedsSSM() {
		return cfg.secrets.Load(ctx, nil)
	}
	c, err := cloud.ssmClient()
	if err != nil {
		return secrets.Secrets{}, err
	}
	return cfg.secrets.Load(ctx, c)
}

// openStore opens the ledger: DynamoDB when a table is named, the embedded
// SQLite database (CHECKOFF_DATA_DIR/checkoff.db) elsewhere, which several
// processes share (serve, a second serve during a restart, the CLI).
// Handled deliveries are remembered in the same store; one-shot commands
// handle no webhooks and keep none.
func (rt *runtime) openStore(cfg envConfig, o runtimeOptions, cloud *awsClients) error {
	if cfg.table != "" {
		c, err := cloud.config()
		if err != nil {
			return err
		}
		rt.store = store.NewDynamo(dynamodb.NewFromConfig(c), cfg.table)
		rt.closeStore = func() error { return nil }
		rt.deliveries = app.Deliveries{Store: rt.store}
		return nil
	}
	dir := cfg.dataDir
	switch {
	case dir != "":
	case rt.dryRun:
		dir = dryRunDataDir
	default:
		dir = defaultDataDir
	}
	if err := checkDataDir(dir, rt.dryRun); err != nil {
		return err
	}
	db, err := store.OpenSQLite(filepath.Join(dir, store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		return fmt.Errorf("open store %s: %w", dir, err)
	}
	rt.store, rt.closeStore = db, db.Close
	if !o.oneShot { // gate, status and redeliver handle no webhooks
		rt.deliveries = db.Deliveries(app.DeliveryTTL)
	}
	return nil
}

// newDryRun is the stand-in for GitHub without App credentials.
func newDryRun(cfg envConfig, o runtimeOptions) (*app.DryRun, error) {
	dry := &app.DryRun{Out: o.dryOut, Writers: o.writers}
	if cfg.checklistConfig != "" {
		data, err := os.ReadFile(cfg.checklistConfig)
		if err != nil {
			return nil, fmt.Errorf("read CHECKOFF_CONFIG: %w", err)
		}
		dry.ConfigData = data
	}
	return dry, nil
}

// newGate builds the release gate from the deployment's release config
// (never a repository's); nil without one, or in dry-run, which warns.
func newGate(ctx context.Context, cfg envConfig, rt *runtime, eval release.Evaluator, cloud *awsClients) (*release.Gate, error) {
	relCfg, err := loadReleases(ctx, cfg, cloud)
	if err != nil || relCfg == nil {
		return nil, err
	}
	if rt.clients == nil {
		rt.log.Warn("release gate disabled: it needs App credentials", "pipelines", relCfg.Pipelines())
		return nil, nil
	}
	c, err := cloud.config()
	if err != nil {
		return nil, err
	}
	notifier, err := newNotifier(cfg, c)
	if err != nil {
		return nil, err
	}
	clients := rt.clients
	return release.New(release.Options{
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
		Evaluator: eval,
		Notifier:  notifier,
		Logger:    rt.log,
	})
}

// loadReleases loads the release config; nil when none is named.
func loadReleases(ctx context.Context, cfg envConfig, cloud *awsClients) (*release.Config, error) {
	var params release.ParameterAPI
	switch {
	case cfg.releases == release.Source{}:
		return nil, nil
	case cfg.releases.Parameter != "":
		c, err := cloud.ssmClient()
		if err != nil {
			return nil, err
		}
		params = c
	}
	return release.LoadConfig(ctx, cfg.releases, params)
}

// newNotifier is the SNS notifier of CHECKOFF_NOTIFY_TOPIC_ARN, in the
// topic's region; nil (no notifications) when unset.
func newNotifier(cfg envConfig, c aws.Config) (release.Notifier, error) {
	if cfg.notifyTopic == "" {
		return nil, nil
	}
	region, err := release.TopicRegion(cfg.notifyTopic)
	if err != nil {
		return nil, err
	}
	client := sns.NewFromConfig(c, func(o *sns.Options) { o.Region = region })
	return release.NewSNSNotifier(client, cfg.notifyTopic)
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

// The release gate is the App's ReleaseGate; neither package imports the
// other (both share package verdict), so the wiring checks it.
var _ app.ReleaseGate = (*release.Gate)(nil)
