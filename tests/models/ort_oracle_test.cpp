// Outside oracle: our reference backend against ONNX Runtime (tools/ort_run.js) on multi-node
// models the project generates: a ResNet-style block pair, a depthwise-separable block with
// HardSwish, a classifier head with Gemm, and every zoo model at 28x28. FP32 outputs must agree
// within 1e-4 of the output's magnitude (max |ours - ort| <= 1e-4 * max |ort|).
//
// Skips, saying why, when node or ONNX Runtime (third_party/ort) is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>

#include "backends/ref/ref_backend.h"
#include "core/npy.h"
#include "ir/builder.h"
#include "ir/verify.h"
#include "models/ort_test_util.h"
#include "models/zoo.h"
#include "onnx/onnx_export.h"
#include "ops/ref_test_util.h"
#include "runtime/plan.h"

using namespace qat;
namespace fs = std::filesystem;

namespace {

const std::string kSource = QAT_SOURCE_DIR;

using qat::testing::ort_missing_reason;

using qat::testing::ref_registry;

Tensor random_input(std::vector<int64_t> dims, uint32_t seed) {
    Tensor t = Tensor::empty(DataType::kFloat32, std::move(dims));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
    return t;
}

class OrtOracle : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string why = ort_missing_reason();
        if (!why.empty()) GTEST_SKIP() << why;
        dir_ = qat::testing::scratch_dir("ort_oracle");
    }
    void TearDown() override {
        if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
    }

    // Runs `g` on `input` in ONNX Runtime and on the reference backend and compares every output.
    void compare(const ir::Graph& g, const Tensor& input, double rel_tol = 1e-4) {
        ASSERT_TRUE(ir::verify(g).ok()) << ir::verify(g).to_string();
        const std::string model = (dir_ / "model.onnx").string();
        const std::string in_npy = (dir_ / "input.npy").string();
        const std::string out_dir = (dir_ / "ort").string();
        Status s = onnx::save_model(g, model, {.check = true});
        ASSERT_TRUE(s.ok()) << s.to_string();
        ASSERT_TRUE(save_npy(in_npy, input).ok());
        const std::string input_name = g.inputs()[0]->name();
        std::string cmd = "node '" + kSource + "/tools/ort_run.js' '" + model + "' --input '" + input_name + "=" +
                          in_npy + "' --out-dir '" + out_dir + "' > '" + (dir_ / "ort.log").string() + "' 2>&1";
        int rc = std::system(cmd.c_str());
        ASSERT_EQ(rc, 0) << cmd << "\n" << read_log();

        auto plan = runtime::Plan::compile(g, {.registry = &ref_registry()});
        ASSERT_TRUE(plan.ok()) << plan.status().to_string();
        auto ours = (*plan)->run({{input_name, input}});
        ASSERT_TRUE(ours.ok()) << ours.status().to_string();

        for (const ir::Value* out : g.outputs()) {
            auto theirs = load_npy(out_dir + "/" + out->name() + ".npy");
            ASSERT_TRUE(theirs.ok()) << theirs.status().to_string();
            const Tensor& a = ours->at(out->name());
            const Tensor& b = *theirs;
            ASSERT_EQ(a.dims(), b.dims()) << out->name();
            ASSERT_EQ(a.dtype(), DataType::kFloat32);
            ASSERT_EQ(b.dtype(), DataType::kFloat32);
            double max_diff = 0, max_ref = 0;
            int64_t worst = 0;
            for (int64_t i = 0; i < a.numel(); ++i) {
                double d = std::abs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]);
                ASSERT_TRUE(std::isfinite(a.data<float>()[i])) << out->name() << " element " << i;
                if (d > max_diff) {
                    max_diff = d;
                    worst = i;
                }
                max_ref = std::max(max_ref, std::abs(static_cast<double>(b.data<float>()[i])));
            }
            ASSERT_GT(max_ref, 0.0) << out->name() << " is all zeros in ONNX Runtime: the test would be vacuous";
            std::printf("  %s: max |ref - ort| = %.3g, max |ort| = %.3g (ratio %.2g)\n", out->name().c_str(), max_diff,
                        max_ref, max_diff / max_ref);
            EXPECT_LE(max_diff, rel_tol * max_ref)
                << out->name() << ": max |ref - ort| = " << max_diff << " at element " << worst << " (ref "
                << a.data<float>()[worst] << ", ort " << b.data<float>()[worst] << "), max |ort| = " << max_ref;
        }
    }

    std::string read_log() const {
        std::string s;
        if (FILE* f = std::fopen((dir_ / "ort.log").c_str(), "r")) {
            char buf[512];
            while (std::fgets(buf, sizeof buf, f)) s += buf;
            std::fclose(f);
        }
        return s;
    }

    fs::path dir_;
};

ir::BuilderOptions random_bn(uint64_t seed) { return ir::BuilderOptions{.seed = seed, .random_bn_stats = true}; }

}  // namespace

// Two basic residual blocks: identity shortcut, then a strided one with a 1x1 projection.
TEST_F(OrtOracle, ResNetStyleBlocks) {
    ir::Graph g;
    ir::Builder b(g, random_bn(21));
    ir::Value* x = b.input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 8, 12, 12});
    auto conv_bn = [&](ir::Value* v, int64_t out, int64_t k, int64_t s, const std::string& p) {
        return b.batch_norm(b.conv(v, {.out_channels = out, .kernel = k, .stride = s, .bias = false}, p + ".conv"),
                            p + ".bn");
    };
    ir::Value* r = b.relu(conv_bn(x, 8, 3, 1, "b1.1"), "b1.1.relu");
    r = conv_bn(r, 8, 3, 1, "b1.2");
    ir::Value* y = b.relu(b.add(r, x, "b1.add"), "b1.relu");
    r = b.relu(conv_bn(y, 16, 3, 2, "b2.1"), "b2.1.relu");
    r = conv_bn(r, 16, 3, 1, "b2.2");
    ir::Value* sc = conv_bn(y, 16, 1, 2, "b2.proj");
    b.output(b.with_output_name("y").relu(b.add(r, sc, "b2.add"), "b2.relu"));
    ASSERT_TRUE(b.status().ok()) << b.status().to_string();
    compare(g, random_input({2, 8, 12, 12}, 1));
}

// Depthwise-separable block with HardSwish (opset 14): 1x1 expand, depthwise 3x3/2, 1x1 project.
TEST_F(OrtOracle, DepthwiseSeparableHardSwish) {
    ir::Graph g;
    ir::Builder b(g, random_bn(22));
    ir::Value* x = b.input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 6, 10, 10});
    ir::Value* e =
        b.hard_swish(b.batch_norm(b.conv(x, {.out_channels = 24, .kernel = 1}, "expand"), "expand.bn"), "expand.hs");
    ir::Value* d = b.conv(e, {.out_channels = 24, .kernel = 3, .stride = 2, .groups = 24, .bias = false}, "dw");
    d = b.hard_swish(b.batch_norm(d, "dw.bn"), "dw.hs");
    ir::Value* p = b.batch_norm(b.conv(d, {.out_channels = 12, .kernel = 1, .bias = false}, "project"), "project.bn");
    b.output(p);
    ASSERT_TRUE(b.status().ok()) << b.status().to_string();
    EXPECT_EQ(g.info().opset(""), 14);
    // Scale the input so that HardSwish sees both its linear, quadratic and zero regions.
    Tensor in = random_input({2, 6, 10, 10}, 2);
    for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] *= 4.0f;
    compare(g, in);
}

// Classifier head: AveragePool, MaxPool, Flatten, Gemm, Relu, Gemm, Softmax.
TEST_F(OrtOracle, GemmHead) {
    ir::Graph g;
    ir::Builder b(g, 23);
    ir::Value* x = b.input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 16, 8, 8});
    ir::Value* a = b.avg_pool(x, {.kernel = 3, .stride = 1, .pad = 1}, "avg");
    ir::Value* m = b.max_pool(a, {.kernel = 2}, "max");
    ir::Value* f = b.flatten(m, 1, "flatten");
    ir::Value* h = b.relu(b.gemm(f, 32, "fc1"), "fc1.relu");
    ir::Value* logits = b.gemm(h, 10, "fc2");
    b.output(logits);
    b.output(b.softmax(logits, 1, "softmax"));
    ASSERT_TRUE(b.status().ok()) << b.status().to_string();
    compare(g, random_input({3, 16, 8, 8}, 3));
}

// Every zoo model at 28x28, with random BN statistics so every BN term matters.
class OrtOracleZoo : public OrtOracle, public ::testing::WithParamInterface<std::string> {};

TEST_P(OrtOracleZoo, MatchesOnnxRuntime) {
    models::ZooOptions o;
    o.seed = 5;
    o.random_bn_stats = true;
    auto g = models::build_zoo_model(GetParam(), o);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    compare(**g, random_input({2, 1, 28, 28}, 4));
}

INSTANTIATE_TEST_SUITE_P(AllModels, OrtOracleZoo, ::testing::ValuesIn(models::zoo_names()),
                         [](const auto& info) { return info.param; });
