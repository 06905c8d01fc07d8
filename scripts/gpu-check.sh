#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, the CUDA tests, `lesson1 --device cuda` and
# `bench --device cuda` beside PyTorch on the same GPU, with everything they print kept in
# runs/gpu-check/<time>/ (summary.md first).
#
#   scripts/gpu-check.sh                     # on the GPU machine, with Rust: build, then run
#   scripts/gpu-check.sh --bundle DIR        # here, without a GPU: build the CUDA binaries
#                                            # (needs scripts/cuda-toolchain.sh) into DIR
#   scripts/gpu-check.sh --from-bundle DIR   # on the GPU machine, without Rust: run DIR's
#
# Options (after the mode): --skip-bench, --skip-lesson1, --bench-runs N (default 5),
# --python PY (a Python with torch on CUDA for the bench's reference side; default: python3 if
# it has one, else the bench runs without PyTorch and says so).
#
# The bundle holds the xtask binary and the CUDA test binaries (stripped), nothing else: run
# --from-bundle from a checkout of the same commit (the embedded data and datasets/ are read
# from it). At run time they need the driver's libcuda.so.1 and the CUDA 13 libraries cudart,
# cuBLAS, cuRAND and NVRTC: the system's, or those of NVIDIA's wheels (found in any Python's
# site-packages/nvidia/cu13/lib), or a lib/ folder put beside the binaries.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

mode=run
bundle=""
case "${1:-}" in
    --bundle) mode=bundle; bundle="${2:?--bundle needs a folder}"; shift 2 ;;
    --from-bundle) mode=from-bundle; bundle="${2:?--from-bundle needs a folder}"; shift 2 ;;
esac
skip_bench=0
skip_lesson1=0
bench_runs=5
python=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --skip-bench) skip_bench=1 ;;
        --skip-lesson1) skip_lesson1=1 ;;
        --bench-runs) bench_runs="${2:?}"; shift ;;
        --python) python="${2:?}"; shift ;;
        *) echo "gpu-check: unknown option $1 (see the head of $0)" >&2; exit 2 ;;
    esac
    shift
done

# The CUDA test binaries: every op and a short fit on the device under test against the CPU.
test_targets=(-p fastcandle-core --test devices -p fastcandle-train --test devices)
build_features=(--features cuda -p xtask)
test_features=(--features fastcandle-core/cuda)

toolchain_env() {
    if ! command -v nvcc >/dev/null 2>&1; then
        if [[ ! -x "$repo/../venv-cuda/bin/pip" ]]; then
            scripts/cuda-toolchain.sh
        fi
        eval "$(scripts/cuda-toolchain.sh --env)"
    fi
    if command -v nvidia-smi >/dev/null 2>&1; then
        local cap
        cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')"
        if [[ -n "$cap" ]]; then
            export CUDA_COMPUTE_CAP="$cap"
        fi
    fi
    echo "gpu-check: nvcc $(nvcc --version | tail -1), CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-?}"
}

# The paths of the test executables cargo builds for `test_targets`.
test_executables() {
    cargo test --release "${test_features[@]}" "${test_targets[@]}" --no-run --message-format=json 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["package_id"].split("#")[0].rsplit("/", 1)[-1], m["executable"])
'
}

if [[ $mode == bundle ]]; then
    toolchain_env
    start=$SECONDS
    cargo build --release "${build_features[@]}"
    mkdir -p "$bundle/tests"
    cp "${CARGO_TARGET_DIR:-target}/release/xtask" "$bundle/xtask"
    test_executables | while read -r pkg exe; do
        cp "$exe" "$bundle/tests/${pkg%%@*}-devices"
    done
    strip "$bundle/xtask" "$bundle"/tests/* 2>/dev/null || true
    git rev-parse HEAD >"$bundle/COMMIT"
    echo "gpu-check: bundle in $bundle ($(du -sh "$bundle" | cut -f1)), built in $((SECONDS - start)) s from $(cat "$bundle/COMMIT")"
    ls -la "$bundle" "$bundle/tests"
    exit 0
fi

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu-check: no NVIDIA GPU answers here (nvidia-smi): nothing to check" >&2
    exit 1
fi

out="$repo/runs/gpu-check/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
summary="$out/summary.md"
{
    echo "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || cat "$bundle/COMMIT" 2>/dev/null || echo unknown)"
    echo "- mode: $mode"
    echo '- GPU:'
    nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader | sed 's/^/  - /'
    echo "- CPU threads: $(nproc)"
} >"$summary"

if [[ $mode == run ]]; then
    toolchain_env
    start=$SECONDS
    cargo build --release "${build_features[@]}" 2>&1 | tail -3
    echo "- CUDA build: $((SECONDS - start)) s" >>"$summary"
    xtask=("${CARGO_TARGET_DIR:-target}/release/xtask")
    mapfile -t tests < <(test_executables | cut -d' ' -f2)
else
    if [[ -n "$(ls -d "$bundle"/lib 2>/dev/null)" ]]; then
        export LD_LIBRARY_PATH="$(cd "$bundle/lib" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    for lib in $(ls -d /usr/local/lib/python3*/*-packages/nvidia/cu13/lib /usr/lib/python3*/*-packages/nvidia/cu13/lib \
        "$HOME"/.local/lib/python3*/site-packages/nvidia/cu13/lib 2>/dev/null); do
        export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    done
    xtask=("$bundle/xtask")
    mapfile -t tests < <(ls "$bundle"/tests/*)
    if ! "${xtask[0]}" --help >/dev/null 2>"$out/ldd.txt"; then
        echo "gpu-check: the bundle's xtask does not start here:" >&2
        cat "$out/ldd.txt" >&2
        ldd "${xtask[0]}" | grep "not found" >&2 || true
        exit 1
    fi
fi

status=0
step() {
    local name="$1" log="$out/$2"
    shift 2
    local start=$SECONDS
    echo "gpu-check: $name"
    if "$@" >"$log" 2>&1; then
        echo "- $name: passed in $((SECONDS - start)) s" >>"$summary"
    else
        echo "- $name: FAILED (exit $?) after $((SECONDS - start)) s, see $(basename "$log")" >>"$summary"
        tail -20 "$log"
        status=1
    fi
}

for t in "${tests[@]}"; do
    step "CUDA test $(basename "$t")" "test-$(basename "$t").log" \
        env FASTCANDLE_TEST_DEVICE=cuda "$t" --nocapture
done
if [[ $skip_lesson1 -eq 0 ]]; then
    step "lesson1 --device cuda" lesson1.log "${xtask[@]}" lesson1 --device cuda
    grep -E "error_rate|accuracy|foreground|dice|valid_loss|took|seconds" "$out/lesson1.log" | tail -20 >>"$summary" || true
fi
if [[ $skip_bench -eq 0 ]]; then
    if [[ -z "$python" ]] && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        python=python3
    fi
    ref=(--no-reference)
    if [[ -n "$python" ]]; then
        ref=(--python "$python")
    else
        echo "- bench: no Python with torch on CUDA here, so no PyTorch column" >>"$summary"
    fi
    step "bench --device cuda" bench.log "${xtask[@]}" bench --device cuda --model-runs "$bench_runs" \
        "${ref[@]}" --out "$out/bench.md" --json "$out/bench.json"
    if [[ -f "$out/bench.md" ]]; then
        { echo; cat "$out/bench.md"; } >>"$summary"
    fi
fi

echo
cat "$summary"
exit $status
