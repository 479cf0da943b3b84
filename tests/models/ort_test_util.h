// What the tests that use ONNX Runtime as their outside oracle share: whether it can run here
// (third_party/ort from scripts/install-deps.sh, and node on PATH), and a scratch folder per test
// for the files they hand to tools/ort_run.js.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace qat::testing {

// Why ONNX Runtime cannot run here, or "" when it can (the tests skip with this reason).
inline std::string ort_missing_reason() {
    const std::string ort = std::string(QAT_SOURCE_DIR) + "/third_party/ort/node_modules/onnxruntime-node";
    if (!std::filesystem::exists(ort))
        return "ONNX Runtime is not installed (" + ort + " is absent; scripts/install-deps.sh installs it)";
    if (std::system("node --version > /dev/null 2>&1") != 0) return "node is not on PATH";
    return "";
}

// A fresh, empty folder for the running test: <build>/tmp/<prefix>_<pid>_<test name>.
inline std::filesystem::path scratch_dir(const std::string& prefix) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? info->name() : "test";
    for (char& c : name)
        if (c == '/') c = '_';  // parameterized test names
    const std::filesystem::path dir =
        std::filesystem::path(QAT_BINARY_DIR) / "tmp" / (prefix + "_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace qat::testing
