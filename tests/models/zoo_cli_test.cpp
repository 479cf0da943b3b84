// `qat zoo`: writes the same model the library builds (byte for byte), lists the models, and
// rejects bad input with one line on stderr, exit code 2 and no output file.
//
// Runs the qat binary of this build; skips, saying why, when it has not been built.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/file_util.h"
#include "models/zoo.h"
#include "onnx/onnx_export.h"

using namespace qat;
namespace fs = std::filesystem;

namespace {

struct CliResult {
    int exit_code = -1;
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

class ZooCli : public ::testing::Test {
  protected:
    void SetUp() override {
        qat_ = fs::path(QAT_BINARY_DIR) / "bin" / "qat";
        if (!fs::exists(qat_)) GTEST_SKIP() << "the qat binary is not built (" << qat_.string() << ")";
        dir_ = fs::path(QAT_BINARY_DIR) / "tmp" /
               ("zoo_cli_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
    }
    CliResult run(const std::string& args) {
        std::string cmd = "'" + qat_.string() + "' zoo " + args + " > '" + (dir_ / "out.txt").string() + "' 2> '" +
                          (dir_ / "err.txt").string() + "'";
        int rc = std::system(cmd.c_str());
        CliResult r;
        r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        r.out = slurp(dir_ / "out.txt");
        r.err = slurp(dir_ / "err.txt");
        return r;
    }
    // One line on stderr naming the problem, exit code 2.
    void expect_error(const std::string& args, const std::string& part) {
        CliResult r = run(args);
        EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
        EXPECT_NE(r.err.find(part), std::string::npos) << args << "\nstderr: " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }

    fs::path qat_, dir_;
};

}  // namespace

TEST_F(ZooCli, WritesTheLibraryModel) {
    std::string out = (dir_ / "m.onnx").string();
    CliResult r = run("efficientnet_b0 --input 3x32x32 --classes 5 --width-mult 0.5 --seed 9 -o '" + out + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("efficientnet_b0"), std::string::npos) << r.out;
    models::ZooOptions o;
    o.channels = 3;
    o.height = o.width = 32;
    o.classes = 5;
    o.width_mult = 0.5;
    o.seed = 9;
    auto g = models::build_zoo_model("efficientnet_b0", o);
    ASSERT_TRUE(g.ok());
    auto bytes = onnx::export_model_bytes(**g);
    ASSERT_TRUE(bytes.ok());
    auto written = read_file(out);
    ASSERT_TRUE(written.ok());
    EXPECT_TRUE(*written == *bytes) << "the file differs from the library's export";
}

TEST_F(ZooCli, ListsEveryModel) {
    CliResult r = run("--list");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto& n : models::zoo_names()) EXPECT_NE(r.out.find(n), std::string::npos) << n << "\n" << r.out;
}

TEST_F(ZooCli, BadInputIsOneLineExitTwoAndNoFile) {
    std::string out = (dir_ / "bad.onnx").string();
    expect_error("resnet_v9 -o '" + out + "'", "unknown zoo model 'resnet_v9'");
    expect_error("resnet_v1 --input 3x28 -o '" + out + "'", "--input: expected CxHxW");
    expect_error("resnet_v1 --width-mult 0 -o '" + out + "'", "width multiplier must be in (0, 8]");
    expect_error("resnet_v1 --variant huge -o '" + out + "'", "--variant must be auto, small or full");
    expect_error("resnet_v1", "missing output file");
    expect_error("-o '" + out + "'", "missing model NAME");
    EXPECT_FALSE(fs::exists(out));
    // An output folder that does not exist fails before anything is built.
    std::string nowhere = (dir_ / "missing" / "m.onnx").string();
    CliResult r = run("resnet_v1 -o '" + nowhere + "'");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(nowhere));
}
