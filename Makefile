# Two commands on a fresh machine: `make run` and `make test`. Both set up what they need first:
# a pinned uv in .tools/, then the locked dependencies (uv.lock) in .venv/.
PY ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced-$(UV_VERSION)-bytecode
NATIVE := src/casebridge/native/_sha256x.so
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test setup lint typecheck pytest clean

run: setup
	$(VENV)/bin/casebridge demo

test: setup lint typecheck pytest

setup: $(STAMP) $(NATIVE)

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): $(UV) pyproject.toml uv.lock
	# --compile-bytecode: installed packages ship their .pyc, so a CLI start does not
	# recompile them (it would, every time, where PYTHONDONTWRITEBYTECODE is set)
	$(UV) sync --frozen --compile-bytecode --python $(PY)
	touch $@

# SHA-256 of many pages at once (src/casebridge/native/sha256x.c), with gcc and the Python
# headers. casebridge runs without it (hashlib, one page at a time: slower where the CPU has
# no SHA instructions), so a machine without gcc only gets a warning; where gcc is, the tests
# check that it was built.
$(NATIVE): src/casebridge/native/sha256x.c src/casebridge/native/sha256x_lanes.h $(STAMP)
	@if command -v gcc >/dev/null 2>&1; then \
	  echo "gcc: building $@"; \
	  gcc -O3 -shared -fPIC -Wall -Wextra -o $@ $< \
	    -I"$$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"; \
	else \
	  echo "warning: no gcc: $@ not built; pages are hashed with hashlib (slower without SHA-NI)"; \
	fi

lint:
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck:
	$(VENV)/bin/mypy

pytest:
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache $(NATIVE)
