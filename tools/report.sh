#!/usr/bin/env bash
# Writes the workflow report from per-model result objects (tools/workflow.sh makes them):
#   DOCS/results.json   one object per model (existing entries of other models are kept)
#   DOCS/RESULTS.md     the table, the goals of issue 7 checked against the numbers, the charts
#   DOCS/img/accuracy.{svg,png}, DOCS/img/latency.{svg,png}  drawn by gnuplot (tools/plot_*.gp)
#                       from DOCS/img/*.csv, which are made from results.json here.
# Usage: tools/report.sh [--results FILE] [--docs DIR] [--add RESULT.json ...] [--no-charts]
#                        [--command "the workflow command line, printed in RESULTS.md"]
# Needs jq and gnuplot; no Python.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOCS=docs
RESULTS=""
ADD=()
CHARTS=1
COMMAND=""
die() {
    echo "report: $*" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --results) [ $# -ge 2 ] || die "--results needs a value"; RESULTS=$2; shift 2 ;;
    --docs) [ $# -ge 2 ] || die "--docs needs a value"; DOCS=$2; shift 2 ;;
    --add) [ $# -ge 2 ] || die "--add needs a value"; ADD+=("$2"); shift 2 ;;
    --no-charts) CHARTS=0; shift ;;
    --command) [ $# -ge 2 ] || die "--command needs a value"; COMMAND=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown argument '$1'" ;;
    esac
done
[ -n "$RESULTS" ] || RESULTS="$DOCS/results.json"
command -v jq >/dev/null || die "jq is missing (scripts/install-deps.sh installs it)"
mkdir -p "$DOCS/img"

# Merge: the new entries replace those of the same model; order follows the zoo.
ORDER='["resnet_v1","resnet_v2","mobilenet_v2","efficientnet_b0","inception"]'
old='[]'
if [ -f "$RESULTS" ]; then
    old=$(jq -c 'if type == "array" then . else error("not an array") end' "$RESULTS") ||
        die "$RESULTS: not a JSON array of model results"
fi
new='[]'
for f in "${ADD[@]}"; do
    [ -f "$f" ] || die "--add: '$f' does not exist"
    new=$(jq -c --slurpfile e "$f" '. + $e' <<<"$new") || die "$f: not JSON"
done
tmp=$(mktemp "$RESULTS.XXXXXX")
trap 'rm -f "$tmp" "${tmp_md:-}"' EXIT
jq -n --argjson old "$old" --argjson new "$new" --argjson order "$ORDER" '
    ($new | map(.model)) as $nm
    | ($old | map(select(.model as $m | $nm | index($m) | not))) + $new
    | sort_by(.model as $m | ($order | index($m)) // 99)' >"$tmp"
# Every entry must have the keys the table and the charts read.
jq -e 'all(.[]; has("model") and has("fp32_top1") and has("ptq_top1") and has("qat_top1")
              and has("int8_mac_share") and has("latency_ms"))' "$tmp" >/dev/null ||
    die "an entry misses model / fp32_top1 / ptq_top1 / qat_top1 / int8_mac_share / latency_ms"
chmod 644 "$tmp"  # mktemp makes 0600 files; these are published documents
mv "$tmp" "$RESULTS"

# CSV for gnuplot (missing values are "NaN", which gnuplot skips).
jq -r '"model,fp32,ptq_max,ptq_percentile,ptq_entropy,ptq_mse,qat",
       (.[] | [.model, .fp32_top1, .ptq_top1.max, .ptq_top1.percentile, .ptq_top1.entropy, .ptq_top1.mse,
               .qat_top1] | map(. // "NaN") | @csv)' "$RESULTS" | tr -d '"' >"$DOCS/img/accuracy.csv"
jq -r '"model,fp32_b1,int8_b1,fp32_b64,int8_b64",
       (.[] | [.model, .latency_ms.fp32.b1, .latency_ms.int8.b1, .latency_ms.fp32.b64, .latency_ms.int8.b64]
            | map(. // "NaN") | @csv)' "$RESULTS" | tr -d '"' >"$DOCS/img/latency.csv"

if [ "$CHARTS" -eq 1 ]; then
    command -v gnuplot >/dev/null || die "gnuplot is missing (scripts/install-deps.sh installs gnuplot-nox)"
    for chart in accuracy latency; do
        for term in svg png; do
            # A method column that this run did not measure is all NaN: gnuplot warns and skips it,
            # which is expected (e.g. the demo runs one calibrator), so that warning is filtered.
            gnuplot -e "csv='$DOCS/img/$chart.csv'; out='$DOCS/img/$chart.$term'; fmt='$term'" \
                "$ROOT/tools/plot_$chart.gp" 2> >(grep -v "Skipping data file with no valid points" >&2) ||
                die "gnuplot failed on $chart.$term"
        done
    done
fi

# --- RESULTS.md -----------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cores=$(nproc 2>/dev/null || echo "?")
tmp_md=$(mktemp "$DOCS/RESULTS.md.XXXXXX")

# The ImageNet-shaped latency table (issue 7 item 5) comes from the engine benchmarks.
# LEAD: fill in. Set QAT_IMAGENET_TABLE_CMD to the command that prints that table as Markdown
# (ResNet-50 v1, MobileNetV2, EfficientNet-B0 at 224x224: our INT8 / our FP32 / ORT INT8 / ORT FP32,
# batch 1 and 16, same run, machine named), or put its output in DOCS/imagenet_latency.md.
imagenet_section() {
    echo "## ImageNet-shaped latency (224x224, random weights)"
    echo
    if [ -n "${QAT_IMAGENET_TABLE_CMD:-}" ]; then
        bash -c "$QAT_IMAGENET_TABLE_CMD" || die "QAT_IMAGENET_TABLE_CMD failed"
    elif [ -f "$DOCS/imagenet_latency.md" ]; then
        cat "$DOCS/imagenet_latency.md"
    else
        echo "<!-- LEAD: ImageNet latency table goes here (tools/report.sh, imagenet_section). -->"
        echo "_Not measured in this report yet._"
    fi
    echo
}

{
    cat <<EOF
# Results: FP32 vs PTQ vs QAT on the qat model zoo

Fashion-MNIST (10 classes, 28x28), top-1 in percent on the test split, every variant run by the
qat engine (FP32 engine for the baseline, INT8 engine for PTQ and QAT). Generated by
\`tools/workflow.sh\` (this file, \`results.json\` and the charts are written by \`tools/report.sh\`:
never edit them by hand). Machine: ${cpu:-unknown CPU}, $cores cores.
EOF
    [ -z "$COMMAND" ] || printf '\nLast run: `%s`\n' "$COMMAND"
    echo
    jq -r '.[] | "- \(.model): eval on \(.eval_samples // "?") test samples\(if (.eval_samples // 0) < 10000 then " (a subset: --eval-limit)" else "" end), calibration on \(.calib_samples // "?") train samples, preset \(.preset // "?"), QAT \(.qat_steps // "?") steps from PTQ \(.qat_from // "?")"' "$RESULTS"
    echo
    jq -r '
      def f2: if . == null then "n/a" else (. * 100 | round / 100 | tostring) end;
      def ms: if . == null then "n/a" else (. * 1000 | round / 1000 | tostring) end;
      def pct: if . == null then "n/a" else ((. * 1000 | round) / 10 | tostring) + "%" end;
      "| Model | samples | FP32 | PTQ max | PTQ percentile | PTQ entropy | PTQ mse | QAT | INT8 MACs | FP32 b1 ms | INT8 b1 ms | FP32 b64 ms | INT8 b64 ms | speed-up b64 |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      (.[] | "| \(.model) | \(.eval_samples // "n/a") | \(.fp32_top1 | f2) | \(.ptq_top1.max | f2) | \(.ptq_top1.percentile | f2) | \(.ptq_top1.entropy | f2) | \(.ptq_top1.mse | f2) | \(.qat_top1 | f2) | \(.int8_mac_share | pct) | \(.latency_ms.fp32.b1 | ms) | \(.latency_ms.int8.b1 | ms) | \(.latency_ms.fp32.b64 | ms) | \(.latency_ms.int8.b64 | ms) | \(if .latency_ms.fp32.b64 and .latency_ms.int8.b64 then ((.latency_ms.fp32.b64 / .latency_ms.int8.b64 * 100 | round) / 100 | tostring) + "x" else "n/a" end) |")' "$RESULTS"
    cat <<EOF

Latency: median of the timed runs of \`qat bench\` on the engine file, per batch, on a machine whose
1-minute load average before the benchmarks was $(jq -r 'map("\(.model) \(.load_avg_before_bench // "n/a")") | join(", ")' "$RESULTS")
(a load above the core count means shared cores, and slower, noisier latency). QAT starts from the
best PTQ model (column \`qat_from\` in results.json); INT8 MACs: share of the engine's multiply-adds
that run in INT8 (\`qat explain --json\`).

![accuracy](img/accuracy.svg)
![latency](img/latency.svg)

## Goals (issue 7 item 4), measured

EOF
    jq -r '
      def f2: (. * 100 | round / 100 | tostring);
      def verdict(ok): if ok then "**met**" else "**missed**" end;
      def bestptq: [.ptq_top1[] | select(. != null)] | max;
      "- QAT within 0.3 points of FP32 for every model:",
      (.[] | "  - \(.model): FP32 \(.fp32_top1 | f2), QAT \(.qat_top1 | f2), drop \((.fp32_top1 - .qat_top1) | f2): \(verdict(.fp32_top1 - .qat_top1 <= 0.3))"),
      "- Best PTQ within 1 point of FP32:",
      (.[] | "  - \(.model): best PTQ \(bestptq | f2) (\(.ptq_top1 | to_entries | max_by(.value) | .key)), drop \((.fp32_top1 - bestptq) | f2): \(verdict(.fp32_top1 - bestptq <= 1))"),
      "- EfficientNet-style model: PTQ drop that QAT recovers:",
      (map(select(.model == "efficientnet_b0")) | if length == 0 then "  - not run in this report"
       else .[] | (.fp32_top1 - bestptq) as $pd | (.fp32_top1 - .qat_top1) as $qd
         | "  - best-PTQ drop \($pd | f2), worst-PTQ drop \((.fp32_top1 - ([.ptq_top1[] | select(. != null)] | min)) | f2), QAT drop \($qd | f2): \(verdict($pd > 0.3 and $qd < $pd and $qd <= 0.3))\(if $pd <= 0.3 then " (PTQ shows no drop to recover here)" else "" end)" end),
      "- INT8 engine >= 3x lower latency than FP32 at batch 64 on the ResNet-style model:",
      (map(select(.model == "resnet_v1")) | if length == 0 then "  - not run in this report"
       else .[] | (.latency_ms.fp32.b64 / .latency_ms.int8.b64) as $s
         | "  - resnet_v1: FP32 \(.latency_ms.fp32.b64 | f2) ms, INT8 \(.latency_ms.int8.b64 | f2) ms, \($s | f2)x: \(verdict($s >= 3))" end)
      ' "$RESULTS"
    echo
    imagenet_section
} >"$tmp_md"
chmod 644 "$tmp_md"
mv "$tmp_md" "$DOCS/RESULTS.md"
echo "report: wrote $RESULTS, $DOCS/RESULTS.md, $DOCS/img/{accuracy,latency}.{svg,png}"
