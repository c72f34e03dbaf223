#!/usr/bin/env bash
# The CUDA backend's self-check on a GPU machine that has no JDK and no network: unpacks the Java runtime image
# brought along in gpu-bundle/ (scripts/gpu-bundle.sh builds it), then runs dev.tandem.cuda.check.GpuCheck with a
# plain `java -cp`: library discovery, device memory, NVRTC compilation and every kernel against a CPU reference,
# a CUDA graph, cuBLAS (float32, TF32, bfloat16), cuDNN convolutions forward and backward, and a few measurements.
# The PASS/FAIL table comes last.
#
#   scripts/gpu-check.sh [GpuCheck options: --quick, --ptx-cache DIR]
#
# Environment: TANDEM_GPU_BUNDLE (default: gpu-bundle/ next to scripts/), JAVA (a java 25+ to use instead of the
# bundled one), TIMEOUT (seconds, default 480), and any -D setting in TANDEM_JAVA_OPTS (e.g.
# -Dtandem.cuda.libcudnn=/path/libcudnn.so.9). When $OUT is set (the device runner's output folder), the log is
# also written to $OUT/gpu-check.log.
# Exit codes: 0 all passed, 1 a check failed, 3 no usable GPU, 124 timed out; others are setup errors.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bundle="${TANDEM_GPU_BUNDLE:-$root/gpu-bundle}"
[ -d "$bundle/lib" ] || { echo "no bundle at $bundle (run scripts/gpu-bundle.sh on a machine with a JDK)" >&2; exit 10; }

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

set +e
# shellcheck disable=SC2086
timeout "${TIMEOUT:-480}" "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g ${TANDEM_JAVA_OPTS:-} \
  -cp "$bundle/lib/*" dev.tandem.cuda.check.GpuCheck "$@" 2>&1 | tee ${log:+-a "$log"}
code=${PIPESTATUS[0]}
set -e
[ "$code" = 124 ] && echo "gpu-check: timed out after ${TIMEOUT:-480} s" | tee ${log:+-a "$log"}
exit "$code"
