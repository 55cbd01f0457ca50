# Two commands for a fresh machine:  `make demo` (the main job) and `make test`.
# Both create the virtual environment .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := plugins/attribkit-example

.PHONY: demo test install clean

$(STAMP): pyproject.toml constraints.txt $(EXAMPLE)/pyproject.toml $(EXAMPLE)/attribkit_example/__init__.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all,dev,ray]"
	# The example plugin is installed for real (not editable), as a user would.
	$(BIN)/python -m pip install --quiet -c constraints.txt --force-reinstall --no-deps ./$(EXAMPLE)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/attribkit demo --out attribkit-demo.html

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info attribkit-demo.html
