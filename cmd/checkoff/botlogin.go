package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/checkoff-app/checkoff/app/ghclient"
)

// botLoginTimeout bounds the GET /app lookup at start: a slow GitHub must
// not hold a Lambda cold start or `serve` hostage for the sake of a filter.
const botLoginTimeout = 3 * time.Second

// botLoginSource is what deriveBotLogin needs of *ghclient.Clients.
type botLoginSource interface {
	BotLogin(ctx context.Context) (string, error)
}

var _ botLoginSource = (*ghclient.Clients)(nil)

// deriveBotLogin asks GitHub for the App's bot login ("<slug>[bot]", from
// GET /app), within botLoginTimeout. It is best-effort: on failure it logs a
// warning and returns "". With no bot login the dispatcher drops no delivery
// as the App's own, so those are handled like any other (the handlers ignore
// the check_run and check_suite actions checkoff's own writes cause), and
// ticks by any bot (type Bot or a login ending in "[bot]") still never count.
func deriveBotLogin(ctx context.Context, src botLoginSource, log *slog.Logger) string {
	ctx, cancel := context.WithTimeout(ctx, botLoginTimeout)
	defer cancel()
	login, err := src.BotLogin(ctx)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "could not derive the App's bot login; own-event filter off",
			slog.Any("err", err),
			slog.String("effect", "deliveries sent by the App's bot are handled like any other; ticks by bots still never count"),
			slog.String("fix", "set CHECKOFF_BOT_LOGIN to <app-slug>[bot]"))
		return ""
	}
	log.LogAttrs(ctx, slog.LevelInfo, "bot login derived from GET /app", slog.String("bot_login", login))
	return login
}
