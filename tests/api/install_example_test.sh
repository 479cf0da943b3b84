#!/bin/bash
# Installs this build into a temporary prefix, builds examples/quantize_and_run against it with
# find_package(qat) alone, runs it on a zoo model, and checks its engine output against the
# oracle `qat run` (the installed binary) on the calibrated Q/DQ model with the same input.
#
#   install_example_test.sh CMAKE BUILD_DIR SOURCE_DIR CXX_COMPILER
# Exit 77 (ctest SKIP) when Fashion-MNIST is not installed; the reason is printed.
set -euo pipefail
CMAKE=$1
BUILD=$2
SRC=$3
CXX=$4

FMNIST=${QAT_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
if ! ls "$FMNIST"/t10k-images* >/dev/null 2>&1; then
    echo "SKIP: Fashion-MNIST is not installed in $FMNIST (Debian package dataset-fashion-mnist)"
    exit 77
fi
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 has no numpy (the comparison needs it)"
    exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/qat_install_test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PREFIX=$TMP/prefix

echo "== install into $PREFIX"
"$CMAKE" --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log"
# lib/ or lib/<multiarch>/, whatever GNUInstallDirs chose at configure time.
CFG=$(find "$PREFIX" -name qatConfig.cmake | head -1)
[ -n "$CFG" ] || { echo "FAIL: no qatConfig.cmake was installed"; cat "$TMP/install.log"; exit 1; }
CFGDIR=$(dirname "$CFG")
LIBDIR=$(dirname "$(dirname "$CFGDIR")")
for f in "$PREFIX/include/qat/qat.h" "$PREFIX/include/qat/engine.h" "$PREFIX/bin/qat" "$CFGDIR/qatConfigVersion.cmake" \
         "$CFGDIR/qatTargets.cmake" "$LIBDIR/libqat_api.a" "$LIBDIR/libqat_engine.a" "$LIBDIR/libqat_core.a"; do
    [ -e "$f" ] || { echo "FAIL: $f was not installed"; cat "$TMP/install.log"; exit 1; }
done
# The public headers must not reach internal ones (those are not installed).
if grep -h '#include "' "$PREFIX"/include/qat/*.h | grep -v '"qat/'; then
    echo "FAIL: a public header includes an internal header"
    exit 1
fi

echo "== configure and build the example against the installed package"
"$CMAKE" -S "$SRC/examples/quantize_and_run" -B "$TMP/example" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=Release >"$TMP/configure.log" 2>&1 ||
    { cat "$TMP/configure.log"; echo "FAIL: the example does not configure against the package"; exit 1; }
"$CMAKE" --build "$TMP/example" -j2 >"$TMP/build.log" 2>&1 ||
    { tail -50 "$TMP/build.log"; echo "FAIL: the example does not build against the package"; exit 1; }

# The package must come from the prefix, not from some other qat on the machine.
FOUND=$(sed -n 's/^qat_DIR:PATH=//p' "$TMP/example/CMakeCache.txt")
[ "$FOUND" = "$CFGDIR" ] || { echo "FAIL: find_package(qat) used '$FOUND'"; exit 1; }

echo "== run it on a zoo model"
QAT=$PREFIX/bin/qat
"$QAT" zoo resnet_v1 --input 1x28x28 --classes 10 --width-mult 0.5 --seed 3 -o "$TMP/model.onnx"
mkdir -p "$TMP/out"
"$TMP/example/quantize_and_run" "$TMP/model.onnx" fashion-mnist --samples 16 --calib-samples 64 \
    --method max --save-dir "$TMP/out" | tee "$TMP/example.txt"

echo "== oracle: qat run on the calibrated Q/DQ model, same input"
"$QAT" run "$TMP/out/calibrated.onnx" --input "input=$TMP/out/input.npy" -o "$TMP/oracle" >"$TMP/run.txt"
OUT_NPY=$(ls "$TMP/oracle"/*.npy | head -1)
/usr/bin/python3 - "$TMP/example.txt" "$TMP/out/output.npy" "$OUT_NPY" <<'PY'
import re, sys
import numpy as np
text, got_path, ref_path = sys.argv[1:4]
got, ref = np.load(got_path), np.load(ref_path)
assert got.shape == ref.shape == (16, 10), (got.shape, ref.shape)
lines = [l for l in open(text) if l.startswith("sample ")]
assert len(lines) == 16, f"expected 16 sample lines, got {len(lines)}"
last = [l for l in open(text) if l.startswith("top1 ")]
assert last and re.fullmatch(r"top1 \d+/16\n", last[-1]), last
labels = []
for i, l in enumerate(lines):
    m = re.fullmatch(r"sample (\d+): label (\d+) top1 (\d+) score (\S+)\n", l)
    assert m, f"cannot parse: {l!r}"
    assert int(m.group(1)) == i
    labels.append(int(m.group(2)))
    top = int(m.group(3))
    # the printed top-1 and score are those of the saved output
    assert top == int(np.argmax(got[i])), (i, top, got[i])
    assert abs(float(m.group(4)) - got[i, top]) <= 1e-5 * max(1.0, abs(got[i, top])), l
assert int(last[-1].split()[1].split("/")[0]) == sum(int(np.argmax(got[i])) == labels[i] for i in range(16))
# The fused INT8 engine vs the unfused Q/DQ graph: equal up to int8 rounding moved by float
# re-association (tests/engine/engine_models_test.cpp: 3% of the largest logit, same top-1
# unless the oracle's top two are closer than that).
tol = 3e-2 * float(np.abs(ref).max())
diff = float(np.abs(got - ref).max())
assert diff <= tol, f"engine vs qat run: max |diff| {diff} > {tol}"
for i in range(16):
    a, b = int(np.argmax(got[i])), int(np.argmax(ref[i]))
    if a != b:
        assert abs(ref[i, a] - ref[i, b]) <= tol, (i, a, b, ref[i])
print(f"OK: engine output matches qat run (max |diff| {diff:.4g}, tolerance {tol:.4g})")
PY
echo "PASS"
