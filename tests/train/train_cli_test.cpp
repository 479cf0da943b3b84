// `qat train` / `qat finetune` through the real binaries: qat forwards to qat-train (which links
// libtorch; qat does not), exit codes, the one-line error of every bad input (checked before the
// first step), the outputs (model, checkpoint, JSON log), and SIGTERM -> checkpoint, exit 130.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "../cli/cli_test_util.h"
#include "core/file_util.h"
#include "core/npy.h"
#include "data/dataset.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/calibrated.h"
#include "quant/quantize.h"
#include "small_cnn.h"

extern char** environ;

using namespace qat;
using cli_test::CliResult;
using cli_test::quote;
namespace fs = std::filesystem;

namespace {

class TrainCli : public cli_test::CliTest {
  protected:
    void SetUp() override {
        CliTest::SetUp();
        if (!fs::exists(data::fashion_mnist_dir()))
            GTEST_SKIP() << "Fashion-MNIST is not installed in " << data::fashion_mnist_dir();
    }
    // The small CNN as an ONNX file.
    std::string model(const std::string& name, int64_t hw = 28) {
        auto g = train_test::small_cnn(1, 10, hw);
        EXPECT_TRUE(g);
        EXPECT_TRUE(qat::onnx::save_model(*g, path(name)).ok());
        return path(name);
    }
    // Fast settings: a 512-image subset, a few steps, no progress bars.
    static std::string quick() { return " --data fashion-mnist --train-limit 512 --val-limit 200 -q "; }
};

}  // namespace

TEST_F(TrainCli, HelpListsTheTrainingCommandsAndForwardsTheirOwnHelp) {
    CliResult r = run("--help");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("train"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("finetune"), std::string::npos) << r.out;
    r = run("finetune --help");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("--range-mode"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--resume"), std::string::npos) << r.out;
}

TEST_F(TrainCli, TrainWritesModelCheckpointAndLog) {
    const std::string m = model("m.onnx");
    CliResult r = run("train " + quote(m) + quick() + "--steps 8 --batch 32 -o " + quote(path("out.onnx")) + " --log " +
                      quote(path("log.json")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote"), std::string::npos) << r.out;
    auto g = qat::onnx::load_model(path("out.onnx"));
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    // The weights moved.
    auto before = qat::onnx::load_model(m);
    ASSERT_TRUE(before.ok());
    EXPECT_FALSE((*g)->find_value("fc.weight") && (*before)->find_value("fc.weight") &&
                 (*g)->find_value("fc.weight")->constant().equals((*before)->find_value("fc.weight")->constant()));
    EXPECT_TRUE(fs::exists(path("out.onnx.ckpt")));
    auto log = nlohmann::json::parse(cli_test::slurp(path("log.json")), nullptr, false);
    ASSERT_FALSE(log.is_discarded());
    ASSERT_EQ(log["epochs"].size(), 1u);
    EXPECT_EQ(log["epochs"][0]["steps"], 8);
    EXPECT_TRUE(log["epochs"][0].contains("val_top1"));
}

TEST_F(TrainCli, FinetuneCalibratesAnUncalibratedModelAndWritesScales) {
    auto g = train_test::small_cnn(1);
    quant::QuantizeOptions q;
    ASSERT_TRUE(quant::quantize_graph(*g, q).ok());
    ASSERT_TRUE(quant::is_uncalibrated(*g));
    ASSERT_TRUE(qat::onnx::save_model(*g, path("q.onnx")).ok());
    CliResult r = run("finetune " + quote(path("q.onnx")) + quick() + "--steps 6 --batch 32 --json -o " +
                      quote(path("qat.onnx")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["command"], "finetune");
    EXPECT_GT(j["quantizers"].get<int>(), 0);
    auto out = qat::onnx::load_model(path("qat.onnx"));
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_FALSE(quant::is_uncalibrated(**out));
}

TEST_F(TrainCli, BadInputIsOneLineAndExitCode2) {
    const std::string m = model("m.onnx");
    // Unwritable output: refused before the model is even read.
    expect_error("train " + quote(m) + quick() + "-o /nonexistent_qat_dir/out.onnx", "train",
                 {"/nonexistent_qat_dir", "-o"});
    expect_error("train " + quote(path("missing.onnx")) + quick() + "-o " + quote(path("o.onnx")), "train",
                 {"missing.onnx"});
    expect_error("train " + quote(m) + quick() + "--checkpoint /nonexistent_qat_dir/c.ckpt -o " + quote(path("o.onnx")),
                 "train", {"/nonexistent_qat_dir", "--checkpoint"});
    // A 32x32 model fed 28x28 images.
    expect_error("train " + quote(model("m32.onnx", 32)) + quick() + "-o " + quote(path("o.onnx")), "train",
                 {"28", "32"});
    // Labels 0..11 for a 10-class model.
    ASSERT_TRUE(save_npy(path("x.npy"), Tensor::zeros(DataType::kFloat32, {48, 1, 28, 28})).ok());
    std::vector<int64_t> lab(48);
    for (int i = 0; i < 48; ++i) lab[i] = i % 12;
    ASSERT_TRUE(save_npy(path("y.npy"), Tensor::from_vector<int64_t>({48}, lab)).ok());
    expect_error("train " + quote(m) + " --data " + quote("npy:" + path("x.npy") + "," + path("y.npy")) +
                     " --no-val --batch 16 -q -o " + quote(path("o.onnx")),
                 "train", {"label 10", "10-class"});
    // An op with no training lowering, named.
    {
        ir::Graph g;
        g.info().set_opset("", 13);
        g.info().ir_version = 8;
        ir::Builder b(g, 1);
        ir::Value* x = b.input("input", DataType::kFloat32, Shape{Dim::symbolic("N"), 1, 28, 28});
        ir::Value* l = b.gemm(b.flatten(x, 1, "flatten"), 10, "fc");
        b.output(b.node("TopK", {l, b.int64s("k", {10})}, {}, "my_topk", 2)->output(0));
        ASSERT_TRUE(qat::onnx::save_model(g, path("topk.onnx")).ok());
    }
    expect_error("train " + quote(path("topk.onnx")) + quick() + "-o " + quote(path("o.onnx")), "train",
                 {"my_topk", "TopK"});
    // finetune wants Q/DQ; a corrupt checkpoint is refused, naming it.
    expect_error("finetune " + quote(m) + quick() + "-o " + quote(path("o.onnx")), "finetune", {"qat quantize"});
    ASSERT_TRUE(write_file_atomic(path("junk.ckpt"), "QATCKPT1 and then nonsense").ok());
    expect_error(
        "train " + quote(m) + quick() + "--resume " + quote(path("junk.ckpt")) + " -o " + quote(path("o.onnx")),
        "train", {"junk.ckpt"});
    EXPECT_FALSE(fs::exists(path("o.onnx"))) << "no output after a refused run";
    // Bad option values.
    expect_error("train " + quote(m) + quick() + "--optimizer rmsprop -o " + quote(path("o.onnx")), "train",
                 {"rmsprop"});
}

TEST_F(TrainCli, MissingQatTrainIsAClearError) {
    // A qat without its qat-train (as built without libtorch).
    fs::create_directories(path("bin"));
    fs::copy_file(QAT_CLI_BINARY, path("bin/qat"));
    fs::permissions(path("bin/qat"), fs::perms::owner_all);
    const std::string cmd =
        quote(path("bin/qat")) + " train m.onnx --data fashion-mnist -o x.onnx 2>" + quote(path("err.txt"));
    const int rc = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(rc));
    EXPECT_EQ(WEXITSTATUS(rc), 2);
    const std::string err = cli_test::slurp(path("err.txt"));
    EXPECT_EQ(err.rfind("qat train: error: ", 0), 0u) << err;
    EXPECT_NE(err.find("qat-train"), std::string::npos) << err;
    EXPECT_NE(err.find("QAT_WITH_TORCH"), std::string::npos) << err;
}

TEST_F(TrainCli, SigtermWritesACheckpointAndResumeContinues) {
    const std::string m = model("m.onnx");
    const std::string ckpt = path("run.ckpt");
    std::vector<std::string> args = {QAT_TRAIN_BINARY,
                                     "train",
                                     m,
                                     "--data",
                                     "fashion-mnist",
                                     "--train-limit",
                                     "2048",
                                     "--no-val",
                                     "-q",
                                     "--steps",
                                     "100000",
                                     "--batch",
                                     "32",
                                     "--checkpoint-every",
                                     "1",
                                     "--checkpoint",
                                     ckpt,
                                     "-o",
                                     path("out.onnx")};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, QAT_TRAIN_BINARY, nullptr, nullptr, argv.data(), environ), 0);
    // Training runs once the first checkpoint appears.
    const auto t0 = std::chrono::steady_clock::now();
    while (!fs::exists(ckpt) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(fs::exists(ckpt)) << "no checkpoint after 120 s";
    kill(pid, SIGTERM);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 130);
    EXPECT_FALSE(fs::exists(path("out.onnx")));
    // The checkpoint is whole: resume it for a few more steps.
    CliResult r = run("train " + quote(m) +
                      " --data fashion-mnist --train-limit 2048 --no-val -q --batch 32 --steps 3 "
                      "--resume " +
                      quote(ckpt) + " --checkpoint " + quote(path("run2.ckpt")) + " -o " + quote(path("out.onnx")));
    // A checkpoint taken past step 3 has nothing left to do; either way the output is written.
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(path("out.onnx")));
}
