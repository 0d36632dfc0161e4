# The two commands of the README: `make demo` and `make test`. Both bootstrap first.
.PHONY: bootstrap demo test lint typecheck check clean

bootstrap:
	@bash infra/local/bootstrap.sh

demo: bootstrap
	@bash infra/local/demo.sh

test: bootstrap
	@bash infra/local/test.sh

lint: bootstrap
	node_modules/.bin/biome check .
	trainer/.venv/bin/ruff check trainer data/sample
	trainer/.venv/bin/ruff format --check trainer data/sample

typecheck: bootstrap
	node_modules/.bin/tsc -b
	node_modules/.bin/tsc -p tsconfig.tests.json
	trainer/.venv/bin/mypy trainer/src

check: lint typecheck

clean:
	-./reefguard services stop
	rm -rf node_modules */node_modules */dist .reefguard trainer/.venv
