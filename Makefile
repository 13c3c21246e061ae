# `make test` is the project's one test command: README and .ci/run both use it.
# The conformance groups that have landed (../shared/conformance test-name prefixes).
GROUPS ?= TestCore_|TestLifecycle_|TestPolicy_|TestAudit_|TestSecurity_|TestLimits_
FUZZTIME ?= 30s
# package:target pairs of every fuzz target
FUZZ_TARGETS = policy:FuzzMatch policy:FuzzEvaluate policy:FuzzParseConditions policy:FuzzValidatePath \
	policy:FuzzSplitVersionPath keyring:FuzzOpen token:FuzzVerify httpapi:FuzzDecode

.PHONY: test unit conformance fuzz bench build run

test: unit conformance

unit:
	go vet ./...
	go test -race -count=1 ./...

conformance:
	CONFORMANCE_GROUPS='$(GROUPS)' scripts/conformance.sh

# Runs every fuzz target for FUZZTIME (beyond the seed corpora that `go test` always runs).
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$fn ($$pkg, $(FUZZTIME))"; \
	  go test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./internal/$$pkg/ || exit 1; done

# Runs the Go benchmarks once, briefly: they keep compiling and running; no timing is asserted.
bench:
	go test -run '^$$' -bench . -benchtime 100x ./internal/...

build:
	go build -o bin/clavis ./cmd/clavis

run:
	go run ./cmd/clavis server --dev
