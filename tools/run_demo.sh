#!/usr/bin/env bash
# `make demo`: the main job on the embedded default, the generated sample set.
set -euo pipefail
OUT=${1:-work_dirs/demo}
echo "mmstt demo: nothing to run yet besides the import check" >&2
.venv/bin/python -c "import mmstt, mmaction.models; print('mmstt', mmstt.__version__, 'imports and mmaction.models loads')"
