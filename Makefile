# Telnyx Billing Sync — the commands a user and CI type. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
STACK := infra/local/stack.sh
WITH_STACK := infra/local/with-stack.sh
CARGO_LAMBDA := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda
export SAM_CLI_TELEMETRY := 0
# The functions' processor for sam-build (the template's Architecture parameter).
ARCH ?= arm64
# SAM_BUILD_LIGHT=1 (CI): the same `sam build`, with Cargo's release profile lightened
# through its CARGO_PROFILE_RELEASE_* variables (no LTO, opt-level 0, many codegen units),
# into .aws-sam/light (never .aws-sam/build, which `sam deploy` reads) and without SAM's
# build cache, so the build path and both bootstraps are checked in minutes and what it
# builds can never be deployed by mistake.
SAM_BUILD_LIGHT ?=
SAM_BUILD_DIR := $(if $(filter 1,$(SAM_BUILD_LIGHT)),.aws-sam/light,.aws-sam/build)
SAM_BUILD_ENV := $(if $(filter 1,$(SAM_BUILD_LIGHT)),CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256,)
SAM_BUILD_FLAGS := $(if $(filter 1,$(SAM_BUILD_LIGHT)),--no-cached --build-dir $(SAM_BUILD_DIR),)

.PHONY: help demo test lint fmt build bench sim-up stack-up stack-down stack-status stack-env tools watch invoke-scheduler invoke-account-sync sam-validate sam-build sam-artifacts clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

demo: ## Start the local stack and run the product's main job end to end on the real function binaries (stack stays up; 3-4 minutes)
	$(STACK) up
	cargo build --quiet -p account-sync -p scheduler
	. .local/stack.env && cargo run --quiet -p integration-tests --bin demo
	@echo "The local stack is still running: 'make stack-down' stops it."

test: lint sam-validate ## fmt, clippy, sam validate --lint and the whole test suite (starts and stops the local stack itself)
	$(WITH_STACK) sh -c 'cargo nextest run --workspace --all-features && cargo test --workspace --all-features --doc'

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

fmt: ## Format the code
	cargo fmt --all

build: ## Build everything (debug)
	cargo build --workspace --all-targets

bench: ## Benchmarks that print their `name: value` figures (release builds, local stack; about 55 minutes)
	cargo bench -p telnyx-client --bench parse
	cargo build --release -p account-sync -p scheduler -p billing-admin
	cargo build --release -p integration-tests --bin bench
	$(WITH_STACK) target/release/bench $(PARTS)

stack-up: ## Start DynamoDB Local + moto and create the resources (idempotent)
	$(STACK) up

stack-down: ## Stop the local stack (fine when nothing runs)
	$(STACK) down

stack-status: ## Is the local stack running?
	$(STACK) status

stack-env: ## Print the exports that point a shell at the local stack
	@$(STACK) env

tools: ## Install cargo-lambda, aws-sam-cli and cfn-lint into .venv
	@[ -x $(VENV)/bin/python ] || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/local/requirements-tools.txt

sim-up: ## Start the Telnyx simulator binary (sample reseller) on port 8787
	$(STACK) sim-up

watch: tools stack-up sim-up ## Run both functions under `cargo lambda watch` (local stack + simulator; run `make demo` once first to onboard the sample)
	$(CARGO_LAMBDA) watch --env-file .local/functions.env

invoke-scheduler: tools ## Invoke the scheduler running under `make watch` with events/scheduler.json
	$(CARGO_LAMBDA) invoke scheduler --data-file events/scheduler.json

invoke-account-sync: tools ## Invoke account-sync running under `make watch` with events/account-sync-manual.json
	$(CARGO_LAMBDA) invoke account-sync --data-file events/account-sync-manual.json

sam-validate: tools ## Validate template.yaml (sam validate --lint, and cfn-lint with its informational checks)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sam validate --lint --region us-east-1
	$(VENV)/bin/cfn-lint --include-checks I --non-zero-exit-code informational -- template.yaml

sam-build: tools ## Build both functions with SAM for ARCH=arm64 (default) or ARCH=x86_64 (cargo lambda + zig from PyPI into .venv), then check both bootstraps start
	ARCH=$(ARCH) infra/local/check-sam-build.sh
	$(SAM_BUILD_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sam build $(SAM_BUILD_FLAGS) --parameter-overrides Architecture=$(ARCH)
	ARCH=$(ARCH) SAM_BUILD_DIR=$(SAM_BUILD_DIR) infra/local/check-sam-artifacts.sh

sam-artifacts: ## Check the last sam-build: both bootstraps exist for ARCH and start, naming their missing configuration
	ARCH=$(ARCH) SAM_BUILD_DIR=$(SAM_BUILD_DIR) infra/local/check-sam-artifacts.sh

clean: stack-down ## Stop the stack and remove build output
	cargo clean
	rm -rf .aws-sam
