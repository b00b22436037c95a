#!/usr/bin/env bash
# Issue #17's GPU checks as one prepared command for a lent device machine (15 minutes of device time a
# session, no network there, 64 MiB of files carried; see README "Models: training, evaluation, serving").
#
#   here:   make gpu-wheels                     # once: .whl/ with what the device image lacks (~18 MiB)
#   device: bash benchmarks/gpu_session.sh      # run(command=..., carry=[".whl"], timeout_s=560)
#   CPU:    GPU_SESSION_DEVICE=cpu bash benchmarks/gpu_session.sh   # the same steps on CPU (harness check)
#
# The device image has torch, triton and (older) transformers/peft; .whl/ carries the versions this
# project pins (requirements/constraints.txt), TRL for the `trl-packed` rows and liger-kernel for the fused
# cross-entropy. Every step has its own time limit so one slow step cannot eat the others' minutes, and
# every log lands in $OUT (the device tool brings it back) or build/gpu-session.
set -uo pipefail

DEVICE="${GPU_SESSION_DEVICE:-cuda}"
OUT="${OUT:-build/gpu-session}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"

if [ "$DEVICE" = cuda ]; then
  if [ ! -d .whl ]; then
    echo "no .whl/ here: run 'make gpu-wheels' and carry .whl" >&2
    exit 2
  fi
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PWD"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/device.txt"
else
  PYTHON="${PYTHON_CPU:-.venv/bin/python}"
  export PYTHONPATH="$PWD"
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-8}" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

"$PYTHON" - <<'EOF' | tee "$OUT/versions.txt"
import importlib
for name in ("torch", "transformers", "peft", "accelerate", "trl", "liger_kernel", "triton"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as exc:  # a missing optional kernel library is a fact to report, not a failure
        print(f"{name} missing ({type(exc).__name__})")
import torch
print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
EOF

status=0
step() {  # step NAME SECONDS COMMAND...: run with a limit, log to $OUT/NAME.log, remember a failure
  local name="$1" limit="$2"
  shift 2
  echo "== $name (limit ${limit}s)"
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc="${PIPESTATUS[0]}"
  echo "== $name: exit $rc"
  [ "$rc" = 0 ] || status=1
}

if [ "$DEVICE" = cuda ]; then
  step pytest-gpu 150 "$PYTHON" -m pytest -m gpu tests/containers/training -q -p no:cacheprovider
  step training 240 "$PYTHON" benchmarks/training.py --device cuda --steps 8 --out "$OUT/training.json"
  step generation 100 "$PYTHON" benchmarks/generation.py --device cuda --model qwen2.5-1.5b
else
  step training 300 "$PYTHON" benchmarks/training.py --device cpu --steps 2 --models tiny-qwen2 \
    --packed-batch-size 0 --no-trl --out "$OUT/training.json"
  step generation 200 "$PYTHON" benchmarks/generation.py --device cpu --prompts 32
fi
exit "$status"
