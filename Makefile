# The two commands of the README: `make demo` and `make test`. Both bootstrap first.
.PHONY: bootstrap demo test lint typecheck infra-check check clean

bootstrap:
	@bash infra/local/bootstrap.sh

demo: bootstrap
	@bash infra/local/demo.sh

test: bootstrap
	@bash infra/local/test.sh
	@bash infra/ci/static-checks.sh --tests

lint: bootstrap
	node_modules/.bin/biome check .
	trainer/.venv/bin/ruff check trainer data/sample
	trainer/.venv/bin/ruff format --check trainer data/sample

typecheck: bootstrap
	node_modules/.bin/tsc -b
	node_modules/.bin/tsc -p tsconfig.tests.json
	trainer/.venv/bin/mypy --config-file trainer/pyproject.toml trainer/src

# Deployment descriptions: Kustomize, checkov, actionlint, infra tests, cost report.
infra-check:
	@bash infra/ci/static-checks.sh

check: lint typecheck infra-check

clean:
	-./reefguard services stop
	rm -rf node_modules */node_modules */dist .reefguard trainer/.venv
