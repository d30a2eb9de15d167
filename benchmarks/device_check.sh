#!/usr/bin/env bash
# One lease of a lent GPU machine, run from the repository root:
#   OUT=<folder> bash benchmarks/device_check.sh [seconds]
# 1. `dynonet bench speed` alone on the GPU (optimized against reference path, one run);
# 2. side by side until the deadline: PatchTST under its paper's recipe on all eight cells
#    (one shard per cell, seeds $PT_SEEDS, 0,1,2 unless set; each run took about 250 s on
#    an H200 shared by the 9 processes, so one lease finishes one seed), a full
#    `dynonet train --preset etth1-96` (unless TRAIN=0), and the device-parametrized tests
#    (`pytest --device cuda`);
# 3. the shards merged into $OUT/patchtst-paper/, every log in $OUT/logs.tar.gz.
# Nothing is installed: the machine's python3 (with torch) imports the package from here.
# DEVICE=cpu EXTRA="--max-rows 2000 --epochs 1" SPEED_EXTRA="--max-steps 2 --epochs 1" does a
# dry run of the script on a CPU machine.
set -u
OUT=${OUT:?set OUT to the output folder}
DEADLINE=${1:-470}
DEVICE=${DEVICE:-cuda}
EXTRA=${EXTRA:-}
SPEED_EXTRA=${SPEED_EXTRA:-}
PY=${PY:-python3}
PT_SEEDS=${PT_SEEDS:-0,1,2}
TRAIN=${TRAIN:-1}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg OMP_NUM_THREADS=1
start=$(date +%s)
# seconds to the deadline less $1, at least 10 (a timeout of 0 or less would not limit)
left() { local s=$((DEADLINE - ($(date +%s) - start) - ${1:-0})); echo $((s > 10 ? s : 10)); }
LOGS=$OUT/logs WORK=$(mktemp -d)
mkdir -p "$LOGS"

{ nvidia-smi -L 2>&1; $PY -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())"; nproc; } \
    > "$LOGS/env.txt" 2>&1

echo "speed ($(left) s left)"
# the reference loads its batches in 4 worker processes on CUDA, as the published code does
LOADERS=$([ "$DEVICE" = cuda ] && echo "--loader-workers 4")
timeout 150 $PY -m dynonet bench speed --device "$DEVICE" --floor --controller-patch-len 16 $LOADERS $SPEED_EXTRA \
    --json "$OUT/speed-$DEVICE-p16.json" > "$OUT/speed-$DEVICE-p16.txt" 2>&1
echo "speed rc=$?"

# PatchTST_supervised/scripts/PatchTST/etth1.sh and run_longExp.py's defaults: Adam (AdamW
# without decay) at 1e-4, batch 128, 100 epochs, patience 100, lradj type3, MSE loss (named:
# some presets train on another loss).
RECIPE="--loss mse --lr 1e-4 --weight-decay 0 --batch-size 128 --epochs 100 --patience 100 --schedule exponential
        --hold-epochs 4 --lr-decay 0.9 --min-lr-ratio 0"
for ds in ETTh1 ETTh2; do
    for h in 96 192 336 720; do
        timeout $(left 30) $PY -m dynonet benchmark --datasets $ds --horizons $h --seeds "$PT_SEEDS" --variants patchtst \
            $RECIPE --device "$DEVICE" $EXTRA --out "$WORK/pt-$ds-$h" > "$LOGS/patchtst-$ds-$h.log" 2>&1 &
    done
done
if [ "$TRAIN" = 1 ]; then
    timeout $(left 30) $PY -m dynonet train --preset etth1-96 --device "$DEVICE" $EXTRA --verbose --out "$WORK/train" \
        > "$LOGS/train-etth1-96.log" 2>&1 &
fi
timeout 150 $PY -m pytest -q -p no:cacheprovider --device "$DEVICE" tests/test_recurrence.py tests/test_reference.py \
    > "$LOGS/pytest-$DEVICE.log" 2>&1
echo "pytest rc=$? ($(left) s left)"
wait
echo "runs done ($(left) s left)"

shards=$(ls -d "$WORK"/pt-*/results.json 2>/dev/null | xargs -r -n1 dirname)
if [ -n "$shards" ]; then
    $PY -m dynonet benchmark --merge $shards --out "$OUT/patchtst-paper" > "$LOGS/merge.log" 2>&1
fi
cp "$WORK"/train/*.json "$LOGS/" 2>/dev/null
tail -n 3 "$LOGS"/*.log
tar czf "$OUT/logs.tar.gz" -C "$OUT" logs && rm -rf "$LOGS"
cat "$OUT/speed-$DEVICE-p16.txt"
