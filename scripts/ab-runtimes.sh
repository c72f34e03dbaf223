#!/usr/bin/env bash
# Is this checkout's runtime faster than an older commit's? Both builds run one model in one JVM, alternating,
# in both load orders (dev.tandem.bench.AbRuntimes; see docs/benchmarks.md, "Fourth session").
#
#   scripts/ab-runtimes.sh OLD_COMMIT MODEL.onnx [MODEL.onnx ...] [-- AbRuntimes options, e.g. --threads 1]
#
# Prints, per model, both orders' medians and "B/A = r": r < 1 means this checkout (B) takes less time than
# OLD_COMMIT (A). Builds OLD_COMMIT's runtime in a temporary git worktree (removed afterwards).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ $# -lt 2 ]; then
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
fi
old="$1"
shift
models=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [ -f "$1" ] || { echo "ab-runtimes: no model file $1" >&2; exit 2; }
  models+=("$1")
  shift
done
[ "${1:-}" = "--" ] && shift
git rev-parse --verify --quiet "$old^{commit}" > /dev/null || { echo "ab-runtimes: no commit $old" >&2; exit 2; }

JAVA=${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" > /dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach --quiet "$work/old" "$old"
(cd "$work/old" && ./mvnw -o -q -B install -DskipTests -pl runtime -Dmaven.install.skip=true) \
  || (cd "$work/old" && ./mvnw -q -B package -DskipTests -pl runtime)
./mvnw -o -q -B package -DskipTests -pl bench -am
pb=$(find ~/.m2/repository/com/google/protobuf/protobuf-java -name 'protobuf-java-*.jar' | sort -V | tail -n 1)
for m in "${models[@]}"; do
  echo "== $m: A = $old, B = this checkout"
  "$JAVA" --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.tandem.bench.AbRuntimes \
    --model "$m" --a "$work/old/runtime/target/classes:$pb" --b "runtime/target/classes:$pb" "$@" 2>&1 \
    | grep -v '^WARNING: Using incubator'
done
