#!/usr/bin/env bash
# The first run on a GPU machine, in one call (see benchmarks/gpu_run.py for the stages):
#
#     bash benchmarks/gpu_run.sh OUTDIR [--dry-run] [--stages a,b] [--budget SECONDS]
#
# Runs from a copy of the repository with minicnn NOT installed: the repository root goes on
# PYTHONPATH. The interpreter is $PYTHON, else python3. Installs nothing. Exit status 0 when
# every stage that ran passed; OUTDIR/summary.txt says which did not.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cd "$repo" || exit 2
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
python="${PYTHON:-python3}"
exec "$python" "$here/gpu_run.py" --python "$python" "$@"
