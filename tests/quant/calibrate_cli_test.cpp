// `qat calibrate`, `qat compare`, `qat sensitivity` and `qat quantize --calib-data` through the
// real binary on a tiny model and .npy data written here: the outputs on good input (scales
// checked against max |x| computed here from the data), and one clear line, exit code 2 and no
// output file on every kind of bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

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
    // The table reads back into `qat quantize --calib-table` (same placement options): the
    // same activation scales, and a calibrated model.
    r = run("quantize " + model() + " --calib-table " + cli_test::quote(path("t.json")) + " -o " +
            cli_test::quote(path("q.onnx")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto& [name, e] : t->tensors)
        EXPECT_FLOAT_EQ(q_scale(path("q.onnx"), name), q_scale(path("out.onnx"), name)) << name;
    EXPECT_FLOAT_EQ(q_scale(path("q.onnx"), "input"), data_max_ / 127.0f);
    auto q = onnx::load_model(path("q.onnx"));
    ASSERT_TRUE(q.ok());
    EXPECT_FALSE(is_uncalibrated(**q));
}

// --resize / --crop: the calibration input is the center crop, so the input's amax is the max
// over that window only (computed here from the raw data).
TEST_F(CalibrateCli, ResizeAndCropFlags) {
    std::mt19937 rng(5);
    Tensor big = Tensor::empty(DataType::kFloat32, {8, 2, 12, 12});
    float crop_max = 0;
    for (int64_t n = 0; n < 8; ++n)
        for (int64_t c = 0; c < 2; ++c)
            for (int64_t h = 0; h < 12; ++h)
                for (int64_t w = 0; w < 12; ++w) {
                    // Large values on the border, small ones inside: the crop must drop the border.
                    const bool inside = h >= 3 && h < 9 && w >= 3 && w < 9;
                    float v = static_cast<float>((rng() % 1001) / 1000.0) * (inside ? 1.0f : 50.0f);
                    big.data<float>()[((n * 2 + c) * 12 + h) * 12 + w] = v;
                    if (inside) crop_max = std::max(crop_max, v);
                }
    ASSERT_TRUE(save_npy(path("big.npy"), big).ok());
    auto r = run("calibrate " + model() + " --data " + npy("big.npy") + " --method max --crop 6 -o " + out() + " -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FLOAT_EQ(q_scale(path("out.onnx"), "input"), crop_max / 127.0f);
    fs::remove(path("out.onnx"));
    r = run("calibrate " + model() + " --data " + npy("big.npy") + " --method max --resize 8 --crop 6x6 -o " + out() +
            " -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    fs::remove(path("out.onnx"));
    expect_error("calibrate " + model() + " --data " + npy("big.npy") + " --crop 13 -o " + out(), "calibrate",
                 {"crop 13x13", "12x12"});
    expect_error("calibrate " + model() + " --data " + npy("big.npy") + " --resize 0 -o " + out(), "calibrate",
                 {"--resize", "'0'"});
    expect_error("calibrate " + model() + " --data " + npy("big.npy") + " --crop 7 -o " + out(), "calibrate",
                 {"'input'", "[2,7,7]", "[N,2,6,6]"});
    EXPECT_FALSE(fs::exists(path("out.onnx")));
}

// --sqnr-budget: 0 dB holds with every layer INT8; an unreachable budget sends every quantized
// layer back to float (the float model's SQNR is infinite).
TEST_F(CalibrateCli, SqnrBudget) {
    std::mt19937 rng(9);
    Tensor held = Tensor::empty(DataType::kFloat32, {10, 2, 6, 6});
    for (int64_t i = 0; i < held.numel(); ++i)
        held.data<float>()[i] = static_cast<float>((rng() % 2001) / 1000.0 - 1.0) * 3.0f;
    ASSERT_TRUE(save_npy(path("held.npy"), held).ok());
    const std::string base = "calibrate " + model() + " --data " + npy("data.npy") + " --eval-data " + npy("held.npy") +
                             " --method max -o " + out() + " --json -q";
    auto r = run(base + " --sqnr-budget 0");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out)["mixed_precision"];
    EXPECT_EQ(j["metric"], "sqnr");
    EXPECT_TRUE(j["met"].get<bool>()) << j.dump(1);
    EXPECT_TRUE(j["float_layers"].empty()) << j.dump(1);
    EXPECT_DOUBLE_EQ(j["int8_mac_percent"].get<double>(), 100.0);
    const double int8_sqnr = j["int8_sqnr_db"].get<double>();
    EXPECT_GT(int8_sqnr, 0.0);
    EXPECT_LT(int8_sqnr, 150.0);
    fs::remove(path("out.onnx"));

    r = run(base + " --sqnr-budget 150");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    j = nlohmann::json::parse(r.out)["mixed_precision"];
    EXPECT_TRUE(j["met"].get<bool>()) << j.dump(1);
    std::set<std::string> fl;
    for (const auto& l : j["float_layers"]) fl.insert(l.get<std::string>());
    EXPECT_TRUE(fl.count("c1") && fl.count("fc")) << j.dump(1);
    EXPECT_GE(j["final_sqnr_db"].get<double>(), 150.0);
    EXPECT_DOUBLE_EQ(j["int8_mac_percent"].get<double>(), 0.0);
    auto g = onnx::load_model(path("out.onnx"));
    ASSERT_TRUE(g.ok());
    for (const char* n : {"c1", "fc"}) {
        const ir::Value* v = (*g)->find_node(n)->input(0);
        EXPECT_FALSE(v->producer() && v->producer()->op_type() == "DequantizeLinear") << n;
    }
    // Nothing is left reading an activation Q/DQ.
    for (const ir::Node* n : (*g)->nodes()) EXPECT_NE(n->op_type(), "QuantizeLinear") << n->name();
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
    // Final-output agreement, checked against argmaxes of both models' outputs from `qat run`.
    int64_t agree = 0;
    {
        std::vector<std::vector<float>> logits;
        for (const std::string& m : {model(), out()}) {
            fs::remove_all(path("run_out"));
            auto rr = run("run " + m + " --input input=" + cli_test::quote(path("data.npy")) + " --backend ref -o " +
                          cli_test::quote(path("run_out")));
            ASSERT_EQ(rr.exit_code, 0) << rr.err;
            auto t = load_npy(path("run_out/logits.npy"));
            ASSERT_TRUE(t.ok()) << t.status().to_string();
            ASSERT_EQ(t->dims(), (std::vector<int64_t>{20, 5}));
            logits.push_back(t->to_vector<float>());
        }
        for (int i = 0; i < 20; ++i) {
            auto row = [&](int k) { return logits[static_cast<size_t>(k)].begin() + i * 5; };
            agree += std::max_element(row(0), row(0) + 5) - row(0) == std::max_element(row(1), row(1) + 5) - row(1);
        }
    }
    EXPECT_EQ(j["output"]["top1_matches"], agree) << j["output"].dump();
    EXPECT_DOUBLE_EQ(j["output"]["top1_match_percent"].get<double>(), 100.0 * static_cast<double>(agree) / 20.0);
    r = run("sensitivity " + model() + " --data " + npy("data.npy") + " --calib-samples 10 --metric sqnr --json -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["metric"], "sqnr");
    EXPECT_GE(j["layers"].size(), 2u);
}

}  // namespace
}  // namespace qat::quant
