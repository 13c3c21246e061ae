# `make test` is the project's one test command: README and .ci/run both use it.
GROUPS ?= TestCore_

.PHONY: test unit conformance build run

test: unit conformance

unit:
	go vet ./...
	go test -race -count=1 ./...

conformance:
	CONFORMANCE_GROUPS='$(GROUPS)' scripts/conformance.sh

build:
	go build -o bin/clavis ./cmd/clavis

run:
	go run ./cmd/clavis server --dev
