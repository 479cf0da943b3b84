// The public C++ API (include/qat/) end to end: load -> quantize -> calibrate -> build -> run,
// engine files, evaluate, and the errors every bad input must give (a non-OK status with a
// message naming the file, input or option; the model left as it was).
//
// Oracles: the input's activation scale against max|x| / 127 computed here from the data; the
// engine's outputs against the reference backend running the unfused Q/DQ graph (same bound as
// tests/engine/engine_models_test.cpp); a loaded engine file against the engine that wrote it
// (bit-identical); evaluate()'s top-1 against argmax of Engine::run counted here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "api/api_internal.h"
#include "backends/registry.h"
#include "core/npy.h"
#include "models/zoo.h"
#include "onnx/onnx_export.h"
#include "qat/qat.h"
#include "runtime/plan.h"

namespace qat {
namespace {

namespace qa = qat::api;
namespace fs = std::filesystem;

class ApiTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("qat_api_test_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
        models::ZooOptions zo;
        zo.width_mult = 0.5;
        zo.seed = 7;
        zo.random_bn_stats = true;
        auto g = models::build_zoo_model("resnet_v1", zo);
        ASSERT_TRUE(g.ok()) << g.status().to_string();
        model_path_ = path("model.onnx");
        ASSERT_TRUE(onnx::save_model(**g, model_path_).ok());

        // Calibration / evaluation images in [0, 1) and their labels.
        std::mt19937 rng(11);
        std::uniform_real_distribution<float> u(0.0f, 1.0f);
        images_ = qa::FloatTensor::zeros({32, 1, 28, 28});
        for (auto& v : images_.data) v = u(rng);
        images_.data[5] = 1.75f;  // the largest |x|: the input's amax under the max method
        ASSERT_TRUE(qa::save_npy(path("images.npy"), images_).ok());
        std::vector<int64_t> labels(32);
        for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 10);
        ASSERT_TRUE(save_npy(path("labels.npy"), Tensor::from_vector<int64_t>({32}, labels)).ok());
        data_.source = "npy:" + path("images.npy") + "," + path("labels.npy");
        data_.samples = 0;
        data_.scale = 1.0f;
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    qa::Model load() {
        auto m = qa::Model::load(model_path_);
        EXPECT_TRUE(m.ok()) << m.status().to_string();
        return std::move(m).value();
    }

    // A batch of the first n images.
    qa::FloatTensor batch(int64_t n) const {
        qa::FloatTensor x = qa::FloatTensor::zeros({n, 1, 28, 28});
        std::copy_n(images_.data.begin(), x.numel(), x.data.begin());
        return x;
    }

    fs::path dir_;
    std::string model_path_;
    qa::FloatTensor images_;
    qa::DataSpec data_;
};

// Scale of the QuantizeLinear that reads the graph input (0 when there is none).
float input_scale(const qa::Model& m) {
    const ir::Graph& g = *m.impl().graph;
    for (const ir::Node* n : g.nodes())
        if (n->op_type() == "QuantizeLinear" && n->input(0)->is_graph_input() && n->input(1)->is_constant())
            return n->input(1)->constant().data<float>()[0];
    return 0.0f;
}

int64_t argmax_row(const qa::FloatTensor& t, int64_t row) { return t.argmax_row(row); }

TEST_F(ApiTest, QuantizeCalibrateBuildRun) {
    qa::Model m = load();
    ASSERT_EQ(m.inputs().size(), 1u);
    EXPECT_EQ(m.inputs()[0].name, "input");
    EXPECT_EQ(m.inputs()[0].dtype, "float32");
    EXPECT_EQ(m.inputs()[0].shape, (std::vector<int64_t>{-1, 1, 28, 28}));
    EXPECT_FALSE(m.has_qdq());

    auto q = qa::quantize(m);
    ASSERT_TRUE(q.ok()) << q.status().to_string();
    EXPECT_GT(q->weight_qdq, 0);
    EXPECT_GT(q->activation_qdq, 0);
    EXPECT_FALSE(q->calibrated);
    EXPECT_TRUE(m.has_qdq());
    EXPECT_FALSE(m.is_calibrated());

    // No engine from placeholder scales.
    auto early = qa::Engine::build(m);
    ASSERT_FALSE(early.ok());
    EXPECT_EQ(early.status().code(), qa::StatusCode::kFailedPrecondition) << early.status().to_string();
    EXPECT_NE(early.status().message().find("calibrat"), std::string::npos) << early.status().message();

    qa::CalibrateOptions co;
    co.method = "max";
    auto c = qa::calibrate(m, data_, co);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_TRUE(c->recalibrated);
    EXPECT_EQ(c->samples, 32);
    EXPECT_GT(c->tensors, 0);
    EXPECT_LE(c->tensors, q->activation_qdq);
    EXPECT_TRUE(m.is_calibrated());
    float amax = 0;
    for (float v : images_.data) amax = std::max(amax, std::fabs(v));
    EXPECT_NEAR(input_scale(m), amax / 127.0f, 1e-6f * amax);

    auto e = qa::Engine::build(m, {.backends = {"ref"}, .threads = 1});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    ASSERT_EQ(e->inputs().size(), 1u);
    ASSERT_EQ(e->outputs().size(), 1u);
    const qa::FloatTensor x = batch(6);
    auto y = e->run({x});
    ASSERT_TRUE(y.ok()) << y.status().to_string();
    ASSERT_EQ(y->size(), 1u);
    const qa::FloatTensor& got = (*y)[0];
    ASSERT_EQ(got.shape, (std::vector<int64_t>{6, 10}));

    // Oracle: the reference backend on the unfused Q/DQ graph.
    runtime::PlanOptions po;
    po.registry = &backends::default_registry();
    po.backends = {"ref"};
    auto plan = runtime::Plan::compile(*m.impl().graph, po);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    auto ref_out = (*plan)->run(std::vector<Tensor>{api::internal::to_internal(x)});
    ASSERT_TRUE(ref_out.ok()) << ref_out.status().to_string();
    const qa::FloatTensor ref = api::internal::to_float_tensor((*ref_out)[0]);
    float ref_max = 0, diff = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
        ref_max = std::max(ref_max, std::fabs(ref.at(i)));
        diff = std::max(diff, std::fabs(ref.at(i) - got.at(i)));
    }
    const float tol = 3e-2f * ref_max;
    EXPECT_LE(diff, tol);
    for (int64_t i = 0; i < 6; ++i) {
        const int64_t a = argmax_row(got, i), b = argmax_row(ref, i);
        if (a != b) {
            EXPECT_LE(std::fabs(ref.at(i * 10 + a) - ref.at(i * 10 + b)), tol) << "sample " << i;
        }
    }

    // Engine file: the loaded engine gives the same numbers.
    ASSERT_TRUE(e->save(path("m.engine")).ok());
    auto e2 = qa::Engine::load(path("m.engine"), {.threads = 1});
    ASSERT_TRUE(e2.ok()) << e2.status().to_string();
    auto y2 = e2->run({x});
    ASSERT_TRUE(y2.ok()) << y2.status().to_string();
    EXPECT_EQ((*y2)[0].data, got.data);

    // The calibrated model round-trips through ONNX.
    ASSERT_TRUE(m.save(path("calibrated.onnx")).ok());
    auto m2 = qa::Model::load(path("calibrated.onnx"));
    ASSERT_TRUE(m2.ok()) << m2.status().to_string();
    EXPECT_TRUE(m2->has_qdq());
    EXPECT_TRUE(m2->is_calibrated());
    EXPECT_EQ(input_scale(*m2), input_scale(m));
}

TEST_F(ApiTest, CalibrateAnFp32ModelPlacesQdqItself) {
    qa::Model m = load();
    qa::CalibrateOptions co;
    co.method = "percentile";
    co.percentile = 99.9;
    auto c = qa::calibrate(m, data_, co);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_FALSE(c->recalibrated);
    EXPECT_GT(c->tensors, 0);
    EXPECT_TRUE(m.has_qdq());
    EXPECT_TRUE(m.is_calibrated());
    EXPECT_TRUE(qa::Engine::build(m, {.backends = {"ref"}, .threads = 1}).ok());
}

TEST_F(ApiTest, EvaluateCountsTop1LikeRun) {
    qa::Model m = load();
    ASSERT_TRUE(qa::calibrate(m, data_, {.method = "max"}).ok());
    // The reference kernels give the same numbers whatever the batch (evaluate runs batches of
    // 10, the check below one of 32).
    auto e = qa::Engine::build(m, {.backends = {"ref"}, .threads = 1});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    auto acc = qa::evaluate(*e, data_, 10);  // batches of 10, 10, 10, 2
    ASSERT_TRUE(acc.ok()) << acc.status().to_string();
    EXPECT_EQ(acc->samples, 32);
    auto y = e->run({images_});
    ASSERT_TRUE(y.ok()) << y.status().to_string();
    int64_t correct = 0;
    for (int64_t i = 0; i < 32; ++i) correct += argmax_row((*y)[0], i) == i % 10;
    EXPECT_DOUBLE_EQ(acc->top1, 100.0 * static_cast<double>(correct) / 32.0);
    EXPECT_GE(acc->top5, acc->top1);

    auto s = qa::load_samples(data_);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ(s->images.shape, images_.shape);
    EXPECT_EQ(s->images.data, images_.data);
    EXPECT_EQ(s->labels[13], 3);
    EXPECT_EQ(s->num_classes, 10);
}

TEST_F(ApiTest, MissingAndBadFilesGiveClearErrors) {
    auto m = qa::Model::load(path("nope.onnx"));
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find("nope.onnx"), std::string::npos) << m.status().message();

    ASSERT_TRUE(qa::save_npy(path("junk.onnx"), images_).ok());  // not an ONNX model
    auto junk = qa::Model::load(path("junk.onnx"));
    ASSERT_FALSE(junk.ok());
    EXPECT_NE(junk.status().message().find("junk.onnx"), std::string::npos) << junk.status().message();

    auto e = qa::Engine::load(path("nope.engine"));
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("nope.engine"), std::string::npos) << e.status().message();

    auto x = qa::load_npy(path("nope.npy"));
    ASSERT_FALSE(x.ok());
    EXPECT_NE(x.status().message().find("nope.npy"), std::string::npos) << x.status().message();
}

TEST_F(ApiTest, BadCalibrationInputLeavesTheModelAlone) {
    qa::Model m = load();
    ASSERT_TRUE(qa::quantize(m).ok());
    const int64_t nodes = m.num_nodes();

    qa::DataSpec missing = data_;
    missing.source = "npy:" + path("missing.npy");
    auto r1 = qa::calibrate(m, missing);
    ASSERT_FALSE(r1.ok());
    EXPECT_NE(r1.status().message().find("missing.npy"), std::string::npos) << r1.status().message();

    // Samples of the wrong size: the message names the model input and both shapes.
    ASSERT_TRUE(qa::save_npy(path("small.npy"), qa::FloatTensor::zeros({4, 1, 14, 14})).ok());
    qa::DataSpec small = data_;
    small.source = "npy:" + path("small.npy");
    auto r2 = qa::calibrate(m, small);
    ASSERT_FALSE(r2.ok());
    EXPECT_EQ(r2.status().code(), qa::StatusCode::kInvalidArgument) << r2.status().to_string();
    EXPECT_NE(r2.status().message().find("input"), std::string::npos) << r2.status().message();
    EXPECT_NE(r2.status().message().find("14"), std::string::npos) << r2.status().message();
    EXPECT_NE(r2.status().message().find("28"), std::string::npos) << r2.status().message();

    auto r3 = qa::calibrate(m, data_, {.method = "median"});
    ASSERT_FALSE(r3.ok());
    EXPECT_NE(r3.status().message().find("method"), std::string::npos) << r3.status().message();

    EXPECT_EQ(m.num_nodes(), nodes);
    EXPECT_FALSE(m.is_calibrated());

    qa::Model f = load();
    auto r4 = qa::quantize(f, {.preset = "resnet_v9"});
    ASSERT_FALSE(r4.ok());
    EXPECT_EQ(r4.status().code(), qa::StatusCode::kInvalidArgument);
    EXPECT_NE(r4.status().message().find("resnet_v9"), std::string::npos) << r4.status().message();
    EXPECT_FALSE(f.has_qdq());
}

TEST_F(ApiTest, RunRejectsWrongInputs) {
    qa::Model m = load();
    ASSERT_TRUE(qa::calibrate(m, data_, {.method = "max"}).ok());
    auto e = qa::Engine::build(m, {.threads = 1});
    ASSERT_TRUE(e.ok()) << e.status().to_string();

    auto none = e->run({});
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.status().message().find("1 input"), std::string::npos) << none.status().message();

    auto wrong = e->run({qa::FloatTensor::zeros({2, 1, 14, 14})});
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.status().message().find("input"), std::string::npos) << wrong.status().message();
    EXPECT_NE(wrong.status().message().find("14"), std::string::npos) << wrong.status().message();

    qa::FloatTensor short_data = qa::FloatTensor::zeros({1, 1, 28, 28});
    short_data.data.resize(10);
    auto bad = e->run({short_data});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("10 values"), std::string::npos) << bad.status().message();

    // Still usable after the errors.
    auto ok = e->run({batch(2)});
    ASSERT_TRUE(ok.ok()) << ok.status().to_string();
    EXPECT_EQ((*ok)[0].shape, (std::vector<int64_t>{2, 10}));

    auto badopt = qa::Engine::build(m, {.backends = {"tpu"}});
    ASSERT_FALSE(badopt.ok());
    EXPECT_NE(badopt.status().message().find("tpu"), std::string::npos) << badopt.status().message();
    auto badlayout = qa::Engine::build(m, {.fp32_layout = "sideways"});
    ASSERT_FALSE(badlayout.ok());
    EXPECT_NE(badlayout.status().message().find("fp32_layout: FP32 layout 'sideways'"), std::string::npos)
        << badlayout.status().message();
    EXPECT_TRUE(qa::Engine::build(m, {.threads = 1, .fp32_layout = "blocked"}).ok());
    auto badthreads = qa::Engine::build(m, {.step_threads = "some"});
    ASSERT_FALSE(badthreads.ok());
    EXPECT_NE(badthreads.status().message().find("step_threads: 'some'"), std::string::npos)
        << badthreads.status().message();
    EXPECT_TRUE(qa::Engine::build(m, {.threads = 2, .batch = 1, .step_threads = "all"}).ok());
}

TEST(ApiStatus, ResultAndStatusBasics) {
    qa::Result<int> good(3);
    EXPECT_TRUE(good.ok());
    EXPECT_EQ(*good, 3);
    qa::Result<int> bad(qa::Status(qa::StatusCode::kNotFound, "no such thing"));
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().to_string(), "not found: no such thing");
    qa::Result<int> from_ok{qa::Status()};  // an OK status carries no value
    EXPECT_FALSE(from_ok.ok());
    EXPECT_EQ(from_ok.status().code(), qa::StatusCode::kInternal);
    EXPECT_STREQ(qa::version(), "0.1.0");
    qa::FloatTensor t = qa::FloatTensor::zeros({2, 3});
    t.at(4) = 1.0f;
    EXPECT_EQ(t.argmax_row(0), 0);
    EXPECT_EQ(t.argmax_row(1), 1);
    EXPECT_EQ(t.argmax_row(2), -1);
    EXPECT_EQ(t.shape_string(), "[2,3]");
}

}  // namespace
}  // namespace qat
