# CountyDataSync. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/countysync
PKGS := ./...
# deploy/ is its own module: its tests need kustomize, the Kubernetes API,
# compose-go and buildkit, which the product does not. vet, test and
# test-unit run the go command in both modules.
DEPLOY_GO := $(GO) -C deploy

.PHONY: help build demo test test-unit services lint fmt vet bench bench-go fuzz clean proto

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/countysync
	$(GO) build -o $(BIN) ./cmd/countysync

demo: build ## write the demo county database and config, run it, list ./exports
	./$(BIN) demo --dir .

test: ## install/start PostGIS, Redis, MinIO if missing; vet both modules; run each Go benchmark once; the whole suite with -race; then deploy/'s tests
	@eval "$$(scripts/services.sh)" && \
	  $(GO) vet $(PKGS) && $(DEPLOY_GO) vet ./... && \
	  mkdir -p .build && \
	  { $(GO) test -run '^$$' -bench . -benchtime 1x ./internal/format/ ./internal/geometry/ ./internal/transform/ ./internal/source/postgres/ \
	      > .build/bench-compile.log 2>&1 || { cat .build/bench-compile.log; exit 1; }; } && \
	  $(GO) test -race -count=1 -timeout 30m $(PKGS) && \
	  $(DEPLOY_GO) test -count=1 ./...

test-unit: ## run the tests that need no services (integration tests skip)
	$(GO) test -count=1 $(PKGS)
	$(DEPLOY_GO) test -count=1 ./...

services: ## install/start the test services; prints the env to eval
	@scripts/services.sh

lint: fmt vet ## gofmt and go vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)
	$(DEPLOY_GO) vet ./...

bench: ## countysync vs psql \copy and ogr2ogr on seeded PostGIS parcels (BENCH_ROWS=1000000 for the large run); writes BENCHMARKS.md
	scripts/bench.sh

bench-go: ## Go benchmarks of writers and geometry decoding
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fuzz: ## run each fuzz target for 30s
	@for t in $$(grep -rl 'func Fuzz' --include='*_test.go' internal | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho 'func Fuzz[A-Za-z0-9_]*' $$t/*_test.go | sed 's/func //'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 30s ./$$t || exit 1; done; done

proto: ## regenerate proto/countysync/v1/*.pb.go (needs protoc: apt-get install protobuf-compiler)
	@mkdir -p .build/bin
	$(GO) build -o .build/bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	protoc --plugin=protoc-gen-go=.build/bin/protoc-gen-go --go_out=. --go_opt=paths=source_relative proto/countysync/v1/*.proto

clean: ## remove build output and demo files
	rm -rf bin exports county-demo.sqlite countysync.demo.yaml .build
