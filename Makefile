# stranger-things-nlp: the one door. `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3.11
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
# checkov pins boto3 1.35 and old packaging/networkx: it lives in a venv of its own.
TOOLS       := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
YES         ?=
DELETE_DATA ?=
STACKS      ?=
CFN_ROLE_ARN ?=
CFN_LINT    ?= $(VENV)/bin/cfn-lint
INFRA_ARGS   = --env $(ENV) $(foreach s,$(STACKS),--stack $(s)) $(if $(CFN_ROLE_ARN),--role-arn $(CFN_ROLE_ARN),)
ENV         ?= dev
DATA        ?= data/sample
OUT         ?= build/definition-$(ENV).json
PARAMS      ?=
PORT        ?= 8080

# Reproducible, quiet, single-threaded BLAS: tiny models on 2 cores are fastest this way.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export HF_HUB_OFFLINE ?= 1
export PYTHONDONTWRITEBYTECODE ?= 1

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-24s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml requirements/constraints.txt
	@command -v $(PYTHON_BOOT) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON_BOOT) not found; set PYTHON_BOOT=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -c requirements/constraints.txt "torch==2.13.0"
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e ".[pipeline,ml,serving,dev,app,bench]"
	@touch $(STAMP)

$(TOOLS_STAMP): requirements/checkov.txt
	@command -v $(PYTHON_BOOT) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON_BOOT) not found; set PYTHON_BOOT=...)"; exit 1; }
	@test -x $(TOOLS)/bin/python || $(PYTHON_BOOT) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet -r requirements/checkov.txt
	@touch $(TOOLS_STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv (when missing) and install the pinned dependencies

.PHONY: test
test: $(STAMP) browser ## Run the whole test suite offline (network sockets are blocked), browser tests included
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: browser
# The app's browser tests drive Debian's chromium (Playwright with executable_path: no downloaded
# browser). Installed here when missing and running as root with apt; otherwise the tests skip and say so.
browser: ## Install Debian's chromium for the app's browser tests when missing (as root)
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "browser tests: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser tests: installing Debian's chromium (about a minute)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; \
	else \
	  echo "browser tests: chromium is missing and this is not root; they will skip (as root: make browser)"; \
	fi

.PHONY: lint
lint: $(STAMP) $(TOOLS_STAMP) ## ruff, the import order; cfn-lint + checkov on infra/; workflow schema + zizmor (offline)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q -p no:cacheprovider tests/test_layers.py
	$(MAKE) --no-print-directory lint-infra lint-workflows

.PHONY: lint-infra
# checkov calls a guidelines URL unless BC_SKIP_MAPPING=TRUE; the update check is off too: offline.
lint-infra: $(TOOLS_STAMP) ## cfn-lint and checkov on infra/templates (offline)
	$(CFN_LINT) --non-zero-exit-code warning infra/templates/*.yaml
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(TOOLS)/bin/checkov --quiet --compact \
		--framework cloudformation --directory infra/templates

.PHONY: lint-workflows
lint-workflows: ## GitHub workflows: the vendored workflow JSON schema and zizmor's offline audits
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --no-progress .github/workflows

.PHONY: format
format: $(STAMP) ## Format the code with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

.PHONY: run-local
run-local: $(STAMP) ## Run the whole DAG locally on DATA (default data/sample) with conf/local.yaml
	$(PY) -m pipelines run-local --data $(DATA) $(ARGS)

.PHONY: serve-local
serve-local: $(STAMP) ## Serve the local endpoints over HTTP (GET /ping, POST /invocations) on PORT
	$(PY) -m pipelines serve-local --port $(PORT) $(if $(SEED),--seed $(SEED))

.PHONY: app
# ENV defaults to dev for the AWS targets; the app defaults to local unless ENV is given, and to port 7860.
APP_ENV  = $(if $(filter file,$(origin ENV)),local,$(ENV))
APP_PORT = $(if $(filter command line environment,$(origin PORT)),$(PORT),7860)
app: $(STAMP) ## The web app on 127.0.0.1: make app [ENV=local|dev|prod] [PORT=7860] (local starts serve-local)
	$(PY) -m app --env $(APP_ENV) --port $(APP_PORT) $(ARGS)

.PHONY: monitor-local
monitor-local: $(STAMP) ## Drift-check the traffic serve-local captured (.local/capture) against each model's baseline
	$(PY) -m pipelines monitor-local

.PHONY: mlflow-ui
MLFLOW_PORT ?= 5000
mlflow-ui: $(STAMP) ## Log the local runs' training/evaluation outputs into .local/mlflow and open the MLflow UI on MLFLOW_PORT
	$(PY) -m pipelines mlflow-sync
	MLFLOW_DISABLE_TELEMETRY=true $(VENV)/bin/mlflow ui --host 127.0.0.1 --port $(MLFLOW_PORT) \
		--backend-store-uri sqlite:///$(CURDIR)/.local/mlflow/mlflow.db \
		--default-artifact-root $(CURDIR)/.local/mlflow/artifacts

.PHONY: definition
definition: $(STAMP) ## Write the pipeline definition JSON for ENV to OUT (offline, deterministic)
	$(PY) -m pipelines definition --env $(ENV) --out $(OUT)

.PHONY: validate-pipeline
validate-pipeline: $(STAMP) ## Check ENV's definition: botocore's SageMaker shapes and enums, then the documented service rules
	$(PY) -m pipelines validate --env $(ENV)

.PHONY: plan
plan: $(STAMP) ## Diff ENV's definition against the deployed one; which steps recompute, why, at what cost
	$(PY) -m pipelines plan --env $(ENV)

.PHONY: upsert-pipeline
upsert-pipeline: $(STAMP) ## Print the plan, ask, then upload the code and create/update ENV's pipeline (YES=1: no question)
	$(PY) -m pipelines upsert --env $(ENV) $(if $(YES),--yes,)

.PHONY: start-pipeline
start-pipeline: $(STAMP) ## Start an execution for ENV; PARAMS="Name=value ..." overrides parameters
	$(PY) -m pipelines start --env $(ENV) $(foreach p,$(PARAMS),--param $(p))

.PHONY: diagram
diagram: $(STAMP) ## Draw the DAG (docs/pipeline.mmd and the mermaid block in README)
	$(PY) -m pipelines diagram --env $(ENV)

.PHONY: smoke-aws
smoke-aws: $(STAMP) ## Preflight, upsert and run a CPU/tiny-model smoke variant of ENV on AWS; prints cost; cleans up unless KEEP=1
	$(PY) -m pipelines smoke-aws --env $(ENV) $(if $(KEEP),--keep,)

.PHONY: iam-policy
# Not echoed: stdout is the JSON alone, so `make iam-policy ENV=dev > policy.json` is a valid document.
iam-policy: $(STAMP) ## Print the least-privilege policy of ROLE (job, default, or pipeline) for ENV
	@$(PY) -m pipelines iam-policy --env $(ENV) --role $(or $(ROLE),job)

.PHONY: build-containers
build-containers: $(STAMP) ## Build the project images (extend the AWS DLCs) and push them to ECR
	$(PY) -m pipelines build-containers --env $(ENV)

.PHONY: list-models
# The registry targets default to the local backend, whose environment is always `local` (what
# `make run-local` registers with); BACKEND=sagemaker uses ENV.
REGISTRY = $(PY) -m model_registry --backend $(or $(BACKEND),local) $(if $(filter sagemaker,$(BACKEND)),--env $(ENV),)

list-models: $(STAMP) ## List model package groups and versions with metrics (BACKEND=local|sagemaker)
	$(REGISTRY) list

# GROUP, VERSION and NOTE are user text: they reach the command through the environment, quoted by the
# shell ("$$REVIEW_NOTE"), never pasted into the recipe, so quotes, `;`, backticks and $(...) in a note
# stay text. $(value ...) takes them unexpanded, and unexport stops make from expanding them (a
# $(shell ...) in a command-line value would run) when it passes command-line variables on.
unexport GROUP VERSION NOTE
approve-model reject-model: export REVIEW_GROUP = $(value GROUP)
approve-model reject-model: export REVIEW_VERSION = $(value VERSION)
approve-model reject-model: export REVIEW_NOTE = $(value NOTE)
REVIEW_USAGE = { echo "usage: make $@ GROUP=<model package group> VERSION=<n> [NOTE=...]" >&2; exit 2; }

.PHONY: approve-model
approve-model: $(STAMP) ## Approve GROUP's VERSION (deploys it); NOTE="..." optional; FORCE=1 if it scores below the live one
	@test -n "$$REVIEW_GROUP" && test -n "$$REVIEW_VERSION" || $(REVIEW_USAGE)
	$(REGISTRY) approve "$$REVIEW_GROUP" "$$REVIEW_VERSION" --note "$$REVIEW_NOTE"$(if $(FORCE), --force)

.PHONY: reject-model
reject-model: $(STAMP) ## Reject GROUP's VERSION (a live version rolls back); NOTE="..." optional
	@test -n "$$REVIEW_GROUP" && test -n "$$REVIEW_VERSION" || $(REVIEW_USAGE)
	$(REGISTRY) reject "$$REVIEW_GROUP" "$$REVIEW_VERSION" --note "$$REVIEW_NOTE"

# A/B and shadow (model_registry/variants.py). GROUP, VERSION, WEIGHT and NOTE reach the command through
# the environment, as for approve-model.
unexport WEIGHT
challenger-add challenger-weight challenger-promote challenger-abort variant-metrics: export REVIEW_GROUP = $(value GROUP)
challenger-add: export REVIEW_VERSION = $(value VERSION)
challenger-add challenger-weight: export CHALLENGER_WEIGHT = $(value WEIGHT)
challenger-promote challenger-abort: export REVIEW_NOTE = $(value NOTE)
CHALLENGER_USAGE = { echo "usage: make $@ GROUP=<group|chatbot|classifier> $(1)" >&2; exit 2; }

.PHONY: challenger-add
challenger-add: $(STAMP) ## A/B: put GROUP's VERSION beside the live one with WEIGHT (default 0.1), or SHADOW=1
	@test -n "$$REVIEW_GROUP" && test -n "$$REVIEW_VERSION" || $(call CHALLENGER_USAGE,VERSION=<n> [WEIGHT=0.1 | SHADOW=1])
	$(REGISTRY) challenger add "$$REVIEW_GROUP" "$$REVIEW_VERSION"$(if $(SHADOW), --shadow,$(if $(WEIGHT), --weight "$$CHALLENGER_WEIGHT"))

.PHONY: challenger-weight
challenger-weight: $(STAMP) ## Move GROUP's A/B split: WEIGHT is the challenger's share (0 < WEIGHT < 1)
	@test -n "$$REVIEW_GROUP" && test -n "$$CHALLENGER_WEIGHT" || $(call CHALLENGER_USAGE,WEIGHT=<share>)
	$(REGISTRY) challenger weight "$$REVIEW_GROUP" "$$CHALLENGER_WEIGHT"

.PHONY: challenger-promote
challenger-promote: $(STAMP) ## Approve GROUP's challenger: deployed alone, blue/green; FORCE=1 if it scores lower
	@test -n "$$REVIEW_GROUP" || $(call CHALLENGER_USAGE,[NOTE=...])
	$(REGISTRY) challenger promote "$$REVIEW_GROUP" $(if $(NOTE),--note "$$REVIEW_NOTE")$(if $(FORCE), --force)

.PHONY: challenger-abort
challenger-abort: $(STAMP) ## Remove GROUP's challenger (REJECT=1 also rejects it; NOTE="..." optional)
	@test -n "$$REVIEW_GROUP" || $(call CHALLENGER_USAGE,[REJECT=1] [NOTE=...])
	$(REGISTRY) challenger abort "$$REVIEW_GROUP"$(if $(REJECT), --reject --note "$$REVIEW_NOTE")

.PHONY: variant-metrics
variant-metrics: $(STAMP) ## Per-variant invocations, errors, latency side by side (local: serve-local on PORT)
	$(REGISTRY) variants $(if $(GROUP),"$$REVIEW_GROUP") $(if $(filter sagemaker,$(BACKEND)),,--server http://127.0.0.1:$(PORT))

.PHONY: infra-params
infra-params: $(STAMP) ## Write each stack's parameters for ENV, generated from conf (build/infra/ENV/)
	$(PY) -m infra params --env $(ENV)

.PHONY: infra-dashboard
infra-dashboard: $(STAMP) ## Rewrite the dashboard in infra/templates/operations.yaml from model_registry/dashboard.py
	$(PY) -m infra dashboard --write

.PHONY: infra-diff
infra-diff: $(STAMP) ## Show what deploy-infra would change in ENV (change sets, then deleted)
	$(PY) -m infra diff $(INFRA_ARGS)

.PHONY: deploy-infra
deploy-infra: $(STAMP) ## Create/update ENV's stacks via change sets; asks before each (YES=1; STACKS="storage ..." limits)
	$(PY) -m infra deploy $(INFRA_ARGS) $(if $(YES),--yes,)

.PHONY: infra-outputs
infra-outputs: $(STAMP) ## Write the stacks' outputs (the KMS key ARN) into conf/outputs/ENV.yaml
	$(PY) -m infra outputs --env $(ENV)

.PHONY: destroy-infra
destroy-infra: $(STAMP) ## Delete ENV's stacks; refuses while the bucket holds data (DELETE_DATA=1 empties it)
	$(PY) -m infra destroy --env $(ENV) $(if $(YES),--yes,) $(if $(DELETE_DATA),--delete-data,)

.PHONY: list-schedules
list-schedules: $(STAMP) ## List the project's retraining schedules
	$(PY) -m model_registry --backend sagemaker --env $(ENV) list-schedules

.PHONY: bench
bench: $(STAMP) ## Run the CPU benchmarks (processing, training, local run) and print their figures
	$(PY) benchmarks/processing.py
	$(PY) benchmarks/training.py
	$(PY) benchmarks/local_run.py

.PHONY: gpu-wheels
gpu-wheels: $(STAMP) ## Wheels a lent GPU machine lacks, into .whl/ (benchmarks/gpu_session.sh carries them)
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  -d .whl -c requirements/constraints.txt \
	  transformers peft accelerate trl datasets huggingface_hub dill multiprocess liger-kernel==0.8.5
	@du -sh .whl

.PHONY: bench-quality
bench-quality: $(STAMP) ## Gate figures and their baselines over seeds 1 7 42 (DATA=dir, default data/sample; minutes)
	$(PY) benchmarks/quality.py --data $(or $(DATA),data/sample)

.PHONY: lock
lock: $(STAMP) ## Refresh requirements/constraints.txt from the installed environment
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e ' > requirements/constraints.txt

.PHONY: lock-tools
lock-tools: $(TOOLS_STAMP) ## Refresh requirements/checkov.txt from .venv-tools
	{ head -2 requirements/checkov.txt; $(TOOLS)/bin/python -m pip freeze; } > requirements/checkov.txt.new
	mv requirements/checkov.txt.new requirements/checkov.txt

KEEP ?= 3

.PHONY: clean-runs
clean-runs: $(STAMP) ## Remove all but the last KEEP (3) local run folders; keeps the registry, model cards, deployed models, cache
	$(PY) -m pipelines.local.outputs prune --keep $(KEEP) --home .local

.PHONY: clean
clean: ## Remove .local (runs, step cache, registry, model cards, deployed models), build, test caches (keeps .venv)
	@echo "removing .local (runs, step cache, registry.db, model-cards, deployed models), build, .pytest_cache, .ruff_cache"
	@echo "  (to drop only old runs and keep the registry: make clean-runs KEEP=3)"
	rm -rf .local build .pytest_cache .ruff_cache
