#!/usr/bin/env bash
# The qat workflow for the zoo models (issue 7 item 3), end to end through the `qat` binary:
#
#   baseline (models/NAME.onnx, or `qat zoo` + `qat train` with --train-steps)
#     -> quantize (preset per model) -> calibrate with max / percentile / entropy / mse (PTQ)
#     -> finetune (QAT, from the best PTQ model) -> build (FP32 and INT8 engines)
#     -> eval (every variant on the Fashion-MNIST test split, on our engine)
#     -> explain (share of MACs in INT8) -> bench (FP32 vs INT8 engine, batch 1 and 64)
#
# and writes DOCS/results.json (one object per model), DOCS/RESULTS.md (table + goals) and the
# charts DOCS/img/{accuracy,latency}.{svg,png} drawn by gnuplot from CSV made from the JSON.
# Needs bash, jq and gnuplot (scripts/install-deps.sh installs them); no Python.
#
# Running only some models (--models) updates their entries and keeps the others of an existing
# results.json, so one model can be re-run without redoing the rest.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
INVOCATION="tools/workflow.sh $*"
ALL_MODELS="resnet_v1,resnet_v2,mobilenet_v2,efficientnet_b0,inception"

usage() {
    cat <<EOF
Usage: tools/workflow.sh [options]
  --qat PATH            qat binary (default: \$QAT, else BUILD_DIR/bin/qat, BUILD_DIR default build)
  --models LIST         comma-separated zoo models (default: $ALL_MODELS)
  --models-dir DIR      FP32 baselines NAME.onnx (default: models)
  --work DIR            intermediate files, one folder per model (default: BUILD_DIR/workflow)
  --docs DIR            results.json, RESULTS.md and img/ go here (default: docs)
  --data SPEC           data set (default: fashion-mnist)
  --methods LIST        calibrators (default: max,percentile,entropy,mse)
  --calib-samples N     calibration samples from the train split (default: 1024)
  --ft-steps N          QAT fine-tune steps (default: 1000, i.e. ~1 epoch at batch 64)
  --ft-batch N          QAT batch (default: 64)
  --ft-lr LR            QAT base learning rate (default: 1e-3)
  --train-limit N       QAT (and --train-steps) on a seeded subset of N train samples (default: all)
  --eval-limit N        evaluate on the first N test samples (default: 0 = all 10k)
  --bench-iters N       timed runs per latency (default: 50); --bench-warmup N (default: 5)
  --threads T           threads of every step (default: 0 = all cores)
  --train-steps N       when NAME.onnx is missing: build it with qat zoo + qat train for N steps
                        (default: 0 = a missing baseline is an error)
  --seed S              seed of training, calibration sample choice and QAT (default: 1)
  --quick               test settings: calib 64, ft-steps 4, eval-limit 256, bench-iters 3
  --no-report           do not write results.json / RESULTS.md / charts (stages only)
  --progress            show the progress bars of the qat commands (stderr); default: stderr to
                        WORK/NAME/*.err, shown when a stage fails
  -h, --help
EOF
}

die() {
    echo "workflow: $*" >&2
    exit 2
}

BUILD_DIR=${BUILD_DIR:-build}
QAT=${QAT:-}
MODELS=$ALL_MODELS
MODELS_DIR=models
WORK=""
DOCS=docs
DATA=fashion-mnist
METHODS=max,percentile,entropy,mse
CALIB_SAMPLES=1024
FT_STEPS=1000
FT_BATCH=64
FT_LR=1e-3
TRAIN_LIMIT=0
EVAL_LIMIT=0
BENCH_ITERS=50
BENCH_WARMUP=5
THREADS=0
TRAIN_STEPS=0
SEED=1
REPORT=1
PROGRESS=0

need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }
is_uint() { [[ "$1" =~ ^[0-9]+$ ]] || die "$2 must be a non-negative integer, got '$1'"; }

while [ $# -gt 0 ]; do
    case "$1" in
    --qat) need_arg "$@"; QAT=$2; shift 2 ;;
    --models) need_arg "$@"; MODELS=$2; shift 2 ;;
    --models-dir) need_arg "$@"; MODELS_DIR=$2; shift 2 ;;
    --work) need_arg "$@"; WORK=$2; shift 2 ;;
    --docs) need_arg "$@"; DOCS=$2; shift 2 ;;
    --data) need_arg "$@"; DATA=$2; shift 2 ;;
    --methods) need_arg "$@"; METHODS=$2; shift 2 ;;
    --calib-samples) need_arg "$@"; is_uint "$2" "$1"; CALIB_SAMPLES=$2; shift 2 ;;
    --ft-steps) need_arg "$@"; is_uint "$2" "$1"; FT_STEPS=$2; shift 2 ;;
    --ft-batch) need_arg "$@"; is_uint "$2" "$1"; FT_BATCH=$2; shift 2 ;;
    --ft-lr) need_arg "$@"; FT_LR=$2; shift 2 ;;
    --train-limit) need_arg "$@"; is_uint "$2" "$1"; TRAIN_LIMIT=$2; shift 2 ;;
    --eval-limit) need_arg "$@"; is_uint "$2" "$1"; EVAL_LIMIT=$2; shift 2 ;;
    --bench-iters) need_arg "$@"; is_uint "$2" "$1"; BENCH_ITERS=$2; shift 2 ;;
    --bench-warmup) need_arg "$@"; is_uint "$2" "$1"; BENCH_WARMUP=$2; shift 2 ;;
    --threads) need_arg "$@"; is_uint "$2" "$1"; THREADS=$2; shift 2 ;;
    --train-steps) need_arg "$@"; is_uint "$2" "$1"; TRAIN_STEPS=$2; shift 2 ;;
    --seed) need_arg "$@"; is_uint "$2" "$1"; SEED=$2; shift 2 ;;
    --quick) CALIB_SAMPLES=64; FT_STEPS=4; EVAL_LIMIT=256; BENCH_ITERS=3; BENCH_WARMUP=1; shift ;;
    --no-report) REPORT=0; shift ;;
    --progress) PROGRESS=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
done

cd "$ROOT"
[ -n "$QAT" ] || QAT="$BUILD_DIR/bin/qat"
[ -x "$QAT" ] || die "qat binary '$QAT' not found or not executable (build first, or pass --qat)"
[ -n "$WORK" ] || WORK="$BUILD_DIR/workflow"
command -v jq >/dev/null || die "jq is missing (scripts/install-deps.sh installs it)"
[ "$FT_STEPS" -ge 1 ] || die "--ft-steps must be >= 1"
[ "$FT_BATCH" -ge 1 ] || die "--ft-batch must be >= 1"
[ "$BENCH_ITERS" -ge 1 ] || die "--bench-iters must be >= 1"

IFS=',' read -r -a MODEL_LIST <<<"$MODELS"
IFS=',' read -r -a METHOD_LIST <<<"$METHODS"
for m in "${MODEL_LIST[@]}"; do
    case ",$ALL_MODELS," in *",$m,"*) ;; *) die "--models: unknown model '$m' (known: $ALL_MODELS)" ;; esac
done
for c in "${METHOD_LIST[@]}"; do
    case "$c" in max | percentile | entropy | mse) ;; *) die "--methods: unknown calibrator '$c'" ;; esac
done

# The quantize preset of each zoo model (qat quantize --list).
preset_of() {
    case "$1" in
    resnet_v1) echo resnet_v1 ;;
    resnet_v2) echo resnet_v2 ;;
    mobilenet_v2) echo mobilenet ;;
    efficientnet_b0) echo efficientnet ;;
    inception) echo inception ;;
    esac
}

THREAD_ARGS=(--threads "$THREADS")
EVAL_ARGS=(--data "$DATA" --split test --limit "$EVAL_LIMIT" --batch 64 "${THREAD_ARGS[@]}" --json)
LIMIT_ARGS=()
QUIET=(-q)
[ "$PROGRESS" -eq 1 ] && QUIET=()
[ "$TRAIN_LIMIT" -gt 0 ] && LIMIT_ARGS=(--train-limit "$TRAIN_LIMIT")

T0=$(date +%s)
say() { printf '[workflow %4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }

# run LOG CMD...: run a stage with its stdout to LOG (JSON for --json commands); on failure show
# the last lines of its stderr and stop. With --progress stderr (progress bars) stays on screen.
run() {
    local log=$1
    shift
    if [ "$PROGRESS" -eq 1 ]; then
        "$@" >"$log" || { echo "workflow: failed: $*" >&2; exit 1; }
        return 0
    fi
    if ! "$@" >"$log" 2>"$log.err"; then
        echo "workflow: failed: $*" >&2
        tail -n 20 "$log.err" >&2
        exit 1
    fi
}

top1_of() { jq -e '.top1' "$1"; }

run_model() {
    local name=$1 w="$WORK/$1" preset base
    preset=$(preset_of "$name")
    mkdir -p "$w"
    base="$MODELS_DIR/$name.onnx"
    if [ ! -f "$base" ]; then
        [ "$TRAIN_STEPS" -gt 0 ] || die "$name: baseline '$base' is missing (see models/README.md, or pass --train-steps N)"
        say "$name: baseline missing: qat zoo + qat train ($TRAIN_STEPS steps)"
        run "$w/zoo.txt" "$QAT" zoo "$name" --seed "$SEED" -o "$w/init.onnx"
        run "$w/train.json" "$QAT" train "$w/init.onnx" --data "$DATA" --steps "$TRAIN_STEPS" --batch 64 \
            --seed "$SEED" "${LIMIT_ARGS[@]}" --no-val "${THREAD_ARGS[@]}" --json -o "$w/fp32.onnx"
        base="$w/fp32.onnx"
    fi

    say "$name: [1/7] FP32 baseline $base: eval"
    run "$w/eval_fp32.json" "$QAT" eval "$base" "${EVAL_ARGS[@]}"
    say "$name:       FP32 top-1 $(top1_of "$w/eval_fp32.json")%"

    say "$name: [2/7] quantize (preset $preset)"
    run "$w/quantize.json" "$QAT" quantize "$base" --preset "$preset" --json -o "$w/qdq.onnx"

    local best_method="" best_top1=-1 c t
    for c in "${METHOD_LIST[@]}"; do
        say "$name: [3/7] calibrate $c ($CALIB_SAMPLES samples) + eval"
        run "$w/calib_$c.json" "$QAT" calibrate "$w/qdq.onnx" --data "$DATA" --calib-samples "$CALIB_SAMPLES" \
            --seed "$SEED" --method "$c" "${THREAD_ARGS[@]}" --json "${QUIET[@]}" -o "$w/ptq_$c.onnx"
        run "$w/eval_ptq_$c.json" "$QAT" eval "$w/ptq_$c.onnx" "${EVAL_ARGS[@]}"
        t=$(top1_of "$w/eval_ptq_$c.json")
        say "$name:       PTQ $c top-1 $t%"
        if jq -en --argjson a "$t" --argjson b "$best_top1" '$a > $b' >/dev/null; then
            best_method=$c
            best_top1=$t
        fi
    done

    # QAT starts from the best calibrated model; its ranges stay fixed (the finetune default for a
    # calibrated model) while the weights adapt. The schedule is the trainer's piecewise default
    # (warm-up, then x0.1 and x0.01 steps, the reference toolkit's shape) scaled to --ft-steps.
    say "$name: [4/7] finetune (QAT from PTQ $best_method, $FT_STEPS steps, batch $FT_BATCH, lr $FT_LR)"
    run "$w/finetune.txt" "$QAT" finetune "$w/ptq_$best_method.onnx" --data "$DATA" --steps "$FT_STEPS" \
        --batch "$FT_BATCH" --lr "$FT_LR" --schedule piecewise --seed "$SEED" "${LIMIT_ARGS[@]}" --no-val \
        "${THREAD_ARGS[@]}" "${QUIET[@]}" -o "$w/qat.onnx"

    say "$name: [5/7] build FP32 and INT8 engines"
    run "$w/build_fp32.txt" "$QAT" build "$base" --no-int8 "${THREAD_ARGS[@]}" -o "$w/fp32.engine"
    run "$w/build_int8.txt" "$QAT" build "$w/qat.onnx" "${THREAD_ARGS[@]}" -o "$w/int8.engine"
    run "$w/explain_int8.json" "$QAT" explain "$w/int8.engine" --json

    say "$name: [6/7] eval QAT INT8 engine"
    run "$w/eval_qat.json" "$QAT" eval "$w/int8.engine" "${EVAL_ARGS[@]}"
    say "$name:       QAT top-1 $(top1_of "$w/eval_qat.json")%"

    local p b load
    # Latency depends on what else runs: the load average goes into the result next to it.
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null)
    for p in fp32 int8; do
        for b in 1 64; do
            say "$name: [7/7] bench $p engine, batch $b ($BENCH_ITERS runs)"
            run "$w/bench_${p}_b$b.json" "$QAT" bench "$w/$p.engine" --batch "$b" --warmup "$BENCH_WARMUP" \
                --iterations "$BENCH_ITERS" "${THREAD_ARGS[@]}" --json
        done
    done

    # The model's results.json entry, from the stage outputs only.
    local ptq="{}"
    for c in "${METHOD_LIST[@]}"; do
        ptq=$(jq -c --arg m "$c" --slurpfile e "$w/eval_ptq_$c.json" '. + {($m): $e[0].top1}' <<<"$ptq")
    done
    jq -n --arg model "$name" --arg preset "$preset" --arg best "$best_method" --argjson ptq "$ptq" \
        --argjson calib "$CALIB_SAMPLES" --argjson ftsteps "$FT_STEPS" \
        --argjson load "$load" --slurpfile fp32 "$w/eval_fp32.json" --slurpfile qat "$w/eval_qat.json" \
        --slurpfile explain "$w/explain_int8.json" \
        --slurpfile f1 "$w/bench_fp32_b1.json" --slurpfile f64 "$w/bench_fp32_b64.json" \
        --slurpfile i1 "$w/bench_int8_b1.json" --slurpfile i64 "$w/bench_int8_b64.json" '
        {model: $model, fp32_top1: $fp32[0].top1, ptq_top1: $ptq, qat_top1: $qat[0].top1,
         int8_mac_share: ($explain[0].int8_mac_share // null),
         latency_ms: {fp32: {b1: $f1[0].latency_ms.median, b64: $f64[0].latency_ms.median},
                      int8: {b1: $i1[0].latency_ms.median, b64: $i64[0].latency_ms.median}},
         preset: $preset, qat_from: $best, eval_samples: $fp32[0].samples,
         calib_samples: $calib, qat_steps: $ftsteps, bench_threads: $i64[0].threads,
         load_avg_before_bench: $load}' >"$w/result.json"
    say "$name: done -> $w/result.json"
}

for m in "${MODEL_LIST[@]}"; do run_model "$m"; done

[ "$REPORT" -eq 1 ] || exit 0
say "report: $DOCS/results.json, $DOCS/RESULTS.md, $DOCS/img/"
args=(--results "$DOCS/results.json" --docs "$DOCS" --command "$INVOCATION")
for m in "${MODEL_LIST[@]}"; do args+=(--add "$WORK/$m/result.json"); done
bash "$ROOT/tools/report.sh" "${args[@]}"
say "all done in $(($(date +%s) - T0)) s"
