#!/usr/bin/env bash
# `make demo`: the main job end to end on the bundled default (Fashion-MNIST).
set -euo pipefail
BUILD_DIR=${1:-build}
QAT="$BUILD_DIR/bin/qat"
echo "qat demo: the end-to-end workflow (PTQ, QAT, INT8 engine) is still being built."
echo "qat demo: what runs today:"
"$QAT" version
