// `qat test-onnx` and its runner: comparison rules, skip lists, op selection, and that a wrong
// expected output really fails (the conformance ctest would be worthless otherwise).
#include "cli/onnx_test_runner.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace qat {
namespace {

namespace fs = std::filesystem;
using cli::onnx_test::compare_tensors;

const char* kNodeDir = "/usr/share/libonnx-testdata/data/node";

TEST(OnnxTestCompare, FloatToleranceNaNAndInf) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    Tensor want = Tensor::from_vector<float>({4}, {1.0f, nan, inf, -2.0f});
    EXPECT_TRUE(compare_tensors(want, Tensor::from_vector<float>({4}, {1.0009f, nan, inf, -2.0f}), 1e-3, 1e-7).ok());
    // 1.0011 is outside 1e-7 + 1e-3 * 1.
    Status s = compare_tensors(want, Tensor::from_vector<float>({4}, {1.0011f, nan, inf, -2.0f}), 1e-3, 1e-7);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("1 of 4 elements differ; first at [0]"), std::string::npos) << s.message();
    EXPECT_FALSE(compare_tensors(want, Tensor::from_vector<float>({4}, {1.0f, 0.0f, inf, -2.0f}), 1e-3, 1e-7).ok());
    EXPECT_FALSE(compare_tensors(want, Tensor::from_vector<float>({4}, {1.0f, nan, -inf, -2.0f}), 1e-3, 1e-7).ok());
    // Shape and dtype must match exactly.
    EXPECT_FALSE(compare_tensors(want, Tensor::from_vector<float>({2, 2}, {1.0f, nan, inf, -2.0f}), 1e-3, 1e-7).ok());
    EXPECT_FALSE(compare_tensors(want, Tensor::from_vector<double>({4}, {1.0, NAN, INFINITY, -2.0}), 1e-3, 1e-7).ok());
}

TEST(OnnxTestCompare, IntegersAreExact) {
    Tensor want = Tensor::from_vector<int64_t>({2}, {(int64_t{1} << 60) + 1, 5});
    EXPECT_TRUE(compare_tensors(want, Tensor::from_vector<int64_t>({2}, {(int64_t{1} << 60) + 1, 5}), 1, 1).ok());
    // Differences that a double (or a tolerance) would hide still fail.
    EXPECT_FALSE(compare_tensors(want, Tensor::from_vector<int64_t>({2}, {int64_t{1} << 60, 5}), 1, 1).ok());
    Status s = compare_tensors(Tensor::from_vector<uint8_t>({2, 2}, {1, 2, 3, 4}),
                               Tensor::from_vector<uint8_t>({2, 2}, {1, 2, 3, 5}), 1e-3, 1e-7);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("first at [1,1]: got 5, expected 4"), std::string::npos) << s.message();
}

TEST(OnnxTestSkipList, ParsesAndRejectsEntriesWithoutReason) {
    const fs::path dir = fs::temp_directory_path() / "qat_skip_list_test";
    fs::create_directories(dir);
    {
        std::ofstream f(dir / "good.txt");
        f << "# comment\n\ntest_a   reason one  \n  test_b\tanother reason\n";
    }
    auto good = cli::onnx_test::load_skip_list((dir / "good.txt").string());
    ASSERT_TRUE(good.ok()) << good.status().to_string();
    EXPECT_EQ(good->size(), 2u);
    EXPECT_EQ(good->at("test_a"), "reason one");
    EXPECT_EQ(good->at("test_b"), "another reason");
    {
        std::ofstream f(dir / "bad.txt");
        f << "test_a reason\ntest_c\n";
    }
    auto bad = cli::onnx_test::load_skip_list((dir / "bad.txt").string());
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("line 2: 'test_c' has no reason"), std::string::npos);
    fs::remove_all(dir);
}

struct CliResult {
    int rc = -1;
    std::string out, err;
};

CliResult run_qat(const std::string& args) {
    // One file per process: ctest runs these cases in parallel processes, and a shared name let
    // one case read another's stderr (an empty message, seen once in CI).
    const fs::path err_file =
        fs::temp_directory_path() / ("qat_test_onnx_stderr_" + std::to_string(::getpid()) + ".txt");
    const std::string cmd = std::string(QAT_CLI_PATH) + " " + args + " 2>" + err_file.string();
    CliResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream e(err_file);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
    e.close();
    std::error_code ec;
    fs::remove(err_file, ec);
    return r;
}

class TestOnnxCli : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::is_directory(kNodeDir)) GTEST_SKIP() << kNodeDir << " is missing (install libonnx-testdata)";
        tmp_ = fs::temp_directory_path() / ("qat_test_onnx_cli_" + std::to_string(::getpid()));
        fs::remove_all(tmp_);
        fs::create_directories(tmp_);
    }
    void TearDown() override {
        if (!tmp_.empty()) fs::remove_all(tmp_);
    }
    // Copies node test `name` into the temp folder.
    fs::path copy_test(const std::string& name) {
        fs::copy(fs::path(kNodeDir) / name, tmp_ / name, fs::copy_options::recursive);
        return tmp_ / name;
    }
    fs::path tmp_;
};

TEST_F(TestOnnxCli, PassesAndPrintsTheSummary) {
    copy_test("test_relu");
    copy_test("test_sigmoid");
    CliResult r = run_qat("test-onnx " + tmp_.string());
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("PASS test_relu\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n2 passed, 0 failed\n"), std::string::npos) << r.out;
}

TEST_F(TestOnnxCli, AWrongExpectedOutputFails) {
    // tanh's test with sigmoid's expected output (same shape [3,4,5], same input data).
    fs::path tanh = copy_test("test_tanh");
    fs::copy_file(fs::path(kNodeDir) / "test_sigmoid/test_data_set_0/output_0.pb", tanh / "test_data_set_0/output_0.pb",
                  fs::copy_options::overwrite_existing);
    CliResult r = run_qat("test-onnx " + tanh.string());
    EXPECT_EQ(r.rc, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("FAIL test_tanh: test_data_set_0:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("elements differ"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n0 passed, 1 failed\n"), std::string::npos) << r.out;
}

TEST_F(TestOnnxCli, SkipListAndOpSelection) {
    copy_test("test_relu");
    copy_test("test_tanh");
    copy_test("test_basic_conv_with_padding");
    {
        std::ofstream f(tmp_ / "skips.txt");
        f << "test_tanh   because this test says so\ntest_nonexistent  stale entry\n";
    }
    CliResult r =
        run_qat("test-onnx " + tmp_.string() + " --ops Relu,Tanh --skip-list " + (tmp_ / "skips.txt").string());
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("SKIP test_tanh: because this test says so"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("test_basic_conv_with_padding"), std::string::npos) << r.out;  // Conv: not selected
    EXPECT_NE(r.out.find("1 test(s) not selected"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("'test_nonexistent' matches no test"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n1 passed, 0 failed, 1 skipped\n"), std::string::npos) << r.out;
}

TEST_F(TestOnnxCli, BadInputExitsWithCode2AndOneLine) {
    CliResult missing = run_qat("test-onnx " + (tmp_ / "nope").string());
    EXPECT_EQ(missing.rc, 2);
    EXPECT_NE(missing.err.find("qat test-onnx: error: test directory"), std::string::npos) << missing.err;
    EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;

    CliResult empty = run_qat("test-onnx " + tmp_.string());
    EXPECT_EQ(empty.rc, 2);
    EXPECT_NE(empty.err.find("holds no ONNX test"), std::string::npos) << empty.err;

    copy_test("test_relu");
    CliResult backend = run_qat("test-onnx " + tmp_.string() + " --backend nosuch");
    EXPECT_EQ(backend.rc, 2);
    EXPECT_NE(backend.err.find("unknown backend 'nosuch'"), std::string::npos) << backend.err;

    {
        std::ofstream f(tmp_ / "skips.txt");
        f << "test_relu\n";
    }
    CliResult skips = run_qat("test-onnx " + tmp_.string() + " --skip-list " + (tmp_ / "skips.txt").string());
    EXPECT_EQ(skips.rc, 2);
    EXPECT_NE(skips.err.find("has no reason"), std::string::npos) << skips.err;

    CliResult tol = run_qat("test-onnx " + tmp_.string() + " --rtol -1");
    EXPECT_EQ(tol.rc, 2);
    EXPECT_NE(tol.err.find("--rtol"), std::string::npos) << tol.err;
}

TEST_F(TestOnnxCli, BrokenModelFailsWithoutCrashing) {
    fs::path relu = copy_test("test_relu");
    {
        std::ofstream f(relu / "model.onnx", std::ios::trunc);
        f << "not a model";
    }
    CliResult r = run_qat("test-onnx " + relu.string());
    EXPECT_EQ(r.rc, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("FAIL test_relu: "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace qat
