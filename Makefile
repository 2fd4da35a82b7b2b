# checkoff — `make run` and `make test` are the two set-up commands; both
# install what they need on a fresh machine.

GO        ?= go
PORT      ?= 3000
FUZZTIME  ?= 5s
BENCHTIME ?= 1s
LAMBDA_ZIP := bin/checkoff-lambda.zip
# The release file the zip ships; pass the same file to serverless as
# --param=releases=FILE (serverless.yml derives its grants from it).
RELEASES  ?= contrib/releases.yml
# What `checkoff version` prints (cmd/checkoff's main.version and
# main.commit); releases are built from their tag (docs/releasing.md).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

export SLS_TELEMETRY_DISABLED := 1
export SLS_NOTIFICATIONS_MODE := off

.PHONY: all run test bench fuzz load attack lambda dist tools node-tools apt-tools zip-tool cfn-lint-tool vet clean

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
	$(GO) test -race -count=1 ./webhook/ ./handlers/ ./app/...
	@# A count, not a duration: go1.26's fuzz coordinator can fail a target
	@# with "context deadline exceeded" as a -fuzztime duration ends
	@# (go.dev/issue/75804, fixed in Go 1.27).
	$(MAKE) fuzz FUZZTIME=10000x

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

## bench: Go benchmarks with allocations
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

## fuzz: each fuzz target for FUZZTIME (a duration, or a count like 1000x)
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

## attack: 24 connections upload 25 MiB with a wrong signature while genuine deliveries flow; peak RSS < 150 MB (issue 9)
attack: node-tools
	CHECKOFF_ATTACK=1 $(GO) test -count=1 -run '^TestAttack$$' -v -timeout 10m ./cmd/checkoff/

## lambda: bin/checkoff-lambda.zip holding the arm64 `bootstrap` for provided.al2023
## and the release file RELEASES (default contrib/releases.yml) as releases.yml
lambda: zip-tool
	@test -f "$(RELEASES)" || { echo "RELEASES=$(RELEASES): no such file" >&2; exit 1; }
	@mkdir -p bin/lambda
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc,nosqlite -ldflags='$(LDFLAGS)' -o bin/lambda/bootstrap ./cmd/checkoff
	@cp "$(RELEASES)" bin/lambda/releases.yml
	@touch -t 202001010000 bin/lambda/bootstrap bin/lambda/releases.yml
	@rm -f $(LAMBDA_ZIP) && cd bin/lambda && zip -q -X -D ../checkoff-lambda.zip bootstrap releases.yml
	@ls -l $(LAMBDA_ZIP)

## dist: the release artifacts of VERSION in dist/: the Lambda zip (with the
## example release file) and its SHA-256 checksum (docs/releasing.md)
dist:
	@case "$(VERSION)" in v[0-9]*.[0-9]*.[0-9]*) ;; *) echo "dist: VERSION=$(VERSION) is not a release tag (vX.Y.Z)" >&2; exit 1;; esac
	@case "$(VERSION)" in *-dirty) echo "dist: the working tree has uncommitted changes" >&2; exit 1;; esac
	$(MAKE) lambda RELEASES=contrib/releases.yml
	@mkdir -p dist
	cp $(LAMBDA_ZIP) dist/checkoff-lambda-$(VERSION)-arm64.zip
	cd dist && sha256sum checkoff-lambda-$(VERSION)-arm64.zip > checkoff-lambda-$(VERSION)-arm64.zip.sha256
	@cat dist/checkoff-lambda-$(VERSION)-arm64.zip.sha256

tools: node-tools apt-tools zip-tool cfn-lint-tool
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

# cmark-gfm is the reference renderer for the differential parser test, so
# only tests need it; zip packs the Lambda artifact, which `make lambda`
# needs and nothing else.
apt-tools:
	@command -v cmark-gfm >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmark-gfm; }

zip-tool:
	@command -v zip >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip; }

clean:
	rm -rf bin dist .checkoff node_modules/.installed
