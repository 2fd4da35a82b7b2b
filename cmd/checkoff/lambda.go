package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/internal/pipelineevent"
	"github.com/checkoff-app/checkoff/webhook"
)

// runLambda is the function's main: everything is built once here, at init,
// and reused across warm invocations.
func runLambda() int {
	log := newLogger(os.Stderr, true, slog.LevelInfo)
	ctx := context.Background()
	cfg, err := loadConfig(os.Getenv)
	var rt *runtime
	if err == nil {
		rt, err = buildRuntime(ctx, cfg, runtimeOptions{lambda: true, logger: log, dryOut: os.Stdout})
	}
	if err != nil {
		// Init failure: tell the Runtime API, so Lambda reports it and
		// retries the cold start; aws-lambda-go has no call for this.
		log.Error("init failed", "err", err)
		if rerr := reportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), err); rerr != nil { // set: main checked
			log.Error("report init error", "err", rerr)
		}
		return exitUsage
	}
	lambda.Start(lambdaHandler(rt))
	return exitOK
}

// reportInitError posts err to the Runtime API's init/error endpoint.
func reportInitError(api string, err error) error {
	body, _ := json.Marshal(map[string]any{"errorMessage": err.Error(), "errorType": "Runtime.InitError"})
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
	resp, rerr := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if rerr != nil {
		return rerr
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("init/error answered %s", resp.Status)
	}
	return nil
}

// lambdaHandler routes the function's three kinds of invocation.
func lambdaHandler(rt *runtime) *webhook.Lambda {
	return &webhook.Lambda{
		HTTP:   rt.dispatcher,
		Logger: rt.log,
		PipelineAction: func(ctx context.Context, ev pipelineevent.ActionEvent) error {
			if rt.gate == nil {
				return fmt.Errorf("pipeline event for %s: no release gate configured", ev.Pipeline)
			}
			_, err := rt.gate.HandleActionEvent(ctx, ev)
			return err
		},
		Schedule: func(ctx context.Context) error {
			// The store remembers each delivery's first attempt across runs,
			// so one that always fails is retired by age on a busy App too.
			res, err := app.Sweep(ctx, rt.clients.App(), app.SweepOptions{Store: rt.store})
			webhook.LoggerFrom(ctx).Info("sweep", "scanned", res.Scanned, "failed", res.Failed, "redelivered", res.Redelivered,
				"gave_up", res.GaveUp, "expired", res.Expired)
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
