#!/usr/bin/env bash
# Side-by-side inference benchmark: Tandem against ONNX Runtime on the torchvision models.
#
#   scripts/bench-models.sh [--no-build] [--rss] [--threads N] [--models DIR] [-- SideBySide options...]
#
# 1. exports the models into DIR (default models/ under the repository root) unless they are there
#    (scripts/export-models.py, Debian's python3-torch and python3-torchvision);
# 2. builds bench/target/benchmarks.jar (skipped with --no-build);
# 3. runs dev.tandem.bench.SideBySide over DIR with N threads (default 2), both runtimes alternating in one JVM,
#    and prints per-model details followed by the Markdown table for docs/benchmarks.md;
# 4. with --rss, also runs every model once more per runtime in a process of its own (--only tandem, --only ort)
#    and prints each one's peak resident set (VmHWM), the fair memory comparison.
# Options after -- go to SideBySide (e.g. -- --iters 100 --batch 8). The full output is also saved to
# DIR/side-by-side.log (and DIR/rss-tandem.log, DIR/rss-ort.log).
#
# Environment: JAVA (default /usr/lib/jvm/temurin-25-jdk-amd64/bin/java), PYTHON (default /usr/bin/python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAVA="${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
PYTHON="${PYTHON:-/usr/bin/python3}"
MODELS="$ROOT/models"
THREADS=2
BUILD=1
RSS=0
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --rss) RSS=1 ;;
    --threads) THREADS="$2"; shift ;;
    --models) MODELS="$(cd "$2" 2>/dev/null && pwd || echo "$2")"; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
JAR="$ROOT/bench/target/benchmarks.jar"

cd "$ROOT"
echo "== exporting models into $MODELS (existing ones are kept)"
"$PYTHON" "$ROOT/scripts/export-models.py" "$MODELS"

if [[ $BUILD -eq 1 ]]; then
  echo "== building $JAR"
  ./mvnw -B -q -pl bench -am package -DskipTests
fi
[[ -f "$JAR" ]] || { echo "missing $JAR: build it (drop --no-build)" >&2; exit 1; }

echo "== Tandem and ONNX Runtime side by side, $THREADS threads"
# A fixed, pre-touched heap keeps the JVM's own heap growth out of the resident-set figures.
"$JAVA" "${FLAGS[@]}" -Xms2g -Xmx2g -XX:+AlwaysPreTouch -cp "$JAR" dev.tandem.bench.SideBySide \
  --model "$MODELS" --threads "$THREADS" --markdown "${EXTRA[@]}" 2>&1 | tee "$MODELS/side-by-side.log"

if [[ $RSS -eq 1 ]]; then
  for side in tandem ort; do
    echo
    echo "== peak resident set, $side only, one process per model"
    {
      first=1
      # The benchmark's order first (as SideBySide sorts a folder), then any other models by name.
      ordered=()
      for n in resnet18 mobilenet_v2 squeezenet1_1 shufflenet_v2_x1_0 efficientnet_b0 resnet50 densenet121; do
        [[ -f "$MODELS/$n.onnx" ]] && ordered+=("$MODELS/$n.onnx")
      done
      for m in "$MODELS"/*.onnx; do
        [[ " ${ordered[*]} " == *" $m "* ]] || ordered+=("$m")
      done
      for m in "${ordered[@]}"; do
        out="$("$JAVA" "${FLAGS[@]}" -Xmx2g -cp "$JAR" dev.tandem.bench.SideBySide --model "$m" \
          --threads "$THREADS" --only "$side" --markdown "${EXTRA[@]}" 2>&1 || true)"
        if [[ $first -eq 1 ]]; then
          grep -E '^\|( model |---)' <<<"$out" || true
          first=0
        fi
        grep -E '^\| ' <<<"$out" | grep -vE '^\| model ' || echo "| $(basename "$m" .onnx) | failed: $(tail -1 <<<"$out") |"
      done
    } | tee "$MODELS/rss-$side.log"
  done
fi
