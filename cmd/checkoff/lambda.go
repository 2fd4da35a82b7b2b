package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/webhook"
)

// runLambda is the function's main: everything is built once here, at init,
// and reused across warm invocations.
func runLambda() int {
	log := newLogger(os.Stderr, true, slog.LevelInfo)
	ctx := context.Background()
	rt, err := buildRuntime(ctx, runtimeOptions{lambda: true, logger: log, getenv: os.Getenv, dryOut: os.Stdout})
	if err != nil {
		// Init failure: Lambda reports it and retries the cold start.
		log.Error("init failed", "err", err)
		return exitUsage
	}
	lambda.Start(lambdaHandler(rt))
	return exitOK
}

// lambdaHandler routes the function's three kinds of invocation.
func lambdaHandler(rt *runtime) *webhook.Lambda {
	return &webhook.Lambda{
		HTTP:   rt.dispatcher,
		Logger: rt.log,
		PipelineAction: func(ctx context.Context, ev webhook.PipelineActionEvent) error {
			if rt.gate == nil {
				return fmt.Errorf("pipeline event for %s: no release gate configured", ev.Pipeline)
			}
			_, err := rt.gate.HandleActionEvent(ctx, release.ActionEvent{
				Pipeline: ev.Pipeline, ExecutionID: ev.ExecutionID, Stage: ev.Stage,
				Action: ev.Action, State: ev.State, Category: ev.Category,
			})
			return err
		},
		Schedule: func(ctx context.Context) error {
			res, err := app.Sweep(ctx, rt.clients.App(), app.SweepOptions{})
			webhook.LoggerFrom(ctx).Info("sweep", "scanned", res.Scanned, "failed", res.Failed, "redelivered", res.Redelivered, "gave_up", res.GaveUp)
			if rt.gate != nil {
				// Reconcile catches approvals whose events were lost.
				if _, gerr := rt.gate.ReconcileAll(ctx); gerr != nil && err == nil {
					err = gerr
				}
			}
			return err
		},
	}
}
