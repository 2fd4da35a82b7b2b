package main

import (
	"context"
)

// buildFromEnv is what every command does at start: read the environment
// env into a config, then build the runtime from it.
func buildFromEnv(ctx context.Context, env map[string]string, o runtimeOptions) (*runtime, error) {
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	return buildRuntime(ctx, cfg, o)
}
