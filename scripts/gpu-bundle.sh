#!/usr/bin/env bash
# Assembles what a GPU machine without a JDK and without network needs to run the CUDA backend's self-check
# (scripts/gpu-check.sh): a Java 25 runtime image (jre.tgz) and the jars, in gpu-bundle/ (git-ignored), under
# 64 MiB. Carry gpu-bundle/ together with the working tree (it holds scripts/gpu-check.sh).
#
#   scripts/gpu-bundle.sh            # builds runtime and cuda (tests skipped), then the bundle
#   OFFLINE=1 scripts/gpu-bundle.sh  # the same with Maven offline (-o)
#
# The runtime image comes from ../shared/gpu/make-jre.sh when that exists (MAKE_JRE=PATH overrides it), else from
# jlink directly with the same modules: java.base, jdk.incubator.vector, java.logging, java.management.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/gpu-bundle"
mvn_flags=(-B -q -DskipTests)
[ -n "${OFFLINE:-}" ] && mvn_flags+=(-o)

./mvnw "${mvn_flags[@]}" package -pl cuda -am
rm -rf "$out"
mkdir -p "$out/lib"
cp runtime/target/tandem-runtime-*.jar cuda/target/tandem-cuda-*.jar "$out/lib/"
rm -f "$out"/lib/*-sources.jar "$out"/lib/*-tests.jar
(cd cuda && ../mvnw "${mvn_flags[@]}" dependency:copy-dependencies -DincludeScope=runtime \
  -DexcludeGroupIds=dev.tandem -DoutputDirectory="$out/lib")

make_jre="${MAKE_JRE:-$root/../shared/gpu/make-jre.sh}"
if [ -x "$make_jre" ]; then
  "$make_jre" "$out" >/dev/null
else
  jdk="${JAVA_HOME:-}"
  if [ -z "$jdk" ] || ! "$jdk/bin/java" -version 2>&1 | grep -q '"25'; then
    jdk=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -1)
  fi
  [ -x "$jdk/bin/jlink" ] || { echo "no JDK 25 with jlink found; set JAVA_HOME" >&2; exit 1; }
  tmp=$(mktemp -d)
  "$jdk/bin/jlink" --add-modules java.base,jdk.incubator.vector,java.logging,java.management \
    --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output "$tmp/jre" 2>/dev/null
  tar czf "$out/jre.tgz" -C "$tmp" jre
  rm -rf "$tmp"
fi

git rev-parse --short HEAD > "$out/COMMIT" 2>/dev/null || true
size=$(du -sb "$out" | cut -f1)
limit=$((64 * 1024 * 1024))
echo "gpu-bundle: $(ls "$out/lib" | tr '\n' ' ')"
echo "gpu-bundle: $((size / 1024 / 1024)) MiB in $out (limit 64 MiB)"
if [ "$size" -ge "$limit" ]; then
  echo "gpu-bundle is over 64 MiB" >&2
  exit 1
fi
