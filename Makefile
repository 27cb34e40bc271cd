# Maple — set-up, run and test. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: run test bench bench-overhead system-deps browser-deps redis clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	@echo "Installing Maple (the first install compiles llama.cpp: allow ~10 minutes)…"
	$(BIN)/pip install -e .
	touch $@

$(TESTSTAMP): $(STAMP)
	$(BIN)/pip install -e '.[test,browser]'
	touch $@

system-deps:
	@if ! command -v redis-server >/dev/null; then \
	  if [ "$(ROOT)" = yes ]; then apt-get update -qq && apt-get install -y -qq redis-server; \
	  else echo "redis-server is missing: run  sudo apt-get install -y redis-server"; fi; fi

browser-deps:
	@if ! [ -x /usr/bin/chromium ]; then \
	  if [ "$(ROOT)" = yes ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "chromium is missing: run  sudo apt-get install -y chromium"; fi; fi

redis: system-deps
	@$(PY) -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1',6379)))" 2>/dev/null \
	  || (echo "starting redis-server on 127.0.0.1:6379"; redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; sleep 1)

# `maple start` reads the same settings as every `maple` command (the environment, then .env) and says what it
# starts: `maple serve` when SLACK_BOT_TOKEN is set, the local workspace (`maple dev`) otherwise.
run: $(STAMP) redis
	@exec $(BIN)/maple start

test: $(TESTSTAMP) redis browser-deps
	$(BIN)/ruff check bot handlers integrations config workspace tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(TESTSTAMP) redis
	$(BIN)/python benchmarks/ack.py
	$(BIN)/python benchmarks/routing.py
	$(BIN)/python benchmarks/classify.py
	$(BIN)/python benchmarks/sensitivity.py
	$(BIN)/python benchmarks/schedules.py
	$(BIN)/python benchmarks/retrieval.py
	$(MAKE) bench-overhead

# Maple's orchestration overhead side by side with LangGraph (in memory and on the machine's PostgreSQL).
# LangGraph is installed into the venv for this benchmark only; Maple never imports it.
bench-overhead: $(TESTSTAMP) redis
	$(BIN)/python benchmarks/overhead.py --install

clean:
	rm -rf $(VENV) *.egg-info test-artifacts
