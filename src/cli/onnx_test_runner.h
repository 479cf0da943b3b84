// Runner for ONNX backend test directories (the layout of onnx/backend/test/data/node):
//
//   test_relu/model.onnx
//   test_relu/test_data_set_0/input_0.pb ... output_0.pb ...
//
// Each test: import the model, compile a runtime::Plan on the chosen backends, run every data
// set and compare each output with the expected TensorProto like ONNX's backend tests do
// (same dtype and shape; floats within |got - want| <= atol + rtol * |want|, NaN matching NaN;
// integers and bool exact). `qat test-onnx` (cmd_test_onnx.cpp) is the CLI over this.
//
//   onnx_test::Options opt;
//   opt.backends = {"ref"};
//   QAT_ASSIGN_OR_RETURN(auto dirs, onnx_test::find_test_dirs({"/usr/share/libonnx-testdata/data/node"}));
//   for (const auto& d : dirs) { onnx_test::TestResult r = onnx_test::run_test(d, opt); ... }
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace qat::cli::onnx_test {

struct Options {
    std::vector<std::string> backends = {"ref"};  // allowed backends (Plan restriction); empty = all
    double rtol = 1e-3;
    double atol = 1e-7;
    // When non-empty, only tests whose model uses nothing but these op types are run; the others
    // are "not selected" (not counted in the summary).
    std::set<std::string> only_ops;
    // Test name (directory name) -> reason: reported as skipped, not run.
    std::map<std::string, std::string> skips;
};

enum class Outcome { kPassed, kFailed, kSkipped, kNotSelected };

struct TestResult {
    std::string name;  // directory name, e.g. "test_relu"
    Outcome outcome = Outcome::kFailed;
    std::string message;  // why it failed / was skipped / was not selected
    int data_sets = 0;    // data sets compared (passed tests)
};

// Test directories under the given paths: a path holding model.onnx is a test itself; otherwise
// its immediate subdirectories holding model.onnx are, in name order. Error when a path does
// not exist, is not a directory, or holds no test at all.
Result<std::vector<std::string>> find_test_dirs(const std::vector<std::string>& paths);

// The skip list file: one test per line, "test_name  reason..." (the reason is required);
// blank lines and lines starting with '#' are ignored. Errors name the file and line.
Result<std::map<std::string, std::string>> load_skip_list(const std::string& path);

// Runs one test directory. Never throws; problems become a failed result with a message.
TestResult run_test(const std::string& dir, const Options& options);

// OK when `got` matches `want` (dtype, dims, values within tolerance); otherwise a message naming
// the first mismatching element, its index, both values and the mismatch count.
Status compare_tensors(const Tensor& want, const Tensor& got, double rtol, double atol);

}  // namespace qat::cli::onnx_test
