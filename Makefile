# `make test` is the project's one test command: README and .ci/run both use it.
SHELL := bash
.SHELLFLAGS := -o pipefail -c
# Conformance groups to run (a go test -run expression over conformance/, e.g. GROUPS='TestCore_'); empty
# runs the groups that have landed, listed in scripts/conformance.sh with the unbuilt ones it skips by name.
GROUPS ?=
FUZZTIME ?= 30s

.PHONY: test unit lint conformance conformance-postgres crash fuzz bench build run release

# PostgreSQL-backed tests use CLAVIS_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test); they
# skip with a reason when no server is reachable and CLAVIS_TEST_POSTGRES is unset.
# Both conformance passes run even when the first fails, so one run shows every failure.
test: unit
	@status=0; $(MAKE) --no-print-directory conformance || status=1; \
	  $(MAKE) --no-print-directory conformance-postgres || status=1; exit $$status

unit:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go vet ./...
	go test -race -count=1 ./...

# Static analysis: staticcheck and gosec over the module, test files included (gosec skips them unless
# given -tests; staticcheck checks them by default). Any finding fails; every check runs even when one
# fails. A false positive carries `#nosec G123 -- reason` on its line (or the line above its statement);
# gosec's own -nosec-require-* flags only warn, so a grep fails on a #nosec without a rule or a reason.
# conformance/ is a separate module (an upstream copy, see conformance/UPSTREAM): ./...
# leaves it out for staticcheck, and gosec, which walks directories instead, is told to skip it.
# .ci/run installs both at the pinned versions; elsewhere: go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
# and go install github.com/securego/gosec/v2/cmd/gosec@v2.30.0.
STATICCHECK ?= staticcheck
GOSEC ?= gosec
lint:
	@status=0; \
	  echo '$(STATICCHECK) ./...'; $(STATICCHECK) ./... || status=1; \
	  echo '$(GOSEC) -tests ./...'; \
	  $(GOSEC) -quiet -tests -exclude-dir=conformance ./... || status=1; \
	  bad=$$(git grep -nE '#nosec|gosec:disable' -- '*.go' ':!conformance/' | grep -vE '(#nosec|gosec:disable)( G[0-9]+)+ -- [^ ]'); \
	  if [ -n "$$bad" ]; then echo "#nosec without a rule or a reason (write #nosec G123 -- reason):"; echo "$$bad"; status=1; fi; \
	  exit $$status

conformance:
	CONFORMANCE_GROUPS='$(GROUPS)' scripts/conformance.sh

# The same groups against a server on a fresh PostgreSQL database (skipped when psql cannot reach one).
conformance-postgres:
	@if psql "$${CLAVIS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" -qc 'select 1' >/dev/null 2>&1; then \
	  CONFORMANCE_BACKEND=postgres CONFORMANCE_GROUPS='$(GROUPS)' scripts/conformance.sh; \
	else echo "conformance-postgres: skipped, no PostgreSQL reachable (set CLAVIS_TEST_POSTGRES)"; fi

# Crash durability at CI size: kill -9 during concurrent writes, restart, check (SQLite 20 cycles and
# 10 000 acknowledged writes; PostgreSQL 5 cycles on a fresh database when one is reachable).
PG_ADMIN = $${CLAVIS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
crash:
	CLAVIS_CRASH_CYCLES=20 CLAVIS_CRASH_WRITES=10000 go test -count=1 -run TestCrashDurability -v ./internal/crashtest/ | grep -E 'crash test:|^(ok|FAIL|---)'
	@if psql "$(PG_ADMIN)" -qc 'select 1' >/dev/null 2>&1; then \
	  db=clavis_crash_$$$$; psql "$(PG_ADMIN)" -qc "CREATE DATABASE $$db" && \
	  base=$$(echo "$(PG_ADMIN)" | sed 's/?.*//; s#/[^/]*$$##'); \
	  CLAVIS_CRASH_DATABASE="$$base/$$db?sslmode=disable" CLAVIS_CRASH_CYCLES=5 CLAVIS_CRASH_WRITES=2500 \
	    go test -count=1 -run TestCrashDurability -v ./internal/crashtest/ | grep -E 'crash test:|^(ok|FAIL|---)'; st=$${PIPESTATUS[0]}; \
	  psql "$(PG_ADMIN)" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; exit $$st; \
	else echo "crash (PostgreSQL): skipped, no PostgreSQL reachable"; fi

# Runs every fuzz target for FUZZTIME (beyond the seed corpora that `go test` always runs).
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# Runs the Go benchmarks once, briefly: they keep compiling and running; no timing is asserted.
bench:
	go test -run '^$$' -bench . -benchtime 100x ./internal/...

build:
	go build -o bin/clavis ./cmd/clavis

run:
	go run ./cmd/clavis server --dev

# Static release binaries (CGO off: no PKCS#11/HSM support in them) for RELEASE_PLATFORMS in dist/, with
# the version and commit stamped (`clavis version` prints both) and a SHA256SUMS file.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64
release:
	@rm -rf dist && mkdir -p dist
	@for p in $(RELEASE_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; out=dist/clavis-$(VERSION)-$$os-$$arch; \
	  echo "building $$out"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath \
	    -ldflags '-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)' -o $$out ./cmd/clavis || exit 1; \
	done
	cd dist && sha256sum clavis-* > SHA256SUMS
