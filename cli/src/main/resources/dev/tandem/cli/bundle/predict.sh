#!/bin/sh
# predict: classifies images with this Tandem bundle's model; prints one JSON line per image:
#   {"file": ..., "top": [{"label", "index", "probability"}, ...]}
#
#   ./predict [--top K] [--threads N] [--labels FILE] [--max-memory BYTES] IMAGE...
#
# Needs no Java installed: the runtime is in jre/. @IMAGES@
# Environment: TANDEM_JAVA_OPTS, extra JVM options (e.g. "-Xmx64m").
set -eu

# This script's real folder, following symlinks.
src="$0"
while [ -L "$src" ]; do
  dir="$(cd -P "$(dirname "$src")" && pwd)"
  src="$(readlink "$src")"
  case "$src" in /*) ;; *) src="$dir/$src" ;; esac
done
here="$(cd -P "$(dirname "$src")" && pwd)"

# shellcheck disable=SC2086  # TANDEM_JAVA_OPTS is a list of options, split on purpose.
exec "$here/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -XX:+UseSerialGC -Xmn16m ${TANDEM_JAVA_OPTS:-} \
  -cp "$here/lib/@RUNTIME_JAR@:$here/lib/@PROTOBUF_JAR@" \
  dev.tandem.runtime.classify.PredictMain --model "$here/model.onnx" "$@"
