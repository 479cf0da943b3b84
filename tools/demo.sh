#!/usr/bin/env bash
# `make demo`: the main job of qat end to end on the bundled default (issue 7 item 6).
#
# The bundled FP32 baseline models/resnet_v1.onnx (ResNet-20 trained on Fashion-MNIST, see
# models/README.md) -> PTQ (entropy calibration) -> a short QAT fine-tune -> the INT8 engine ->
# FP32 / PTQ / QAT top-1 on the full 10k test set -> FP32 vs INT8 engine latency (batch 1, 64),
# then the comparison table and where the charts are. Everything runs through tools/workflow.sh
# (the same stages as docs/RESULTS.md, with one calibrator), into BUILD_DIR/demo: docs/ is not touched.
#
# Usage: tools/demo.sh [BUILD_DIR]   (DEMO_FT_STEPS, DEMO_THREADS override the defaults;
#        DEMO_EVAL_LIMIT=N evaluates on N test images instead of all 10k, for a quick check only)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${1:-build}
QAT="$BUILD_DIR/bin/qat"
OUT="$BUILD_DIR/demo"
MODEL=resnet_v1
FT_STEPS=${DEMO_FT_STEPS:-1000}
THREADS=${DEMO_THREADS:-0}
EVAL_LIMIT=${DEMO_EVAL_LIMIT:-0}

[ -x "$QAT" ] || { echo "demo: $QAT is missing: run 'make build' (or 'make demo') first" >&2; exit 2; }
[ -f "models/$MODEL.onnx" ] || { echo "demo: the bundled baseline models/$MODEL.onnx is missing" >&2; exit 2; }

echo "== qat demo: $("$QAT" version | head -n 1)"
echo "== model: models/$MODEL.onnx (FP32 baseline, Fashion-MNIST); output: $OUT"
echo "== steps: eval FP32 -> quantize -> calibrate (entropy) -> eval PTQ -> QAT fine-tune ($FT_STEPS steps)"
echo "           -> build FP32 + INT8 engines -> eval QAT (INT8 engine) -> bench batch 1 and 64"
start=$(date +%s)
mkdir -p "$OUT"
bash tools/workflow.sh --qat "$QAT" --models "$MODEL" --methods entropy --ft-steps "$FT_STEPS" \
    --threads "$THREADS" --eval-limit "$EVAL_LIMIT" --bench-iters 30 --work "$OUT/stages" --docs "$OUT" --progress

r="$OUT/stages/$MODEL/result.json"
echo
echo "== qat demo: $MODEL on the Fashion-MNIST test split ($(jq -r .eval_samples "$r") samples), engine $(jq -r .bench_threads "$r") threads"
jq -r '
  def f2: (. * 100 | round / 100 | tostring);
  def ms: (. * 1000 | round / 1000 | tostring) + " ms";
  def pad(n): tostring | if length < n then (" " * (n - length)) + . else . end;
  def row(a; b; c; d; e): "  \(a | tostring | . + (" " * (13 - length)))\(b | pad(7))\(c | pad(8))\(d | pad(14))\(e | pad(14))";
  row("variant"; "top-1"; "drop"; "latency b1"; "latency b64"),
  row("FP32"; .fp32_top1 | f2; "-"; .latency_ms.fp32.b1 | ms; .latency_ms.fp32.b64 | ms),
  row("PTQ entropy"; .ptq_top1.entropy | f2; (.fp32_top1 - .ptq_top1.entropy) | f2; "(INT8)"; "(INT8)"),
  row("QAT (INT8)"; .qat_top1 | f2; (.fp32_top1 - .qat_top1) | f2; .latency_ms.int8.b1 | ms; .latency_ms.int8.b64 | ms),
  "  INT8 speed-up at batch 64: \((.latency_ms.fp32.b64 / .latency_ms.int8.b64) | f2)x; INT8 share of MACs: \((.int8_mac_share * 1000 | round) / 10)%"' "$r"
echo
echo "== table:  $OUT/RESULTS.md"
echo "== charts: $OUT/img/accuracy.svg (.png), $OUT/img/latency.svg (.png)"
echo "== engine: $OUT/stages/$MODEL/int8.engine (qat explain $OUT/stages/$MODEL/int8.engine)"
echo "== done in $(($(date +%s) - start)) s"
