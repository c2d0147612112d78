# One obvious way to run things. `make demo` and `make test` do all set-up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/seawall demo

test: $(STAMP)
	$(BIN)/ruff check seawall tests bench scripts
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/replay_throughput.py
	$(BIN)/python bench/model_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
