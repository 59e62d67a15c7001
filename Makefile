# flare: build, run and test.
#   make run    - set up, then the Monte Carlo pi example on a local cluster
#   make test   - set up, then the C++ tests (ctest) and the Python tests (pytest)
#   make bench  - C++ hot-path benchmarks and the Python microbenchmark

PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
BUILD   := build/py
APT_PACKAGES := g++ make cmake pkg-config libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev \
                protobuf-compiler libboost-dev libbenchmark-dev libgtest-dev iproute2 \
                libsqlite3-dev redis-server
PIP_BUILD_DEPS := scikit-build-core pybind11
CMAKE_DEFINES := --config-settings=cmake.define.FLARE_BUILD_TESTS=ON

.PHONY: setup system-packages venv install run test test-cpp test-python bench clean

setup: system-packages venv install

# Installs missing Debian packages when run as root; otherwise prints the command.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

venv: $(VENV)/.ready

$(VENV)/.ready: pyproject.toml
	@$(PYTHON3) -c "import venv, ensurepip" 2>/dev/null || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get install -y -qq python3-venv python3-dev; \
	  else echo "run: sudo apt-get install -y python3-venv python3-dev"; exit 1; fi; }
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(PIP_BUILD_DEPS) cloudpickle numpy pytest pytest-timeout
	touch $@

# Builds flare-raylet, flare._core and the C++ tests in $(BUILD) and installs
# the package into the venv (incremental: the build directory is kept).
install: venv
	$(PY) -m pip install -q --no-build-isolation $(CMAKE_DEFINES) \
	  --config-settings=build-dir=$(BUILD) ".[test]"

run: setup
	$(PY) examples/monte_carlo_pi.py

test: setup test-cpp test-python

test-cpp:
	ctest --test-dir $(BUILD) --output-on-failure --timeout 120 -j2

test-python:
	$(PY) -m pytest tests -q -p no:cacheprovider

bench: setup
	cmake -S . -B build/bench -DFLARE_BUILD_BENCH=ON -DFLARE_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/bench -j2
	@for b in build/bench/*_bench; do echo "== $$b"; $$b --benchmark_min_time=0.2; done
	$(PY) bench/microbench.py

clean:
	rm -rf build dist *.egg-info
