#!/usr/bin/env bash
# Assembles what a GPU machine without a JDK and without network needs to run the GPU checks and benchmarks
# (scripts/gpu-check.sh): a Java 25 runtime image (jre.tgz), the runtime, cuda and train jars with protobuf, and
# Fashion-MNIST (the training images recompressed with xz to fit), in gpu-bundle/ (git-ignored), under 64 MiB
# together with the working tree. Carry gpu-bundle/ together with the working tree (it holds scripts/gpu-check.sh).
#
#   scripts/gpu-bundle.sh            # builds runtime, cuda and train (tests skipped), then the bundle
#   OFFLINE=1 scripts/gpu-bundle.sh  # the same with Maven offline (-o)
#   NO_DATA=1 scripts/gpu-bundle.sh  # without the data set (the self-check and parity only)
#
# The runtime image comes from ../shared/gpu/make-jre.sh when that exists (MAKE_JRE=PATH overrides it), else from
# jlink directly with the same modules: java.base, jdk.incubator.vector, java.logging, java.management. The data
# comes from FASHION_MNIST (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/gpu-bundle"
mvn_flags=(-B -q -DskipTests)
[ -n "${OFFLINE:-}" ] && mvn_flags+=(-o)

./mvnw "${mvn_flags[@]}" install -pl runtime,cuda,train -am
rm -rf "$out"
mkdir -p "$out/lib"
cp runtime/target/tandem-runtime-*.jar cuda/target/tandem-cuda-*.jar train/target/tandem-train-*.jar "$out/lib/"
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

data="${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"
if [ -z "${NO_DATA:-}" ] && [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  mkdir -p "$out/data"
  cp "$data/train-labels-idx1-ubyte.gz" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" \
    "$out/data/"
  # xz takes 22.6 MB where gzip takes 26.4: what lets the bundle fit. Cached, since xz -9 takes a minute.
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/tandem"
  mkdir -p "$cache"
  xzf="$cache/train-images-idx3-ubyte.xz"
  if [ ! -f "$xzf" ] || [ "$data/train-images-idx3-ubyte.gz" -nt "$xzf" ]; then
    zcat "$data/train-images-idx3-ubyte.gz" | xz -9 -T2 > "$xzf.tmp" && mv "$xzf.tmp" "$xzf"
  fi
  cp "$xzf" "$out/data/"
elif [ -z "${NO_DATA:-}" ]; then
  echo "gpu-bundle: no Fashion-MNIST in $data (set FASHION_MNIST, or NO_DATA=1): the benchmark will be skipped" >&2
fi

git rev-parse --short HEAD > "$out/COMMIT" 2>/dev/null || true
size=$(du -sb "$out" | cut -f1)
tree=$(git ls-files -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
limit=$((64 * 1024 * 1024))
echo "gpu-bundle: $(ls "$out/lib" | tr '\n' ' ')"
echo "gpu-bundle: $((size / 1024 / 1024)) MiB in $out, $(( (size + tree) / 1024 / 1024)) MiB with the working tree" \
  "(limit 64 MiB)"
if [ $((size + tree)) -ge "$limit" ]; then
  echo "gpu-bundle and the working tree are over 64 MiB" >&2
  exit 1
fi
