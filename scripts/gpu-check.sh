#!/usr/bin/env bash
# The CUDA backend's checks and benchmark on a GPU machine that has no JDK and no network: unpacks the Java runtime
# image brought along in gpu-bundle/ (scripts/gpu-bundle.sh builds it), then, with a plain `java -cp`:
#   1. dev.tandem.cuda.check.GpuCheck: library discovery, device memory, NVRTC and every kernel against a CPU
#      reference, a CUDA graph, cuBLAS (float32, TF32, bfloat16), cuDNN forward and backward, every op of the GPU
#      executor against the CPU backend, and a few measurements;
#   2. dev.tandem.train.engine.DeviceParity: whole training steps (fashionnet, resnet8, mobilenet) on the GPU
#      against the CPU, float32;
#   3. dev.tandem.train.engine.RecipeBench: FashionNet, the reference recipe, 10 epochs on Fashion-MNIST on the GPU
#      (when the bundle has the data);
#      3b: the same waiting for every step; 3c: the same with bfloat16 mixed precision;
#   4. the same recipe in PyTorch eager on the same card (bench/scripts/train-fashionnet-gpu.py), when python3 has
#      torch with CUDA;
#   5. ResNet-18 (3x32x32, batch 256) training-step throughput: dev.tandem.train.engine.StepBench (TF32, then
#      bfloat16 mixed precision), and PyTorch eager on the same card (bench/scripts/train-step-gpu.py).
# A summary table comes last.
#
#   scripts/gpu-check.sh [--quick]     (--quick: stages 1 and 2 only, no measurements)
#
# Environment: TANDEM_GPU_BUNDLE (default: gpu-bundle/ next to scripts/), JAVA (a java 25+ to use instead of the
# bundled one), TIMEOUT (seconds per stage, default 300), EPOCHS (default 10), SKIP_TORCH=1 (no PyTorch run), SKIP_SYNC=1 (no stage 3b), SKIP_BF16=1 (no bfloat16 runs), PROFILE_STEPS=1 (stage 3d: each launch's device time), and any -D setting in
# TANDEM_JAVA_OPTS (e.g. -Dtandem.cuda.libcudnn=/path/libcudnn.so.9). When $OUT is set (the device runner's
# output folder), the log is also written to $OUT/gpu-check.log.
# Exit codes: 0 all passed, 1 a check failed, 3 no usable GPU, 124 timed out; others are setup errors.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bundle="${TANDEM_GPU_BUNDLE:-$root/gpu-bundle}"
[ -d "$bundle/lib" ] || { echo "no bundle at $bundle (run scripts/gpu-bundle.sh on a machine with a JDK)" >&2; exit 10; }
quick=""
[ "${1:-}" = "--quick" ] && quick=1

java="${JAVA:-}"
if [ -z "$java" ]; then
  [ -f "$bundle/jre.tgz" ] || { echo "no $bundle/jre.tgz and no JAVA set" >&2; exit 10; }
  jre_dir="${TMPDIR:-/tmp}/tandem-gpu-jre-$(id -u)"
  if [ ! -x "$jre_dir/jre/bin/java" ] || [ "$bundle/jre.tgz" -nt "$jre_dir/jre/bin/java" ]; then
    rm -rf "$jre_dir"
    mkdir -p "$jre_dir"
    tar xzf "$bundle/jre.tgz" -C "$jre_dir"
  fi
  java="$jre_dir/jre/bin/java"
fi

log="${OUT:+$OUT/gpu-check.log}"
{
  echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(cat "$bundle/COMMIT" 2>/dev/null || echo '?') on $(hostname)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/nvidia-smi: /' || true
  fi
  "$java" -version 2>&1 | head -1
} | tee ${log:+"$log"}

run_java() {
  # shellcheck disable=SC2086
  timeout "${TIMEOUT:-300}" "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g \
    ${TANDEM_JAVA_OPTS:-} -cp "$bundle/lib/*" "$@" 2>&1 | tee ${log:+-a "$log"}
  return "${PIPESTATUS[0]}"
}
say() { echo "$@" | tee ${log:+-a "$log"}; }

summary=()
worst=0
note() { # note NAME CODE DETAIL
  local status=PASS
  [ "$2" != 0 ] && status="FAIL (exit $2)"
  [ "$2" = 124 ] && status="TIMED OUT"
  summary+=("$(printf '%-28s %-14s %s' "$1" "$status" "$3")")
  if [ "$2" != 0 ] && [ "$worst" = 0 ]; then worst=$2; fi
}

say "== 1. GPU self-check (dev.tandem.cuda.check.GpuCheck)"
run_java dev.tandem.cuda.check.GpuCheck ${quick:+--quick} > "${TMPDIR:-/tmp}/tandem-gpucheck.txt"
code=$?
cat "${TMPDIR:-/tmp}/tandem-gpucheck.txt"
[ "$code" = 3 ] && { say "no usable GPU"; exit 3; }
note "GpuCheck" "$code" "$(grep -E '^RESULT' "${TMPDIR:-/tmp}/tandem-gpucheck.txt" | tail -1)"

if ls "$bundle"/lib/tandem-train-*.jar >/dev/null 2>&1; then
  say "== 2. Training steps on the GPU against the CPU (dev.tandem.train.engine.DeviceParity)"
  run_java dev.tandem.train.engine.DeviceParity > "${TMPDIR:-/tmp}/tandem-parity.txt"
  code=$?
  cat "${TMPDIR:-/tmp}/tandem-parity.txt"
  note "DeviceParity" "$code" "$(grep -c '^\[PASS\]' "${TMPDIR:-/tmp}/tandem-parity.txt") passed, \
$(grep -c '^\[FAIL\]' "${TMPDIR:-/tmp}/tandem-parity.txt") failed"
fi

data=""
if [ -z "$quick" ] && [ -f "$bundle/data/train-images-idx3-ubyte.xz" ]; then
  data="${TMPDIR:-/tmp}/tandem-fashion-mnist"
  mkdir -p "$data"
  cp "$bundle"/data/*.gz "$data/"
  if [ ! -f "$data/train-images-idx3-ubyte" ]; then
    if command -v xz >/dev/null 2>&1; then
      xz -dc "$bundle/data/train-images-idx3-ubyte.xz" > "$data/train-images-idx3-ubyte"
    else
      python3 -c "import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
        "$bundle/data/train-images-idx3-ubyte.xz" "$data/train-images-idx3-ubyte"
    fi
  fi
fi
if [ -n "$data" ]; then
  recipe() { # recipe NAME FILE JAVA_OPTS ARGS...: one RecipeBench run on the GPU
    local name=$1 file="${TMPDIR:-/tmp}/$2" opts=$3
    shift 3
    TANDEM_JAVA_OPTS="${TANDEM_JAVA_OPTS:-} $opts" run_java dev.tandem.train.engine.RecipeBench \
      --data "$data" --epochs "${EPOCHS:-10}" --device cuda "$@" > "$file"
    local code=$?
    cat "$file"
    note "$name" "$code" "$(grep -E '^RESULT' "$file" | tail -1)"
  }
  say "== 3. FashionNet, the reference recipe, ${EPOCHS:-10} epochs on the GPU (dev.tandem.train.engine.RecipeBench)"
  recipe "RecipeBench (Tandem)" tandem-recipe.txt "-Dtandem.cuda.profile=true"
  if [ -z "${SKIP_SYNC:-}" ]; then
    say "== 3b. The same, waiting for every step (no overlap of the host's work with the device's)"
    recipe "RecipeBench --sync (Tandem)" tandem-recipe-sync.txt "" --sync true
  fi
  if [ -z "${SKIP_BF16:-}" ]; then
    say "== 3c. The same with bfloat16 mixed precision (-Dtandem.cuda.precision=bf16)"
    recipe "RecipeBench bf16 (Tandem)" tandem-recipe-bf16.txt "-Dtandem.cuda.precision=bf16"
  fi
  if [ -n "${PROFILE_STEPS:-}" ]; then
    say "== 3d. Device time per launch, 100 training steps (-Dtandem.cuda.profile=steps)"
    recipe "RecipeBench profile" tandem-recipe-profile.txt "-Dtandem.cuda.profile=steps" --epochs 1 --max-steps 100
  fi
  if [ -z "${SKIP_TORCH:-}" ] && python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    say "== 4. The same recipe in PyTorch eager on the same card"
    timeout "${TIMEOUT:-300}" python3 "$root/bench/scripts/train-fashionnet-gpu.py" --data "$data" \
      --epochs "${EPOCHS:-10}" > "${TMPDIR:-/tmp}/tandem-torch.txt" 2>&1
    code=$?
    cat "${TMPDIR:-/tmp}/tandem-torch.txt" | tee ${log:+-a "$log"}
    note "PyTorch eager (reference)" "$code" "$(grep -E '^RESULT' "${TMPDIR:-/tmp}/tandem-torch.txt" | tail -1)"
  fi
fi

if [ -z "$quick" ] && ls "$bundle"/lib/tandem-train-*.jar >/dev/null 2>&1; then
  say "== 5. ResNet-18 (10 classes, 3x32x32, batch 256) training steps on the GPU (dev.tandem.train.engine.StepBench)"
  run_java dev.tandem.train.engine.StepBench --arch resnet18 --input 3x32x32 --batch 256 --steps 50 --warmup 10 \
    --device cuda > "${TMPDIR:-/tmp}/tandem-step.txt"
  code=$?
  cat "${TMPDIR:-/tmp}/tandem-step.txt"
  note "StepBench resnet18 (Tandem)" "$code" "$(grep -E '^RESULT' "${TMPDIR:-/tmp}/tandem-step.txt" | tail -1)"
  if [ -z "${SKIP_BF16:-}" ]; then
    say "== 5b. The same with bfloat16 mixed precision (-Dtandem.cuda.precision=bf16)"
    TANDEM_JAVA_OPTS="${TANDEM_JAVA_OPTS:-} -Dtandem.cuda.precision=bf16" run_java dev.tandem.train.engine.StepBench \
      --arch resnet18 --input 3x32x32 --batch 256 --steps 50 --warmup 10 --device cuda > "${TMPDIR:-/tmp}/tandem-step-bf16.txt"
    code=$?
    cat "${TMPDIR:-/tmp}/tandem-step-bf16.txt"
    note "StepBench resnet18 bf16" "$code" "$(grep -E '^RESULT' "${TMPDIR:-/tmp}/tandem-step-bf16.txt" | tail -1)"
  fi
  if [ -z "${SKIP_TORCH:-}" ] && python3 -c "import torch, torchvision, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    timeout "${TIMEOUT:-300}" python3 "$root/bench/scripts/train-step-gpu.py" --batch 256 --size 32 \
      > "${TMPDIR:-/tmp}/tandem-torch-step.txt" 2>&1
    code=$?
    cat "${TMPDIR:-/tmp}/tandem-torch-step.txt" | tee ${log:+-a "$log"}
    note "PyTorch resnet18 step" "$code" "$(grep -E '^RESULT' "${TMPDIR:-/tmp}/tandem-torch-step.txt" | tail -1)"
  fi
fi

say ""
say "== Summary"
for line in "${summary[@]}"; do say "$line"; done
exit "$worst"
