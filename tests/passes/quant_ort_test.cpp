// quantize -> export -> ONNX Runtime vs our reference backend on the same Q/DQ model. Each zoo
// family (28x28, half width, random BN statistics) is calibrated here on random data (max of
// |tensor| over a few batches, observed through the reference backend), quantized with the auto
// preset, written with the ONNX checker and strict shape inference on, and run by ONNX Runtime
// (tools/ort_run.js). The outputs must agree within one output quantization step
// (amax(logits) / 127). Skips, saying why, when node or ONNX Runtime is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "backends/ref/ref_backend.h"
#include "core/npy.h"
#include "models/ort_test_util.h"
#include "models/zoo.h"
#include "onnx/onnx_export.h"
#include "ops/ref_test_util.h"
#include "quant_test_util.h"
#include "runtime/plan.h"

using namespace qat;
namespace fs = std::filesystem;

namespace {

const std::string kSource = QAT_SOURCE_DIR;

std::string ort_missing_reason() {
    if (!fs::exists(kSource + "/tools/ort_run.js")) return "tools/ort_run.js is absent";
    return qat::testing::ort_missing_reason();
}

using qat::testing::ref_registry;

Tensor random_input(std::vector<int64_t> dims, uint32_t seed) {
    Tensor t = Tensor::empty(DataType::kFloat32, std::move(dims));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);  // image-like range
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    return t;
}

// max |x| of every float tensor the float model computes (graph input included), over batches.
quant::CalibTable calibrate(const ir::Graph& g, int batches) {
    quant::CalibTable table;
    table.method = "max";
    auto plan = runtime::Plan::compile(g, {.registry = &ref_registry()});
    EXPECT_TRUE(plan.ok()) << plan.status().to_string();
    if (!plan.ok()) return table;
    auto observe = [&](const std::string& name, const Tensor& t) {
        if (t.dtype() != DataType::kFloat32) return;
        float m = 0.0f;
        for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data<float>()[i]));
        auto& e = table.tensors[name];
        e.amax = std::max(e.amax, m);
    };
    const std::string in = g.inputs()[0]->name();
    for (int b = 0; b < batches; ++b) {
        Tensor x = random_input({4, 1, 28, 28}, 100 + b);
        observe(in, x);
        auto r = (*plan)->run({{in, x}}, [&](const ir::Node& n, const std::vector<Tensor>& outs) {
            for (size_t i = 0; i < outs.size() && i < n.num_outputs(); ++i) observe(n.output(i)->name(), outs[i]);
            return OkStatus();
        });
        EXPECT_TRUE(r.ok()) << r.status().to_string();
    }
    return table;
}

class QuantOrt : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        std::string why = ort_missing_reason();
        if (!why.empty()) GTEST_SKIP() << why;
        dir_ = qat::testing::scratch_dir("quant_ort");
    }
    void TearDown() override {
        if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
    }

    void run(passes::quant::WeightFormat weights) {
        models::ZooOptions zo;
        zo.width_mult = 0.5;
        zo.random_bn_stats = true;
        zo.seed = 3;
        auto g = models::build_zoo_model(GetParam(), zo);
        ASSERT_TRUE(g.ok()) << g.status().to_string();
        quant::CalibTable table = calibrate(**g, 3);
        ASSERT_TRUE(table.tensors.count("logits"));
        const double step = table.tensors.at("logits").amax / 127.0;

        quant::QuantizeOptions o;
        o.calib_table = table;
        o.weights = weights;
        auto s = quant_test::quantize_with(**g, "auto", std::move(o));
        ASSERT_TRUE(s.calibrated);
        ASSERT_GT(s.activation_qdq, 0);

        const std::string model = (dir_ / "model.onnx").string();
        Status st = onnx::save_model(**g, model, {.check = true});  // checker + strict shape inference
        ASSERT_TRUE(st.ok()) << st.to_string();
        Tensor x = random_input({2, 1, 28, 28}, 7);
        const std::string in_npy = (dir_ / "input.npy").string();
        ASSERT_TRUE(save_npy(in_npy, x).ok());
        const std::string in = (*g)->inputs()[0]->name();
        const std::string out_dir = (dir_ / "ort").string();
        std::string cmd = "node '" + kSource + "/tools/ort_run.js' '" + model + "' --input '" + in + "=" + in_npy +
                          "' --out-dir '" + out_dir + "' > '" + (dir_ / "ort.log").string() + "' 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

        auto plan = runtime::Plan::compile(**g, {.registry = &ref_registry()});
        ASSERT_TRUE(plan.ok()) << plan.status().to_string();
        auto ours = (*plan)->run({{in, x}});
        ASSERT_TRUE(ours.ok()) << ours.status().to_string();
        auto theirs = load_npy(out_dir + "/logits.npy");
        ASSERT_TRUE(theirs.ok()) << theirs.status().to_string();
        const Tensor& a = ours->at("logits");
        ASSERT_EQ(a.dims(), theirs->dims());
        double max_diff = 0, max_abs = 0;
        for (int64_t i = 0; i < a.numel(); ++i) {
            max_diff =
                std::max(max_diff, std::fabs(static_cast<double>(a.data<float>()[i]) - theirs->data<float>()[i]));
            max_abs = std::max(max_abs, std::fabs(static_cast<double>(theirs->data<float>()[i])));
        }
        ASSERT_GT(max_abs, 0.0) << "ONNX Runtime's logits are all zero: the comparison would be vacuous";
        std::printf("%s: %d activation Q/DQ, %d weights; max |ref - ort| = %.3g, one output step = %.3g\n",
                    GetParam().c_str(), s.activation_qdq, s.weight_qdq, max_diff, step);
        EXPECT_LE(max_diff, step) << GetParam() << ": max |ref - ort| = " << max_diff << ", one output step = " << step;
    }

    fs::path dir_;
};

}  // namespace

TEST_P(QuantOrt, Int8WeightsAgreeWithinOneOutputStep) { run(passes::quant::WeightFormat::kInt8); }

TEST_P(QuantOrt, FloatWeightsAgreeWithinOneOutputStep) { run(passes::quant::WeightFormat::kFloat); }

INSTANTIATE_TEST_SUITE_P(Zoo, QuantOrt,
                         ::testing::Values("resnet_v1", "resnet_v2", "mobilenet_v2", "efficientnet_b0", "inception"),
                         [](const auto& info) { return info.param; });
