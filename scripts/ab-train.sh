#!/usr/bin/env bash
# Two JVM option sets on the FashionNet training step, alternating process by process (A, B, A, B, ...), so that the
# machine's slow phases fall on both; prints each run's JSON line and the medians. For switches such as
# -Dtandem.train.bnReluFusion=false or -Dtandem.conv.winograd4MinHarmonic=20 (docs/benchmarks.md, training).
#
#   scripts/ab-train.sh ROUNDS "A's JVM options" "B's JVM options"
#
# Environment: STEPS per repetition (20), REPS (3), THREADS (2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ $# -ne 3 ]; then
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
fi
JAVA=${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
./mvnw -q -B -DskipTests install -pl runtime,train -am
./mvnw -q -B test-compile -pl train
cp="train/target/classes:train/target/test-classes:$(cd train && ../mvnw -q -B dependency:build-classpath \
  -Dmdep.outputFile=/dev/stdout)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$1"); do
  for v in A B; do
    if [ "$v" = A ]; then opts=$2; else opts=$3; fi
    # shellcheck disable=SC2086 # the options are meant to split into words
    line=$("$JAVA" $opts --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$cp" \
      dev.tandem.train.engine.TrainThroughput "${STEPS:-20}" "${REPS:-3}" "${THREADS:-2}" 30 2>/dev/null | grep '^{')
    echo "$v $line" | tee -a "$out"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
runs = {"A": [], "B": []}
for line in open(sys.argv[1]):
    v, j = line.split(" ", 1)
    runs[v].append(json.loads(j))
for v, rs in runs.items():
    print(f"{v}: median {statistics.median(r['images_per_s'] for r in rs):.1f} images/s, "
          f"{statistics.median(r['cpu_ms_per_step'] for r in rs):.1f} ms CPU per step ({len(rs)} runs)")
PY
