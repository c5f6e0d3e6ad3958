#!/usr/bin/env bash
# One entry point for the README's two commands and CI (so they cannot drift):
#   bash scripts/bootstrap.sh demo   # install, then run the embedded demo
#   bash scripts/bootstrap.sh test   # install, then run the whole test suite (all but `gpu`)
# Installs into ./.venv (override with NEUROCODEC_VENV). On this CPU machine a
# constraints file pins torch 2.13.0 CPU and torchvision 0.28.0 so no CUDA wheels
# are pulled in. GPU machines: set NEUROCODEC_CONSTRAINTS=none and install your
# CUDA build of torch/torchvision first (see README, "GPU machines").
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-}"
case "$what" in demo|test|install) ;; *) echo "usage: bash scripts/bootstrap.sh demo|test|install" >&2; exit 2;; esac

venv="${NEUROCODEC_VENV:-.venv}"
py="${PYTHON:-python3}"
constraints="${NEUROCODEC_CONSTRAINTS:-scripts/constraints-cpu.txt}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-1}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
pipc=()
if [ "$constraints" != "none" ]; then pipc=(-c "$constraints"); fi
stamp="$venv/.neurocodec-installed"
want="$(cat pyproject.toml "$constraints" 2>/dev/null | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/python" -m pip install -q --upgrade pip
  if [ "$constraints" != "none" ]; then
    "$venv/bin/python" -m pip install -q "${pipc[@]}" torch==2.13.0 torchvision==0.28.0
  fi
  "$venv/bin/python" -m pip install -q "${pipc[@]}" -e ".[test,bench]"
  echo "$want" > "$stamp"
fi

case "$what" in
  install) ;;
  demo) exec "$venv/bin/neurocodec" run configs/demo.yaml ;;
  test)
    echo "ruff check (configuration in pyproject.toml)"
    "$venv/bin/ruff" check . || { echo "ruff check failed: fix the lint errors above (ruff check --fix)." >&2; exit 1; }
    set +e
    "$venv/bin/python" -m pytest -m "not gpu" -p no:cacheprovider --timeout=900 tests
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing." >&2; exit 1; fi
    exit "$rc" ;;
esac
