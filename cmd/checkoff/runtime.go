package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/checkoff-app/checkoff/webhook"
)

// devSecret is the webhook secret of dry-run mode when none is set, shared
// by `serve` and `send` so a local trial needs no set-up. Dry-run posts
// nothing anywhere, so a well-known secret protects nothing real.
const devSecret = "checkoff-dev"

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

	// Store: DynamoDB on Lambda, the embedded file store elsewhere; handled
	// deliveries are remembered in the same table, or in a log beside the
	// file store (a file per delivery would slow its writes).
	var deliveries webhook.Deliveries
	switch table := env("CHECKOFF_TABLE"); {
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
		if dir == "" {
			dir = ".checkoff"
		}
		fs, err := store.OpenFile(dir)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", dir, err)
		}
		rt.store = fs
		rt.closeStore = fs.Close
		if !o.oneShot { // gate and redeliver handle no webhooks
			marks, err := store.OpenMarks(filepath.Join(dir, "deliveries.log"), app.DeliveryTTL)
			if err != nil {
				fs.Close()
				return nil, err
			}
			deliveries = marks
			rt.closeStore = func() error { return errors.Join(marks.Close(), fs.Close()) }
		}
	}

	// An explicit bot login wins; with credentials it is otherwise derived.
	opts := app.Options{Store: rt.store, Logger: rt.log, BotLogin: env("CHECKOFF_BOT_LOGIN")}
	secret := sec.WebhookSecret
	switch {
	case sec.AppID != 0 && len(sec.PrivateKey) > 0:
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

func (m *mergedEvaluator) EvaluateMerged(ctx context.Context, owner, repo string, number int) (app.Verdict, error) {
	id, err := m.clients.RepoInstallation(ctx, owner, repo)
	if err != nil {
		return app.Verdict{}, err
	}
	return m.app.EvaluateMerged(ctx, id, owner, repo, number)
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
