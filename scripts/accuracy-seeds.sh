#!/usr/bin/env bash
# The reference recipe's 1-epoch test accuracy over several seeds, Tandem (`tandem train`) and PyTorch (Debian's
# python3-torch 1.13, bench/scripts/train-fashionnet.py), one after the other, on the same threads: per-seed
# results, each framework's mean and standard deviation, and the difference of the means with its standard error.
# One run's figure moves by ±0.3 points with the seed (docs/benchmarks.md, "Training accuracy"), so a single run
# cannot tell two implementations of the recipe apart; the means can.
#
#   scripts/accuracy-seeds.sh [SEEDS] [tandem|pytorch|both]     # seeds 1..SEEDS (default 6), default both
#
# Environment: THREADS (2), DATA (/usr/share/datasets/fashion-mnist), EPOCHS (1). About 65 s (Tandem) and 100 s
# (PyTorch) per seed on the 2-core build machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SEEDS=${1:-6}
WHICH=${2:-both}
THREADS=${THREADS:-2}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
EPOCHS=${EPOCHS:-1}
usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
case "$WHICH" in tandem|pytorch|both) ;; *) usage ;; esac
case "$SEEDS" in ''|*[!0-9]*|0) echo "SEEDS must be a positive whole number; got '$SEEDS'" >&2; usage ;; esac
[ -d "$DATA" ] || { echo "No Fashion-MNIST folder at $DATA (apt-get install dataset-fashion-mnist, or DATA=...)" >&2; exit 1; }
if [ "$WHICH" != tandem ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "PyTorch is not importable by /usr/bin/python3 (apt-get install python3-torch), or run with 'tandem'" >&2
  exit 1
fi
if [ "$WHICH" != tandem ] && [ "$EPOCHS" != 1 ]; then
  echo "PyTorch's script trains one epoch only; use EPOCHS=1 or 'tandem'" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results"
for s in $(seq "$SEEDS"); do
  if [ "$WHICH" != pytorch ]; then
    ./tandem train --data "fashion-mnist:$DATA" --arch fashionnet --epochs "$EPOCHS" --threads "$THREADS" \
      --seed "$s" --quiet --out "$work/tandem-$s" > "$work/tandem-$s.log" 2>&1 \
      || { cat "$work/tandem-$s.log" >&2; exit 1; }
    acc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["test_accuracy"])' \
      "$work/tandem-$s/metrics.json")
    echo "tandem $s $acc" | tee -a "$results"
  fi
  if [ "$WHICH" != tandem ]; then
    acc=$(/usr/bin/python3 bench/scripts/train-fashionnet.py --data "$DATA" --threads "$THREADS" --steps 1 \
      --warmup 0 --epoch --seed "$s" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["test_accuracy"])')
    echo "pytorch $s $acc" | tee -a "$results"
  fi
done
python3 - "$results" <<'EOF'
import math, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, _, acc = line.split()
    runs.setdefault(name, []).append(100 * float(acc))
stats = {}
for name, accs in runs.items():
    sd = statistics.stdev(accs) if len(accs) > 1 else float("nan")
    stats[name] = (statistics.mean(accs), sd, len(accs))
    print(f"{name}: mean {stats[name][0]:.2f}%, sd {sd:.2f}, min {min(accs):.2f}, max {max(accs):.2f}, "
          f"{sum(a >= 90.5 for a in accs)} of {len(accs)} at 90.5% or more")
if len(stats) == 2:
    (mt, st, nt), (mp, sp, np_) = stats["tandem"], stats["pytorch"]
    se = math.sqrt(st * st / nt + sp * sp / np_)
    print(f"tandem - pytorch: {mt - mp:+.2f} points (standard error {se:.2f})")
EOF
