#!/usr/bin/env bash
# Slow test (label `slow`): tools/workflow.sh end to end on one small zoo model with few steps and a
# data subset: qat zoo + qat train (a few steps, no committed baseline) -> quantize -> calibrate with
# every method -> finetune -> build -> eval -> explain -> bench -> report. Checks that every stage
# produced its file and that results.json / RESULTS.md / the charts parse with the expected keys.
# The JSON is read back with /usr/bin/python3 (an independent parser from the jq that wrote it),
# and the numbers in results.json are compared with the stage outputs they come from.
# Usage: workflow_test.sh QAT_BINARY SOURCE_DIR
set -euo pipefail

QAT=$1
SRC=$2
skip() {
    echo "SKIP: $*"
    exit 77
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ -x "$QAT" ] || fail "qat binary '$QAT' missing"
command -v jq >/dev/null || skip "jq is not installed (scripts/install-deps.sh installs it)"
command -v gnuplot >/dev/null || skip "gnuplot is not installed (scripts/install-deps.sh installs gnuplot-nox)"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 (the independent JSON parser of this test) is missing"
[ -d /usr/share/datasets/fashion-mnist ] || skip "Fashion-MNIST (dataset-fashion-mnist) is not installed"
# qat forwards train / finetune to qat-train, which exists only in builds with libtorch.
if ! "$QAT" train --help >/dev/null 2>&1 || ! "$QAT" finetune --help >/dev/null 2>&1; then
    skip "this qat cannot train ('qat train --help' fails: built without libtorch, no qat-train next to it)"
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
M=resnet_v1

# Bad input first: a clear message and exit code 2, nothing written.
set +e
out=$(bash "$SRC/tools/workflow.sh" --qat "$QAT" --models no_such_model --work "$TMP/bad" --docs "$TMP/bad" 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown model: exit code $rc, expected 2 ($out)"
echo "$out" | grep -q "unknown model 'no_such_model'" || fail "unknown model: message was '$out'"
[ ! -e "$TMP/bad/results.json" ] || fail "unknown model: results.json written"
set +e
out=$(bash "$SRC/tools/workflow.sh" --qat "$QAT" --models $M --models-dir "$TMP/empty" --work "$TMP/bad" \
    --docs "$TMP/bad" 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] || fail "missing baseline: exit code $rc, expected 2 ($out)"
echo "$out" | grep -q "baseline '$TMP/empty/$M.onnx' is missing" || fail "missing baseline: message was '$out'"

# The real run: no committed baseline, so the workflow trains one for a few steps on a subset.
mkdir -p "$TMP/empty"
bash "$SRC/tools/workflow.sh" --qat "$QAT" --models $M --models-dir "$TMP/empty" --work "$TMP/stages" \
    --docs "$TMP/docs" --quick --train-steps 4 --train-limit 512 --threads 2 ||
    fail "workflow.sh failed"

W="$TMP/stages/$M"
for f in init.onnx fp32.onnx eval_fp32.json quantize.json qdq.onnx \
    calib_max.json ptq_max.onnx eval_ptq_max.json calib_percentile.json ptq_percentile.onnx \
    eval_ptq_percentile.json calib_entropy.json ptq_entropy.onnx eval_ptq_entropy.json calib_mse.json \
    ptq_mse.onnx eval_ptq_mse.json qat.onnx fp32.engine int8.engine explain_int8.json eval_qat.json \
    bench_fp32_b1.json bench_fp32_b64.json bench_int8_b1.json bench_int8_b64.json result.json; do
    [ -s "$W/$f" ] || fail "stage output $W/$f missing or empty"
done
for f in results.json RESULTS.md img/accuracy.svg img/accuracy.png img/latency.svg img/latency.png \
    img/accuracy.csv img/latency.csv; do
    [ -s "$TMP/docs/$f" ] || fail "report output $TMP/docs/$f missing or empty"
done

/usr/bin/python3 - "$TMP/docs" "$W" "$M" <<'EOF' || fail "report check failed"
import json, sys, os
docs, w, model = sys.argv[1:4]
res = json.load(open(os.path.join(docs, "results.json")))
assert isinstance(res, list) and len(res) == 1, res
r = res[0]
for k in ("model", "fp32_top1", "ptq_top1", "qat_top1", "int8_mac_share", "latency_ms"):
    assert k in r, "results.json: key %s missing" % k
assert r["model"] == model
assert set(r["ptq_top1"]) == {"max", "percentile", "entropy", "mse"}, r["ptq_top1"]
def stage(name):
    return json.load(open(os.path.join(w, name)))
# Every number comes from the stage that measured it.
assert r["fp32_top1"] == stage("eval_fp32.json")["top1"]
assert r["qat_top1"] == stage("eval_qat.json")["top1"]
for m, v in r["ptq_top1"].items():
    assert v == stage("eval_ptq_%s.json" % m)["top1"], m
    assert 0 <= v <= 100
assert stage("eval_fp32.json")["samples"] == 256, "eval limit not applied"
assert 0 < r["int8_mac_share"] <= 1, r["int8_mac_share"]
assert r["int8_mac_share"] == stage("explain_int8.json")["int8_mac_share"]
for p in ("fp32", "int8"):
    for b in ("b1", "b64"):
        v = r["latency_ms"][p][b]
        assert isinstance(v, (int, float)) and v > 0, (p, b, v)
        bench = stage("bench_%s_%s.json" % (p, b))
        assert v == bench["latency_ms"]["median"]
        assert bench["batch"] == int(b[1:]), bench["batch"]
# RESULTS.md: a Markdown table with one row for the model, the goals, the charts.
md = open(os.path.join(docs, "RESULTS.md")).read()
rows = [l for l in md.splitlines() if l.startswith("| ")]
header = [c.strip() for c in rows[0].strip("|").split("|")]
assert header[:8] == ["Model", "samples", "FP32", "PTQ max", "PTQ percentile", "PTQ entropy", "PTQ mse", "QAT"], header
body = [[c.strip() for c in l.strip("|").split("|")] for l in rows[1:]]
assert len(body) == 1 and body[0][0] == model and len(body[0]) == len(header), body
assert abs(float(body[0][2]) - r["fp32_top1"]) < 0.006, (body[0][2], r["fp32_top1"])
assert "## Goals" in md and "img/accuracy.svg" in md and "img/latency.svg" in md
for c in ("accuracy", "latency"):
    assert open(os.path.join(docs, "img", c + ".png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in open(os.path.join(docs, "img", c + ".svg")).read(2000)
print("report ok:", r["model"], r["fp32_top1"], r["ptq_top1"], r["qat_top1"])
EOF
echo "PASS"
