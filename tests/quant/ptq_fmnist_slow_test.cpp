// End to end on Fashion-MNIST (Debian's dataset-fashion-mnist) with a small CNN whose weights are
// fixed here without training: two strided convolutions with seeded He-normal filters (random
// features) and a linear classifier fitted in closed form (ridge regression on those features).
//
//   input [N,1,28,28] -> conv1 (8, 5x5, /2) -> relu1 -> conv2 (16, 3x3, /2) -> relu2
//                     -> flatten (784) -> fc (10)
//
// The "outlier" copy of the model computes the same function but has conv1's channel 0 (weights
// and bias) scaled by 1000 and conv2's weights that read it divided by 1000: conv2's input then
// has one channel 1000x larger than the others, so a per-tensor int8 scale for it (max
// calibration) rounds the other channels to zero. That is the deliberately mis-scaled layer.
//
// The oracle is the labels (top-1 accuracy) and the construction (we know which layer is broken).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/random.h"
#include "ir/builder.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/calibrate.h"
#include "quant/sensitivity.h"

namespace qat::quant {
namespace {

namespace fs = std::filesystem;

constexpr float kOutlier = 1000.0f;

std::unique_ptr<ir::Graph> cnn_with_random_features() {
    auto g = std::make_unique<ir::Graph>();
    ir::Builder b(*g, 2024);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{Dim::symbolic("N"), 1, 28, 28});
    ir::Value* y = b.relu(b.conv(x, {.out_channels = 8, .kernel = 5, .stride = 2, .pad = 2}, "conv1"), "relu1");
    y = b.relu(b.conv(y, {.out_channels = 16, .kernel = 3, .stride = 2, .pad = 1}, "conv2"), "relu2");
    y = b.flatten(y, 1, "flatten");
    b.output(b.with_output_name("logits").gemm(y, 10, "fc"));
    EXPECT_TRUE(b.status().ok()) << b.status().to_string();
    return g;
}

std::unique_ptr<BatchSource> source_of(data::DatasetPtr ds, int64_t n, uint64_t seed, int64_t batch = 64) {
    auto sub = data::make_subset(ds, data::select_subset(ds->size(), n, seed));
    EXPECT_TRUE(sub.ok());
    data::LoaderOptions lo;
    lo.batch_size = batch;
    lo.preprocess = data::default_preprocess(ds->sample_dtype());
    auto loader = data::Loader::create(*sub, lo);
    EXPECT_TRUE(loader.ok()) << loader.status().to_string();
    return make_loader_source(std::move(loader).value(), "fashion-mnist subset");
}

// Solves A x = b for symmetric positive definite A (n x n, row-major) by Cholesky, in place.
void cholesky_solve(std::vector<double>& a, std::vector<double>& rhs, int n, int k) {
    for (int j = 0; j < n; ++j) {
        double d = a[j * n + j];
        for (int p = 0; p < j; ++p) d -= a[j * n + p] * a[j * n + p];
        d = std::sqrt(d);
        a[j * n + j] = d;
        for (int i = j + 1; i < n; ++i) {
            double s = a[i * n + j];
            for (int p = 0; p < j; ++p) s -= a[i * n + p] * a[j * n + p];
            a[i * n + j] = s / d;
        }
    }
    for (int c = 0; c < k; ++c) {
        for (int i = 0; i < n; ++i) {  // L y = b
            double s = rhs[i * k + c];
            for (int p = 0; p < i; ++p) s -= a[i * n + p] * rhs[p * k + c];
            rhs[i * k + c] = s / a[i * n + i];
        }
        for (int i = n - 1; i >= 0; --i) {  // L^T x = y
            double s = rhs[i * k + c];
            for (int p = i + 1; p < n; ++p) s -= a[p * n + i] * rhs[p * k + c];
            rhs[i * k + c] = s / a[i * n + i];
        }
    }
}

// Fits fc by ridge regression on one-hot targets over `n` training samples.
void fit_classifier(ir::Graph& g, data::DatasetPtr train, int64_t n) {
    auto feat = g.clone();
    feat->set_outputs({feat->find_value("flatten")});
    feat->remove_dead_code();
    auto runner = GraphRunner::create(*feat, {}, "features");
    ASSERT_TRUE(runner.ok()) << runner.status().to_string();
    auto src = source_of(train, n, 1);
    ASSERT_TRUE(src->rewind().ok());
    const int d = 784 + 1, k = 10;
    std::vector<double> ata(static_cast<size_t>(d) * d, 0.0), aty(static_cast<size_t>(d) * k, 0.0);
    Tensor x, labels;
    std::vector<double> row(d);
    for (;;) {
        auto more = src->next(&x, &labels);
        ASSERT_TRUE(more.ok());
        if (!*more) break;
        auto out = (*runner)->run(x);
        ASSERT_TRUE(out.ok()) << out.status().to_string();
        const float* f = (*out)[0].data<float>();
        for (int64_t r = 0; r < x.dim(0); ++r) {
            for (int j = 0; j < 784; ++j) row[j] = f[r * 784 + j];
            row[784] = 1.0;
            for (int i = 0; i < d; ++i) {
                if (row[i] == 0.0) continue;
                for (int j = 0; j <= i; ++j) ata[static_cast<size_t>(i) * d + j] += row[i] * row[j];
                aty[static_cast<size_t>(i) * k + labels.data<int64_t>()[r]] += row[i];
            }
        }
    }
    double tr = 0;
    for (int i = 0; i < d; ++i) tr += ata[static_cast<size_t>(i) * d + i];
    for (int i = 0; i < d; ++i) {
        ata[static_cast<size_t>(i) * d + i] += 1e-3 * tr / d;
        for (int j = 0; j < i; ++j) ata[static_cast<size_t>(j) * d + i] = ata[static_cast<size_t>(i) * d + j];
    }
    cholesky_solve(ata, aty, d, k);
    std::vector<float> w(static_cast<size_t>(k) * 784), bias(k);
    for (int c = 0; c < k; ++c) {
        for (int j = 0; j < 784; ++j)
            w[static_cast<size_t>(c) * 784 + j] = static_cast<float>(aty[static_cast<size_t>(j) * k + c]);
        bias[c] = static_cast<float>(aty[static_cast<size_t>(784) * k + c]);
    }
    g.find_value("fc.weight")->set_constant(Tensor::from_vector<float>({k, 784}, w));
    g.find_value("fc.bias")->set_constant(Tensor::from_vector<float>({k}, bias));
}

// Same function, conv2's input channel 0 kOutlier times larger.
std::unique_ptr<ir::Graph> with_outlier_channel(const ir::Graph& g) {
    auto o = g.clone();
    Tensor w1 = o->find_value("conv1.weight")->constant().clone();
    Tensor b1 = o->find_value("conv1.bias")->constant().clone();
    Tensor w2 = o->find_value("conv2.weight")->constant().clone();
    const int64_t per1 = w1.numel() / w1.dim(0);
    for (int64_t i = 0; i < per1; ++i) w1.data<float>()[i] *= kOutlier;
    b1.data<float>()[0] *= kOutlier;
    const int64_t cin = w2.dim(1), kk = w2.dim(2) * w2.dim(3);
    for (int64_t co = 0; co < w2.dim(0); ++co)
        for (int64_t i = 0; i < kk; ++i) w2.data<float>()[(co * cin + 0) * kk + i] /= kOutlier;
    o->find_value("conv1.weight")->set_constant(w1);
    o->find_value("conv1.bias")->set_constant(b1);
    o->find_value("conv2.weight")->set_constant(w2);
    return o;
}

struct Env {
    std::string skip;
    fs::path dir;
    data::DatasetPtr train, test;
    std::unique_ptr<ir::Graph> clean, outlier;
};
Env* g_env = nullptr;

class PtqFashionMnist : public cli_test::CliTest {
  protected:
    static void SetUpTestSuite() {
        g_env = new Env;
        auto train = data::open_dataset("fashion-mnist", data::Split::kTrain);
        auto test = data::open_dataset("fashion-mnist", data::Split::kTest);
        if (!train.ok() || !test.ok()) {
            g_env->skip = "Fashion-MNIST is not installed (" +
                          (train.ok() ? test.status() : train.status()).to_string() +
                          "); install dataset-fashion-mnist";
            return;
        }
        g_env->train = *train;
        g_env->test = *test;
        g_env->dir = fs::temp_directory_path() / ("qat_ptq_fmnist_" + std::to_string(::getpid()));
        fs::create_directories(g_env->dir);
        g_env->clean = cnn_with_random_features();
        fit_classifier(*g_env->clean, g_env->train, 3000);
        g_env->outlier = with_outlier_channel(*g_env->clean);
        ASSERT_TRUE(onnx::save_model(*g_env->clean, (g_env->dir / "clean.onnx").string()).ok());
        ASSERT_TRUE(onnx::save_model(*g_env->outlier, (g_env->dir / "outlier.onnx").string()).ok());
    }
    static void TearDownTestSuite() {
        if (g_env && !g_env->dir.empty()) fs::remove_all(g_env->dir);
        delete g_env;
        g_env = nullptr;
    }
    void SetUp() override {
        CliTest::SetUp();
        if (!g_env->skip.empty()) GTEST_SKIP() << g_env->skip;
    }
    std::string shared(const std::string& f) { return cli_test::quote((g_env->dir / f).string()); }

    // The held-out set `qat calibrate` uses by default: 1000 test samples drawn with seed 0.
    std::unique_ptr<Evaluator> evaluator(const ir::Graph& fp32) {
        held_out_ = source_of(g_env->test, 1000, 0);
        auto ev = Evaluator::create(fp32, held_out_.get(), {});
        EXPECT_TRUE(ev.ok()) << ev.status().to_string();
        return ev.ok() ? std::move(ev).value() : nullptr;
    }
    EvalResult eval_file(Evaluator& ev, const std::string& file) {
        auto g = onnx::load_model(file);
        EXPECT_TRUE(g.ok()) << g.status().to_string();
        auto r = ev.evaluate(**g);
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        return r.ok() ? *r : EvalResult{};
    }
    std::unique_ptr<BatchSource> held_out_;
};

TEST_F(PtqFashionMnist, BestMethodWithinOnePointOfFp32) {
    auto ev = evaluator(*g_env->clean);
    ASSERT_TRUE(ev);
    const double fp32 = ev->fp32().top1;
    ASSERT_GT(fp32, 70.0) << "the fixed-weight model should classify Fashion-MNIST reasonably";
    double best = -1;
    std::string best_m;
    for (const char* m : {"max", "percentile", "entropy", "mse"}) {
        std::string out = path(std::string("ptq_") + m + ".onnx");
        auto r = run("calibrate " + shared("clean.onnx") + " --data fashion-mnist --calib-samples 512 --method " + m +
                     " -o " + cli_test::quote(out) + " -q");
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EvalResult e = eval_file(*ev, out);
        std::printf("  %-10s top-1 %.2f%% (FP32 %.2f%%), output SQNR %.1f dB\n", m, e.top1, fp32, e.sqnr_db);
        if (e.top1 > best) best = e.top1, best_m = m;
    }
    EXPECT_GE(best, fp32 - 1.0) << "best method " << best_m;
}

TEST_F(PtqFashionMnist, CompareRanksTheMisScaledLayerFirst) {
    auto ev = evaluator(*g_env->outlier);
    ASSERT_TRUE(ev);
    std::string out = path("outlier_ptq.onnx");
    auto r = run("calibrate " + shared("outlier.onnx") + " --data fashion-mnist --calib-samples 256 --method max -o " +
                 cli_test::quote(out) + " -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The mis-scaling is real: plain PTQ loses a lot.
    EvalResult e = eval_file(*ev, out);
    EXPECT_LT(e.top1, ev->fp32().top1 - 5.0);
    r = run("compare " + shared("outlier.onnx") + " " + cli_test::quote(out) +
            " --data fashion-mnist --samples 256 --json -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_FALSE(j["layers"].empty());
    EXPECT_EQ(j["layers"][0]["layer"], "conv2") << j["layers"].dump(1);
    EXPECT_EQ(j["samples"], 256);
}

TEST_F(PtqFashionMnist, AccuracyBudgetReturnsThatLayerToFloat) {
    auto ev = evaluator(*g_env->outlier);
    ASSERT_TRUE(ev);
    std::string out = path("mixed.onnx");
    auto r = run("calibrate " + shared("outlier.onnx") +
                 " --data fashion-mnist --calib-samples 256 --method max --accuracy-budget 1 -o " +
                 cli_test::quote(out) + " --json -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    const auto& mp = j["mixed_precision"];
    EXPECT_TRUE(mp["met"].get<bool>()) << mp.dump(1);
    ASSERT_FALSE(mp["float_layers"].empty()) << mp.dump(1);
    EXPECT_EQ(mp["float_layers"][0], "conv2") << mp.dump(1);
    EXPECT_EQ(mp["float_layers"].size(), 1u) << mp.dump(1);
    EXPECT_LT(mp["int8_mac_percent"].get<double>(), 100.0);
    EXPECT_GT(mp["int8_mac_percent"].get<double>(), 0.0);
    // The written model: conv2 reads float, conv1 and fc read DequantizeLinear outputs; on the
    // same held-out samples it is within the budget of FP32 (evaluated again here).
    auto g = onnx::load_model(out);
    ASSERT_TRUE(g.ok());
    auto from_dq = [&](const std::string& node) {
        const ir::Value* v = (*g)->find_node(node)->input(0);
        return v->producer() && v->producer()->op_type() == "DequantizeLinear";
    };
    EXPECT_FALSE(from_dq("conv2"));
    EXPECT_TRUE(from_dq("conv1"));
    EXPECT_TRUE(from_dq("fc"));
    EvalResult e = eval_file(*ev, out);
    EXPECT_GE(e.top1, ev->fp32().top1 - 1.0 - 1e-9);
}

// The same with an output-SQNR budget: plain PTQ's SQNR is measured first (a -100 dB budget holds
// with every layer INT8), then a budget 10 dB above it sends exactly the mis-scaled layer back to
// float.
TEST_F(PtqFashionMnist, SqnrBudgetReturnsThatLayerToFloat) {
    const std::string base = "calibrate " + shared("outlier.onnx") +
                             " --data fashion-mnist --calib-samples 256 --method max --json -q -o " +
                             cli_test::quote(path("sqnr.onnx"));
    auto r = run(base + " --sqnr-budget -100");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto mp = nlohmann::json::parse(r.out)["mixed_precision"];
    EXPECT_TRUE(mp["met"].get<bool>()) << mp.dump(1);
    EXPECT_TRUE(mp["float_layers"].empty()) << mp.dump(1);
    const double int8_sqnr = mp["int8_sqnr_db"].get<double>();
    const double budget = int8_sqnr + 10.0;
    fs::remove(path("sqnr.onnx"));
    r = run(base + " --sqnr-budget " + std::to_string(budget));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    mp = nlohmann::json::parse(r.out)["mixed_precision"];
    std::printf("  full INT8 output SQNR %.2f dB; budget %.2f dB; final %.2f dB\n", int8_sqnr, budget,
                mp["final_sqnr_db"].get<double>());
    EXPECT_EQ(mp["metric"], "sqnr");
    EXPECT_TRUE(mp["met"].get<bool>()) << mp.dump(1);
    EXPECT_EQ(mp["float_layers"], nlohmann::json::array({"conv2"})) << mp.dump(1);
    EXPECT_GE(mp["final_sqnr_db"].get<double>(), budget);
    EXPECT_GT(mp["int8_mac_percent"].get<double>(), 0.0);
    EXPECT_LT(mp["int8_mac_percent"].get<double>(), 100.0);
}

TEST_F(PtqFashionMnist, SensitivityRanksThatLayerFirst) {
    auto r = run("sensitivity " + shared("outlier.onnx") +
                 " --data fashion-mnist --calib-samples 256 --eval-samples 500 --method max --json -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_FALSE(j["layers"].empty());
    EXPECT_EQ(j["layers"][0]["layer"], "conv2") << j["layers"].dump(1);
}

}  // namespace
}  // namespace qat::quant
