#!/usr/bin/env bash
# `make bench`: gas snapshot (bench/gas.md) and throughput tables (bench/*.md).
# Each table is headed with the command that produced it. Machines here are noisy:
# compare ratios measured in one run, not absolute figures across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DATASOIL_GAS_OUT="$PWD/bench/gas"
rm -rf "$DATASOIL_GAS_OUT" && mkdir -p "$DATASOIL_GAS_OUT"
echo "== gas: the operations of tests/gas, recorded by the gas_log fixture"
APE_FOUNDRY_HOST="http://127.0.0.1:$($PY -m datasoil.app.node free-port)" \
  .venv/bin/ape test tests/gas -q -p no:cacheprovider
$PY bench/gas_table.py "$DATASOIL_GAS_OUT" > bench/gas.md
echo "wrote bench/gas.md"
echo "== throughput"
$PY bench/bench_cid.py --size-mib 256 --repeat 3
$PY bench/bench_fetch.py --size-mib 256 --repeat 3
$PY bench/bench_rows.py
$PY bench/bench_clean.py --rows 3000000 --repeat 2
$PY bench/bench_train.py
$PY bench/bench_boa.py
$PY bench/bench_publish.py --size-mib 1024
