#!/usr/bin/env bash
# FashionNet training side by side: Tandem, then PyTorch (Debian's python3-torch 1.13), the same recipe
# (../shared/BENCHMARKS.md) on the same number of threads, one after the other in this invocation.
#
#   scripts/bench-train.sh                 # throughput: images/s and CPU time per step of both
#   scripts/bench-train.sh --epoch         # also one full epoch of each, with its test accuracy
#
# Environment: THREADS (2), STEPS per repetition (30), REPS (5), DATA (/usr/share/datasets/fashion-mnist).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
THREADS=${THREADS:-2}
STEPS=${STEPS:-30}
REPS=${REPS:-5}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
JAVA=${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}

./mvnw -q -B -DskipTests install -pl runtime,train -am
cp=$(cd train && ../mvnw -q -B dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
echo "== Tandem: FashionNet train steps, batch 128, $THREADS threads"
"$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -cp "train/target/classes:train/target/test-classes:$cp" dev.tandem.train.engine.TrainThroughput \
  "$STEPS" "$REPS" "$THREADS" 30 2>&1 | grep -v '^WARNING: Using incubator'
echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'): the same steps"
/usr/bin/python3 bench/scripts/train-fashionnet.py --data "$DATA" --steps $((STEPS * REPS)) --threads "$THREADS"

if [ "${1:-}" = "--epoch" ]; then
  out=$(mktemp -d)
  echo "== Tandem: one epoch of the full recipe"
  ./tandem train --data "fashion-mnist:$DATA" --epochs 1 --threads "$THREADS" --quiet --out "$out/tandem"
  echo "== PyTorch: one epoch of the full recipe"
  /usr/bin/python3 bench/scripts/train-fashionnet.py --data "$DATA" --steps 1 --threads "$THREADS" --epoch
  rm -rf "$out"
fi
