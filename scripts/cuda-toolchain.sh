#!/usr/bin/env bash
# The CUDA toolchain for `--features cuda`, from the Python package registry: NVIDIA's compiler
# (nvcc, ptxas, nvvm), the runtime headers and CCCL (cub, thrust, libcu++), installed into a
# virtual environment outside the repository. No GPU and no system CUDA are needed to build:
# candle's kernels are compiled to PTX here, and cudarc loads libcuda, cuBLAS and cuRAND when
# the program runs on a machine with a GPU.
#
#   scripts/cuda-toolchain.sh [VENV]        # default VENV: ../venv-cuda beside the repository
#   eval "$(scripts/cuda-toolchain.sh --env [VENV])"
#   cargo build --release --features cuda -p xtask
#
# It prints the environment to export: PATH (nvcc), CUDA_ROOT and CUDA_PATH (the toolkit's
# root, with include/ and lib/), NVCC_CCBIN (the host compiler) and CUDA_COMPUTE_CAP (the
# architecture the PTX targets when no GPU can be asked: 80, which every GPU since the A100 runs;
# set it to 90 for an H100/H200 build).
set -euo pipefail

only_env=0
if [[ "${1:-}" == "--env" ]]; then
    only_env=1
    shift
fi
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/../venv-cuda}"

if [[ $only_env -eq 0 ]]; then
    if [[ ! -x "$venv/bin/pip" ]]; then
        python3 -m venv "$venv" >&2
    fi
    # CUDA 13's wheels hold nvcc itself (the -cu12 nvcc wheels hold only ptxas).
    # Pinned to 13.4: cudarc 0.19 (candle 0.11's) knows CUDA toolkits up to 13.4 and refuses 13.5.
    "$venv/bin/pip" install --quiet "nvidia-cuda-nvcc==13.4.*" "nvidia-cuda-runtime==13.4.*" \
        "nvidia-cuda-crt==13.4.*" "nvidia-nvvm==13.4.*" "nvidia-cuda-nvrtc==13.4.*" \
        nvidia-cuda-cccl nvidia-cublas nvidia-curand >&2
fi

root="$(ls -d "$venv"/lib/python3*/site-packages/nvidia/cu13 2>/dev/null | head -1)"
if [[ -z "$root" || ! -x "$root/bin/nvcc" ]]; then
    echo "no nvcc under $venv (run scripts/cuda-toolchain.sh $venv first)" >&2
    exit 1
fi
if [[ $only_env -eq 0 ]]; then
    "$root/bin/nvcc" --version | tail -1 >&2
    # candle builds cudarc with `dynamic-linking` (and candle-kernels links its static kernels with
    # libcudart): the program links against libcuda, libcudart, libnvrtc,
    # libcurand, libcublas and libcublasLt. The wheels ship the last four under versioned names
    # only, and libcuda belongs to the driver; lib/stubs (which cudarc searches) gets the
    # unversioned names and a stub libcuda.so.1 defining every driver function cudarc declares,
    # as the toolkit's own stub does. At run time the loader finds the driver's libcuda.so.1.
    stubs="$root/lib/stubs"
    mkdir -p "$stubs"
    for lib in cudart:13 nvrtc:13 curand:10 cublas:13 cublasLt:13; do
        ln -sf "../lib${lib%%:*}.so.${lib##*:}" "$stubs/lib${lib%%:*}.so"
    done
    (cd "$repo" && cargo fetch --quiet >&2)
    sys="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.*/src/driver/sys/mod.rs | tail -1)"
    # Each returns CUDA_ERROR_STUB_LIBRARY (34), as NVIDIA's own stub does: a program that loads
    # the stub instead of a driver gets an error from cuInit (and falls back to the CPU, or says
    # the device is unavailable), never a crash.
    grep -o 'fn cu[A-Za-z0-9_]*(' "$sys" | sort -u | sed 's/^fn \(.*\)($/int \1(void) { return 34; }/' \
        > "$stubs/libcuda_stub.c"
    cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$stubs/libcuda.so" "$stubs/libcuda_stub.c"
fi
cat <<ENV
export PATH="$root/bin:\$PATH"
export CUDA_ROOT="$root"
export CUDA_PATH="$root"
export NVCC_CCBIN="$(command -v g++ || command -v c++)"
export CUDA_COMPUTE_CAP="\${CUDA_COMPUTE_CAP:-80}"
export LIBRARY_PATH="$root/lib/stubs:$root/lib\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
ENV
