// Whole zoo models in INT8: our engine, our reference backend and ONNX Runtime on the very same
// Q/DQ file. Each bundled baseline (models/NAME.onnx, trained on Fashion-MNIST) is quantized with
// the default placement, calibrated (entropy, 128 train images) and saved; then 64 test images
// run through
//   - our INT8 engine (fused int8 ops on oneDNN where built, the reference kernels elsewhere),
//   - the reference backend on the unfused Q/DQ graph (Engine option int8 = false, backend ref),
//   - ONNX Runtime on the saved file, with its graph optimizations ("all": its own int8 fusions)
//     and without ("disabled": DequantizeLinear -> float op -> QuantizeLinear as written).
// Two correct int8 executions of one Q/DQ model differ wherever an intermediate value rounds to
// the other side of a quantization step (different accumulation order, requantization rounding),
// so they cannot be compared bit for bit. The bound is relative to the quantization error
// itself, measured here with ONNX Runtime on the FP32 baseline: our logits must agree with ONNX
// Runtime's INT8 logits at least 20 dB better than INT8 agrees with FP32 (the disagreement is a
// hundredth of the quantization noise in power), and at least 30 dB; top-1 the same on >= 95% of
// the images. The same holds for the reference backend. ONNX Runtime's two modes against each
// other are printed too (on these models they agree exactly). The numbers are printed.
//
// Skips, saying why, when node, ONNX Runtime or a bundled baseline is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/ort_test_util.h"
#include "qat/data.h"
#include "qat/engine.h"
#include "qat/model.h"
#include "qat/quantize.h"
#include "qat/tensor.h"

namespace qa = qat::api;
namespace fs = std::filesystem;

namespace {

const std::string kSource = QAT_SOURCE_DIR;

std::string missing_reason(const std::string& model) {
    if (!fs::exists(model)) return "the bundled baseline " + model + " is absent";
    return qat::testing::ort_missing_reason();
}

// 10 log10(sum ref^2 / sum (x - ref)^2), and the share of rows with the same argmax.
struct Agreement {
    double sqnr_db = 0;
    double top1_same = 0;
};

Agreement agree(const qa::FloatTensor& x, const qa::FloatTensor& ref) {
    Agreement a;
    double sig = 0, noise = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
        const double d = static_cast<double>(x.data[static_cast<size_t>(i)]) - ref.data[static_cast<size_t>(i)];
        sig += static_cast<double>(ref.data[static_cast<size_t>(i)]) * ref.data[static_cast<size_t>(i)];
        noise += d * d;
    }
    a.sqnr_db = noise == 0 ? 999.0 : 10.0 * std::log10(sig / noise);
    const int64_t rows = ref.shape[0];
    int64_t same = 0;
    for (int64_t r = 0; r < rows; ++r) same += x.argmax_row(r) == ref.argmax_row(r);
    a.top1_same = static_cast<double>(same) / static_cast<double>(rows);
    return a;
}

class ZooInt8Ort : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        model_ = kSource + "/models/" + GetParam() + ".onnx";
        std::string why = missing_reason(model_);
        if (!why.empty()) GTEST_SKIP() << why;
        dir_ = qat::testing::scratch_dir("zoo_int8_ort");
    }
    void TearDown() override {
        if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
    }

    // ONNX Runtime's first output for `model` on x (input `name`) at graph optimization `opt`.
    qa::FloatTensor ort(const std::string& model, const std::string& name, const std::string& x_npy,
                        const std::string& output, const std::string& opt) {
        const std::string od = (dir_ / ("ort_" + opt)).string();
        const std::string log = (dir_ / "ort.log").string();
        const std::string cmd = "node '" + kSource + "/tools/ort_run.js' '" + model + "' --input '" + name + "=" +
                                x_npy + "' --out-dir '" + od + "' --opt-level " + opt + " > '" + log + "' 2>&1";
        const int rc = std::system(cmd.c_str());
        std::ifstream f(log);
        EXPECT_EQ(rc, 0) << std::string(std::istreambuf_iterator<char>(f), {});
        auto t = qa::load_npy(od + "/" + output + ".npy");
        EXPECT_TRUE(t.ok()) << t.status().message();
        return t.ok() ? std::move(*t) : qa::FloatTensor{};
    }

    std::string model_;
    fs::path dir_;
};

TEST_P(ZooInt8Ort, EngineAndReferenceAgreeWithOnnxRuntimeOnTheSameQdqFile) {
    auto m = qa::Model::load(model_);
    ASSERT_TRUE(m.ok()) << m.status().message();
    ASSERT_TRUE(qa::quantize(*m).ok());
    qa::DataSpec calib;
    calib.samples = 128;
    qa::CalibrateOptions co;
    co.method = "entropy";
    co.threads = 2;
    auto c = qa::calibrate(*m, calib, co);
    ASSERT_TRUE(c.ok()) << c.status().message();
    const std::string qdq = (dir_ / "model_ptq.onnx").string();
    ASSERT_TRUE(m->save(qdq).ok());

    qa::DataSpec test;
    test.split = "test";
    test.samples = 64;
    auto s = qa::load_samples(test);
    ASSERT_TRUE(s.ok()) << s.status().message();
    const std::string x_npy = (dir_ / "x.npy").string();
    ASSERT_TRUE(qa::save_npy(x_npy, s->images).ok());

    auto engine = qa::Engine::build(*m, {.threads = 2});
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    auto reference = qa::Engine::build(*m, {.backends = {"ref"}, .threads = 2, .int8 = false});
    ASSERT_TRUE(reference.ok()) << reference.status().message();
    auto ours = engine->run({s->images});
    auto ref = reference->run({s->images});
    ASSERT_TRUE(ours.ok()) << ours.status().message();
    ASSERT_TRUE(ref.ok()) << ref.status().message();

    const std::string input = m->inputs().at(0).name, output = m->outputs().at(0).name;
    qa::FloatTensor ort_all = ort(qdq, input, x_npy, output, "all");
    qa::FloatTensor ort_plain = ort(qdq, input, x_npy, output, "disabled");
    qa::FloatTensor ort_fp32 = ort(model_, input, x_npy, output, "all");
    const Agreement quant = agree(ort_all, ort_fp32);
    std::printf("  quantization noise: ort int8 vs ort fp32 %.1f dB top-1 %.0f%%\n", quant.sqnr_db,
                100 * quant.top1_same);
    ASSERT_EQ(ort_all.shape, (std::vector<int64_t>{64, 10}));
    ASSERT_EQ(ort_plain.shape, ort_all.shape);
    ASSERT_EQ((*ours)[0].shape, ort_all.shape);
    ASSERT_EQ((*ref)[0].shape, ort_all.shape);

    const Agreement self = agree(ort_plain, ort_all);
    const Agreement eng = agree((*ours)[0], ort_all);
    const Agreement rb = agree((*ref)[0], ort_all);
    std::printf(
        "  %s (%s): ort disabled vs all %.1f dB top-1 %.0f%% | engine vs ort %.1f dB top-1 %.0f%% | "
        "ref vs ort %.1f dB top-1 %.0f%%\n",
        GetParam().c_str(), engine->backend_summary().c_str(), self.sqnr_db, 100 * self.top1_same, eng.sqnr_db,
        100 * eng.top1_same, rb.sqnr_db, 100 * rb.top1_same);
    const double floor_db = std::max(30.0, quant.sqnr_db + 20.0);
    EXPECT_GE(eng.sqnr_db, floor_db) << "engine vs ONNX Runtime";
    EXPECT_GE(rb.sqnr_db, floor_db) << "reference backend vs ONNX Runtime";
    EXPECT_GE(eng.top1_same, 0.95) << "engine vs ONNX Runtime";
    EXPECT_GE(rb.top1_same, 0.95) << "reference backend vs ONNX Runtime";
}

INSTANTIATE_TEST_SUITE_P(Bundled, ZooInt8Ort,
                         ::testing::Values("resnet_v1", "resnet_v2", "mobilenet_v2", "efficientnet_b0", "inception"),
                         [](const auto& info) { return info.param; });

}  // namespace
