# checkoff — `make run` and `make test` are the two set-up commands; both
# install what they need on a fresh machine.

GO        ?= go
PORT      ?= 3000
FUZZTIME  ?= 5s
BENCHTIME ?= 1s
LAMBDA_ZIP := bin/checkoff-lambda.zip

export SLS_TELEMETRY_DISABLED := 1
export SLS_NOTIFICATIONS_MODE := off

.PHONY: all run test bench fuzz load lambda tools node-tools apt-tools cfn-lint-tool vet clean

# AWS's CloudFormation linter; deploy/ and contrib/ tests run it on the
# packaged serverless.yml and contrib/pipeline.yml (deploy.CfnLintVersion).
CFN_LINT_VERSION := 1.51.0

all: test

## run: local server in dry-run with the embedded store (no GitHub credentials needed);
## bob-reviews is treated as a writer so the README walkthrough shows counted reviewer ticks
run:
	$(GO) run ./cmd/checkoff serve --writers bob-reviews

## test: vet, unit/scenario tests (with dynalite, cmark-gfm, serverless package, cfn-lint), brief fuzzing
test: tools lambda vet
	CHECKOFF_LAMBDA_ZIP=$(CURDIR)/$(LAMBDA_ZIP) $(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./webhook/ ./app/...
	$(MAKE) fuzz FUZZTIME=3s

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

## bench: Go benchmarks with allocations
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

## fuzz: each fuzz target for FUZZTIME
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for fn in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

## load: checkoff serve under 200 concurrent signed deliveries, fake GitHub at 0 and 20 ms (docs/performance.md)
load: node-tools
	CHECKOFF_LOAD=1 $(GO) test -count=1 -run '^TestLoad$$' -v -timeout 10m ./cmd/checkoff/

## lambda: bin/checkoff-lambda.zip holding the arm64 `bootstrap` for provided.al2023
lambda: apt-tools
	@mkdir -p bin/lambda
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w' -o bin/lambda/bootstrap ./cmd/checkoff
	@cp contrib/releases.yml bin/lambda/releases.yml
	@touch -t 202001010000 bin/lambda/bootstrap bin/lambda/releases.yml
	@rm -f $(LAMBDA_ZIP) && cd bin/lambda && zip -q -X -D ../checkoff-lambda.zip bootstrap releases.yml
	@ls -l $(LAMBDA_ZIP)

tools: node-tools apt-tools cfn-lint-tool
	$(GO) mod download

# cfn-lint is a Python tool: not installed from here (make has no business
# choosing a Python), but a missing one stops `make test` with the fix
# rather than letting the lint tests skip. .ci/run installs it.
cfn-lint-tool:
	@command -v cfn-lint >/dev/null || { \
		echo "cfn-lint not found: install it with  pip install cfn-lint==$(CFN_LINT_VERSION)" >&2; exit 1; }
	@v=$$(cfn-lint --version | sed 's/^cfn-lint //'); [ "$$v" = "$(CFN_LINT_VERSION)" ] || \
		echo "warning: cfn-lint $$v, pinned $(CFN_LINT_VERSION) (pip install cfn-lint==$(CFN_LINT_VERSION)); findings may differ" >&2

# npm ci only when the lockfile changed since the last install.
node-tools: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# cmark-gfm is the reference renderer for the differential parser test; zip
# packs the Lambda artifact.
apt-tools:
	@command -v cmark-gfm >/dev/null && command -v zip >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmark-gfm zip; }

clean:
	rm -rf bin .checkoff node_modules/.installed
