# Local development entry points. Postgres and NATS come from scripts/infra.sh:
# it uses the machine's servers when they answer and starts its own under var/ otherwise.
CARGO ?= cargo

.PHONY: infra build run test bench lint fmt clean-var

infra:
	bash scripts/infra.sh up

build:
	$(CARGO) build --release --workspace --bins
	@if [ -f web_dashboard/package.json ]; then \
		echo "cd web_dashboard && npm ci && npm run build"; \
		cd web_dashboard && npm ci && npm run build; \
	else \
		echo "web_dashboard/package.json not present, dashboard build skipped"; \
	fi

run: infra build
	bash scripts/run.sh

test: infra
	CARGO='$(CARGO)' bash scripts/test.sh

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
