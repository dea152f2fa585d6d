# Local development entry points. Postgres and NATS come from scripts/infra.sh:
# it uses the machine's servers when they answer and starts its own under var/ otherwise.
CARGO ?= cargo

.PHONY: infra build build-run web run test test-browser bench lint fmt clean-var up down logs images compose-validate k8s-validate deploy-validate

infra:
	bash scripts/infra.sh up

# Every binary of the workspace (benchmarks, test stack and tools included) and the web app.
build: web
	$(CARGO) build --release --workspace --bins

# What `make run` starts and nothing else: the four services, nats-auth (the local NATS's users)
# and the web app.
RUN_BINS = -p order-intake -p dashboard-api -p verification-mailer -p expiry-sweeper \
	-p gadai-bus --bins
build-run: web
	$(CARGO) build --release $(RUN_BINS)

web:
	@if [ -f web_dashboard/package.json ]; then \
		echo "cd web_dashboard && npm ci && npm run build"; \
		cd web_dashboard && npm ci && npm run build; \
	else \
		echo "web_dashboard/package.json not present, dashboard build skipped"; \
	fi

run: infra build-run
	bash scripts/run.sh

test: infra
	CARGO='$(CARGO)' bash scripts/test.sh

# Only the dashboard's browser tests (Chromium + playwright-core against the whole system).
test-browser: infra
	CARGO='$(CARGO)' bash scripts/browser-test.sh

bench: infra
	@if [ -f scripts/bench.sh ]; then \
		bash scripts/bench.sh; \
	else \
		echo "no benchmarks yet"; \
		exit 1; \
	fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean-var:
	bash scripts/infra.sh down
	rm -rf var

# --- Containers: the full stack with Docker Compose, the image, the deployment checks ----------
# `make up ARGS="--scale verification-mailer=3"`, `make logs ARGS=order-intake`.
COMPOSE ?= docker compose -f compose/docker-compose.yml --env-file compose/.env
IMAGE ?= gadai:local

up:
	@test -f compose/.env || { echo "compose/.env is missing: cp compose/.env.example compose/.env and set its secrets"; exit 1; }
	$(COMPOSE) up -d $(ARGS)

down:
	$(COMPOSE) down $(ARGS)

logs:
	$(COMPOSE) logs -f --tail=200 $(ARGS)

images:
	DOCKER_BUILDKIT=1 docker build -t $(IMAGE) .

# Schema and lint checks of compose/, k8s/ and the Dockerfile; no Docker engine or cluster needed.
compose-validate:
	bash scripts/validate-deploy.sh compose

k8s-validate:
	bash scripts/validate-deploy.sh k8s

deploy-validate:
	bash scripts/validate-deploy.sh all
