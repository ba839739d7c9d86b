#!/usr/bin/env bash
# Creates .venv and installs Sightline into it. `--dev` adds the test and benchmark tools.
# torch goes first and alone: it takes the CPU build on disk instead of a multi-GB CUDA download.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
extra=""
[[ "${1:-}" == "--dev" ]] && extra="[dev]"
.venv/bin/pip install -q --disable-pip-version-check -e ".${extra}"
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
