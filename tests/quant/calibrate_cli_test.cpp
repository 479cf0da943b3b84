// `qat calibrate`, `qat compare`, `qat sensitivity` and `qat quantize --calib-data` through the
// real binary on a tiny model and .npy data written here: the outputs on good input (scales
// checked against max |x| computed here from the data), and one clear line, exit code 2 and no
// output file on every kind of bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/cli_test_util.h"
#include "core/npy.h"
#include "ir/builder.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/calib_table.h"
#include "quant/calibrated.h"
#include "quant/trt_cache.h"

namespace qat::quant {
namespace {

namespace fs = std::filesystem;

class CalibrateCli : public cli_test::CliTest {
  protected:
    void SetUp() override {
        CliTest::SetUp();
        ir::Graph g;
        ir::Builder b(g, 4);
        ir::Value* x = b.input("input", DataType::kFloat32, Shape{Dim::symbolic("N"), 2, 6, 6});
        ir::Value* y = b.relu(b.conv(x, {.out_channels = 4, .kernel = 3, .pad = 1}, "c1"), "r1");
        y = b.flatten(b.global_avg_pool(y, "gap"), 1, "flat");
        b.output(b.with_output_name("logits").gemm(y, 5, "fc"));
        ASSERT_TRUE(b.status().ok()) << b.status().to_string();
        ASSERT_TRUE(onnx::save_model(g, path("model.onnx")).ok());

        std::mt19937 rng(3);
        Tensor data = Tensor::empty(DataType::kFloat32, {20, 2, 6, 6});
        data_max_ = 0;
        for (int64_t i = 0; i < data.numel(); ++i) {
            float v = static_cast<float>((rng() % 20001) / 10000.0 - 1.0) * 3.0f;
            data.data<float>()[i] = v;
            data_max_ = std::max(data_max_, std::fabs(v));
        }
        ASSERT_TRUE(save_npy(path("data.npy"), data).ok());
        std::vector<int64_t> labels(20);
        for (int i = 0; i < 20; ++i) labels[static_cast<size_t>(i)] = i % 5;
        ASSERT_TRUE(save_npy(path("labels.npy"), Tensor::from_vector<int64_t>({20}, labels)).ok());
        labels[7] = 7;  // a 5-class model
        ASSERT_TRUE(save_npy(path("bad_labels.npy"), Tensor::from_vector<int64_t>({20}, labels)).ok());
        ASSERT_TRUE(save_npy(path("empty.npy"), Tensor::empty(DataType::kFloat32, {0, 2, 6, 6})).ok());
        ASSERT_TRUE(save_npy(path("wrong_shape.npy"), Tensor::zeros(DataType::kFloat32, {4, 1, 6, 6})).ok());
        std::ofstream(path("garbage.npy")) << "this is not an npy file";
    }

    std::string model() { return cli_test::quote(path("model.onnx")); }
    std::string npy(const std::string& f) { return cli_test::quote("npy:" + path(f)); }
    std::string out() { return cli_test::quote(path("out.onnx")); }

    // The scale of the QuantizeLinear that reads `tensor` in a saved model.
    float q_scale(const std::string& file, const std::string& tensor) {
        auto g = onnx::load_model(file);
        EXPECT_TRUE(g.ok()) << g.status().to_string();
        if (!g.ok()) return -1;
        const ir::Value* v = (*g)->find_value(tensor);
        if (!v) return -2;
        for (const ir::Use& u : v->uses())
            if (u.node->op_type() == "QuantizeLinear")
                return static_cast<float>(u.node->input(1)->constant().get_as_double(0));
        return -3;
    }

    float data_max_ = 0;
};

TEST_F(CalibrateCli, WritesModelTableAndTrtCache) {
    auto r = run("calibrate " + model() + " --data " + npy("data.npy") + " --method max -o " + out() + " --table " +
                 cli_test::quote(path("t.json")) + " --trt-cache " + cli_test::quote(path("c.cache")) + " -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The model input feeds c1's Q: its amax is max |x| over the calibration data.
    EXPECT_FLOAT_EQ(q_scale(path("out.onnx"), "input"), data_max_ / 127.0f);
    auto g = onnx::load_model(path("out.onnx"));
    ASSERT_TRUE(g.ok());
    EXPECT_FALSE(is_uncalibrated(**g));
    auto t = load_calib_table(path("t.json"));
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    EXPECT_EQ(t->method, "max");
    EXPECT_EQ(t->samples, 20);
    EXPECT_FLOAT_EQ(t->tensors.at("input").amax, data_max_);
    auto c = load_trt_cache(path("c.cache"));
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->header, "TRT-8601-EntropyCalibration2");
    bool found = false;
    std::set<std::string> names;
    for (const auto& e : c->entries) {
        names.insert(e.tensor);
        if (e.tensor == "input") {
            found = true;
            EXPECT_FLOAT_EQ(e.scale, data_max_ / 127.0f);
        }
    }
    EXPECT_TRUE(found);
    // Every activation of the FP32 model, not only the quantized ones.
    for (const char* n : {"c1", "r1", "gap", "flat", "logits"}) EXPECT_TRUE(names.count(n)) << n;
}

TEST_F(CalibrateCli, RecalibratesAnUncalibratedQdqModel) {
    auto r = run("quantize " + model() + " -o " + cli_test::quote(path("unc.onnx")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run("calibrate " + cli_test::quote(path("unc.onnx")) + " --data " + npy("data.npy") + " --method max -o " +
            out() + " -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("recalibrated"), std::string::npos) << r.out;
    EXPECT_FLOAT_EQ(q_scale(path("out.onnx"), "input"), data_max_ / 127.0f);
    auto g = onnx::load_model(path("out.onnx"));
    ASSERT_TRUE(g.ok());
    EXPECT_FALSE(is_uncalibrated(**g));
}

TEST_F(CalibrateCli, QuantizeCalibData) {
    auto r = run("quantize " + model() + " --calib-data " + npy("data.npy") + " -o " + out());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("calibration data"), std::string::npos) << r.out;
    EXPECT_FLOAT_EQ(q_scale(path("out.onnx"), "input"), data_max_ / 127.0f);
    // Bad method: checked before anything runs.
    expect_error("quantize " + model() + " --calib-data " + npy("data.npy") + " --calib-method kl -o " +
                     cli_test::quote(path("o2.onnx")),
                 "quantize", {"unknown calibration method 'kl'"});
    EXPECT_FALSE(fs::exists(path("o2.onnx")));
    expect_error(
        "quantize " + model() + " --calib-data " + npy("missing.npy") + " -o " + cli_test::quote(path("o3.onnx")),
        "quantize", {"missing.npy"});
    EXPECT_FALSE(fs::exists(path("o3.onnx")));
}

TEST_F(CalibrateCli, UnknownMethod) {
    expect_error("calibrate " + model() + " --data " + npy("data.npy") + " --method kl -o " + out(), "calibrate",
                 {"unknown calibration method 'kl'", "max, percentile, entropy, mse"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
    expect_error(
        "calibrate " + model() + " --data " + npy("data.npy") + " --method percentile --percentile 0 -o " + out(),
        "calibrate", {"--percentile"});
}

TEST_F(CalibrateCli, MissingOrUnreadableData) {
    expect_error("calibrate " + model() + " --data " + npy("missing.npy") + " -o " + out(), "calibrate",
                 {"missing.npy"});
    expect_error("calibrate " + model() + " --data " + npy("garbage.npy") + " -o " + out(), "calibrate",
                 {"garbage.npy"});
    expect_error("calibrate " + model() + " --data bogus:thing -o " + out(), "calibrate", {"bogus:thing"});
    expect_error("calibrate " + model() + " -o " + out(), "calibrate", {"--data"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
}

TEST_F(CalibrateCli, UndecodableImages) {
    fs::create_directories(dir() / "imgs" / "cat");
    for (int i = 0; i < 3; ++i) std::ofstream(dir() / "imgs" / "cat" / ("x" + std::to_string(i) + ".png")) << "broken";
    expect_error("calibrate " + model() + " --data " + cli_test::quote("folder:" + path("imgs")) + " -o " + out(),
                 "calibrate", {"could be decoded"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
}

TEST_F(CalibrateCli, EmptyCalibrationSet) {
    expect_error("calibrate " + model() + " --data " + npy("empty.npy") + " -o " + out(), "calibrate", {"empty"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
}

TEST_F(CalibrateCli, DataShapeNotMatchingTheModel) {
    std::string line = expect_error("calibrate " + model() + " --data " + npy("wrong_shape.npy") + " -o " + out(),
                                    "calibrate", {"'input'", "[1,6,6]", "[N,2,6,6]"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
}

TEST_F(CalibrateCli, LabelOutOfRange) {
    expect_error("calibrate " + model() + " --data " + npy("data.npy") + " --accuracy-budget 1 --eval-data " +
                     cli_test::quote("npy:" + path("data.npy") + "," + path("bad_labels.npy")) + " -o " + out(),
                 "calibrate", {"label 7", "out of range", "5-class"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
}

TEST_F(CalibrateCli, BadOutputsAndFlags) {
    expect_error("calibrate " + model() + " --data " + npy("data.npy") + " -o " + out() + " --table " +
                     cli_test::quote(path("no/such/dir/t.json")),
                 "calibrate", {"--table"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
    expect_error("calibrate " + cli_test::quote(path("nope.onnx")) + " --data " + npy("data.npy") + " -o " + out(),
                 "calibrate", {"nope.onnx"});
    expect_error("calibrate " + model() + " --data " + npy("data.npy") + " -o " + out() +
                     " --accuracy-budget 1 --sqnr-budget 20",
                 "calibrate", {"exclude each other"});
    expect_error("calibrate " + model() + " --data " + npy("data.npy") + " -o " + out() + " --backend nosuch",
                 "calibrate", {"nosuch"});
    expect_error("calibrate " + model() + " --data " + npy("data.npy") + " -o " + out() + " --preset nosuch",
                 "calibrate", {"nosuch"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
}

TEST_F(CalibrateCli, CompareAndSensitivityBadInput) {
    expect_error("compare " + model() + " " + model() + " --data " + npy("data.npy"), "compare", {"no Q/DQ"});
    expect_error("compare " + model() + " " + cli_test::quote(path("nope.onnx")) + " --data " + npy("data.npy"),
                 "compare", {"nope.onnx"});
    expect_error("sensitivity " + model() + " --data " + npy("data.npy") + " --metric top5", "sensitivity",
                 {"unknown metric 'top5'"});
    // Accuracy needs labels; the data here has none.
    expect_error("sensitivity " + model() + " --data " + npy("data.npy") + " --calib-samples 10", "sensitivity",
                 {"label"});
    // The held-out set is what the calibration set leaves: nothing here.
    expect_error("sensitivity " + model() + " --data " + npy("data.npy") + " --metric sqnr", "sensitivity",
                 {"evaluation set is empty"});
}

TEST_F(CalibrateCli, CompareAndSensitivityRun) {
    auto r = run("calibrate " + model() + " --data " + npy("data.npy") + " --method entropy -o " + out() + " -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run("compare " + model() + " " + out() + " --data " + npy("data.npy") + " --json -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["samples"], 20);
    std::set<std::string> layers;
    for (const auto& l : j["layers"]) layers.insert(l["layer"].get<std::string>());
    EXPECT_TRUE(layers.count("c1") && layers.count("fc")) << r.out;
    r = run("sensitivity " + model() + " --data " + npy("data.npy") + " --calib-samples 10 --metric sqnr --json -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["metric"], "sqnr");
    EXPECT_GE(j["layers"].size(), 2u);
}

}  // namespace
}  // namespace qat::quant
