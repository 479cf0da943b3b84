// QuantSpec (JSON parsing, overrides by name / glob / op type / input index, full and partial
// mode, precedence over the pattern cases, errors naming the closest nodes) and the calibration
// table (parsing, round trip, errors, missing tensors named).
#include "quant/quant_spec.h"

#include <gtest/gtest.h>

#include "ir/text_form.h"
#include "quant/calib_table.h"
#include "quant/calibrated.h"
#include "quant_test_util.h"

using namespace qat;

namespace {

// Two residual blocks with named nodes: c1 -> r1 -> c2 -> add(c2, x) -> c3 -> add2(c3, add) -> fc.
const char* kModel = R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w1 = init f32[2,2,1,1]
  %c1 = Conv(%x, %w1) @block1_conv1
  %r1 = Relu(%c1) @block1_relu
  %w2 = init f32[2,2,1,1]
  %c2 = Conv(%r1, %w2) @block1_conv2
  %s1 = Add(%c2, %x) @block1_add
  %w3 = init f32[2,2,1,1]
  %c3 = Conv(%s1, %w3) @block2_conv1
  %s2 = Add(%c3, %s1) @block2_add
  %f = Flatten[axis=1](%s2) @flatten
  %wf = init f32[32,4]
  %y = MatMul(%f, %wf) @fc
})";

std::unique_ptr<ir::Graph> model() {
    auto g = ir::parse_graph(kModel);
    EXPECT_TRUE(g.ok()) << g.status().to_string();
    return std::move(*g);
}

quant::QuantSpec spec_of(const std::string& json) {
    auto s = quant::parse_quant_spec(json, "spec.json");
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? *s : quant::QuantSpec{};
}

std::string spec_error(const std::string& json) {
    auto s = quant::parse_quant_spec(json, "spec.json");
    EXPECT_FALSE(s.ok()) << "expected an error for " << json;
    return s.ok() ? "" : s.status().to_string();
}

// Quantizes kModel with a spec and returns the status message ("" on success) and the graph.
std::string quantize_error(const quant::QuantSpec& spec) {
    auto g = model();
    quant::QuantizeOptions o;
    o.spec = spec;
    auto r = quant::quantize_graph(*g, o);
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.status().to_string();
}

using T = std::map<std::string, std::set<int>>;
// Full mode, preset auto, no spec: every weighted op; residual Adds get their skip input.
T auto_placement() {
    return {{"block1_conv1", {0, 1}}, {"block1_relu", {}}, {"block1_conv2", {0, 1}}, {"block1_add", {1}},
            {"block2_conv1", {0, 1}}, {"block2_add", {1}}, {"flatten", {}},          {"fc", {0, 1}}};
}

}  // namespace

TEST(QuantSpec, ParsesEntriesWithDefaults) {
    quant::QuantSpec s = spec_of(R"({"mode": "partial", "entries": [
        {"name": "block1_*", "quantize_weight": false},
        {"op_type": "Add", "input_indices": [0, 1]}]})");
    ASSERT_TRUE(s.mode.has_value());
    EXPECT_EQ(*s.mode, quant::QuantMode::kPartial);
    ASSERT_EQ(s.entries.size(), 2u);
    EXPECT_EQ(s.entries[0].name, "block1_*");
    EXPECT_TRUE(s.entries[0].quantize_input);
    EXPECT_FALSE(s.entries[0].quantize_weight);
    EXPECT_EQ(s.entries[1].op_type, "Add");
    EXPECT_EQ(*s.entries[1].input_indices, (std::vector<int>{0, 1}));
    EXPECT_EQ(s.entries[1].origin, "spec.json entry #2");
}

TEST(QuantSpec, BadFilesAreClearErrors) {
    EXPECT_NE(spec_error("{ not json").find("spec.json: not valid JSON"), std::string::npos);
    EXPECT_NE(spec_error(R"({"entries": [], "preset": "x"})").find("unknown key \"preset\""), std::string::npos);
    EXPECT_NE(spec_error(R"({"entries": [{"name": "a", "quantise_input": false}]})")
                  .find("spec.json entry #1: unknown key \"quantise_input\""),
              std::string::npos);
    EXPECT_NE(spec_error(R"({"entries": [{"name": "a", "op_type": "Conv"}]})").find("exactly one of"),
              std::string::npos);
    EXPECT_NE(spec_error(R"({"entries": [{"name": "a", "quantize_input": "no"}]})").find("true or false"),
              std::string::npos);
    EXPECT_NE(spec_error(R"({"entries": [{"name": "a", "input_indices": [-1]}]})").find("non-negative"),
              std::string::npos);
    EXPECT_NE(spec_error(R"({"mode": "half", "entries": []})").find("unknown quantization mode 'half'"),
              std::string::npos);
    EXPECT_NE(spec_error(R"([1, 2])").find("expected a JSON object"), std::string::npos);
    EXPECT_NE(spec_error(R"({"mode": "full"})").find("missing \"entries\""), std::string::npos);
}

TEST(QuantSpec, EntryMatchingNoNodeListsTheClosestNames) {
    std::string m = quantize_error(spec_of(R"({"entries": [{"name": "block1_conv3"}]})"));
    EXPECT_NE(m.find("spec.json entry #1: no node named 'block1_conv3'"), std::string::npos) << m;
    EXPECT_NE(m.find("closest node names: block1_conv1, block1_conv2"), std::string::npos) << m;
    m = quantize_error(spec_of(R"({"entries": [{"name": "block9_*"}]})"));
    EXPECT_NE(m.find("no node matches 'block9_*'"), std::string::npos) << m;
    m = quantize_error(spec_of(R"({"entries": [{"op_type": "Conv2D"}]})"));
    EXPECT_NE(m.find("no node of op type 'Conv2D'"), std::string::npos) << m;
    EXPECT_NE(m.find("closest: Conv"), std::string::npos) << m;
    EXPECT_NE(m.find("op types present: Add, Conv, Flatten, MatMul, Relu"), std::string::npos) << m;
    m = quantize_error(spec_of(R"({"entries": [{"name": "block1_add", "input_indices": [2]}]})"));
    EXPECT_NE(m.find("input index 2 is out of range for Add 'block1_add' (2 inputs)"), std::string::npos) << m;
}

TEST(QuantSpec, FullModeOverridesByNameGlobOpTypeAndIndex) {
    auto g = model();
    quant::QuantizeOptions o;
    o.spec = spec_of(R"({"entries": [
        {"name": "block2_*", "quantize_input": false},
        {"op_type": "MatMul", "quantize_weight": false},
        {"name": "block1_add", "input_indices": [0, 1]}]})");
    quant_test::quantize_with(*g, "auto", std::move(o));
    T want = auto_placement();
    want["block2_conv1"] = {1};   // input off, weight on
    want["block2_add"] = {};      // spec by name outranks the residual case
    want["fc"] = {0};             // weight off by op type
    want["block1_add"] = {0, 1};  // spec by name: both inputs
    quant_test::expect_placement(*g, want);
}

TEST(QuantSpec, NameEntryOutranksOpTypeEntryWhateverTheOrder) {
    auto g = model();
    quant::QuantizeOptions o;
    o.spec = spec_of(R"({"entries": [
        {"name": "block1_conv1"},
        {"op_type": "Conv", "quantize_input": false, "quantize_weight": false}]})");
    quant_test::quantize_with(*g, "none", std::move(o));
    auto q = quant_test::qdq_inputs(*g);
    EXPECT_EQ(q["block1_conv1"], (std::set<int>{0, 1}));
    EXPECT_EQ(q["block1_conv2"], (std::set<int>{}));
    EXPECT_EQ(q["block2_conv1"], (std::set<int>{}));
}

TEST(QuantSpec, PartialModeQuantizesOnlyWhatIsNamed) {
    auto g = model();
    quant::QuantizeOptions o;
    o.spec = spec_of(
        R"({"mode": "partial", "entries": [{"name": "block1_conv2"}, {"op_type": "Add", "input_indices": [1]}]})");
    quant_test::quantize_with(*g, /*preset=*/"none", std::move(o));
    quant_test::expect_placement(*g, {{"block1_conv1", {}},
                                      {"block1_relu", {}},
                                      {"block1_conv2", {0, 1}},
                                      {"block1_add", {1}},
                                      {"block2_conv1", {}},
                                      {"block2_add", {1}},
                                      {"flatten", {}},
                                      {"fc", {}}});
}

TEST(QuantSpec, IncludeExcludeFilters) {
    auto g = model();
    quant::QuantizeOptions o;
    o.spec.entries.push_back(quant::filter_entry("block1_*", false));  // a name glob
    o.spec.entries.push_back(quant::filter_entry("MatMul", false));    // no such name: the op type
    quant_test::quantize_with(*g, "auto", std::move(o));
    T want = auto_placement();
    want["block1_conv1"] = {};
    want["block1_conv2"] = {};
    want["block1_add"] = {};
    want["fc"] = {};
    quant_test::expect_placement(*g, want);
    auto g2 = model();
    quant::QuantizeOptions o2;
    o2.mode = quant::QuantMode::kPartial;
    o2.spec.entries.push_back(quant::filter_entry("op:MatMul", true));
    quant_test::quantize_with(*g2, "none", std::move(o2));
    auto q = quant_test::qdq_inputs(*g2);
    EXPECT_EQ(q["fc"], (std::set<int>{0, 1}));
    EXPECT_EQ(q["block1_conv1"], (std::set<int>{}));
}

TEST(QuantSpec, UnsupportedOpsStayFloatAndAreListed) {
    auto g = ir::parse_graph(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w1 = init f32[2,2,1,1]
  %c1 = Conv(%x, %w1) @conv1
  %u = com.vendor::FancyOp(%c1) @fancy
  %w2 = init f32[2,2,1,1]
  %y = Conv(%u, %w2) @conv2
})");
    ASSERT_TRUE(g.ok());
    quant::QuantizeOptions o;
    o.spec.entries.push_back(quant::filter_entry("conv2", false));
    auto s = quant_test::quantize_with(**g, "auto", std::move(o));
    quant_test::expect_placement(**g, {{"conv1", {0, 1}}, {"fancy", {}}, {"conv2", {}}});
    ASSERT_EQ(s.float_nodes.size(), 2u);
    EXPECT_EQ(s.float_nodes[0].node, "fancy");
    EXPECT_NE(s.float_nodes[0].reason.find("unsupported op"), std::string::npos);
    EXPECT_EQ(s.float_nodes[1].node, "conv2");
    EXPECT_NE(s.float_nodes[1].reason.find("--exclude conv2"), std::string::npos) << s.float_nodes[1].reason;
}

// ---- calibration table ----

TEST(CalibTable, ParsesAmaxScaleAndNumbers) {
    auto t = quant::parse_calib_table(R"({"format": "qat.calibration_table", "version": 1, "method": "entropy",
        "tensors": {"a": {"amax": 2.54, "method": "max"}, "b": {"scale": 0.5}, "c": 3.0,
                    "d": {"amax": 1.27, "scale": 0.01, "histogram": {"bins": 3, "min": 0, "max": 1.27, "counts": [1, 2, 3]}}}})",
                                      "calib.json");
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    EXPECT_EQ(t->method, "entropy");
    EXPECT_FLOAT_EQ(t->tensors.at("a").amax, 2.54f);
    EXPECT_FLOAT_EQ(t->tensors.at("a").scale(), 0.02f);
    EXPECT_EQ(t->tensors.at("a").method, "max");
    EXPECT_FLOAT_EQ(t->tensors.at("b").amax, 63.5f);
    EXPECT_FLOAT_EQ(t->tensors.at("c").amax, 3.0f);
    ASSERT_TRUE(t->tensors.at("d").histogram.has_value());
    EXPECT_EQ(t->tensors.at("d").histogram->counts, (std::vector<int64_t>{1, 2, 3}));
}

TEST(CalibTable, RoundTrips) {
    quant::CalibTable t;
    t.method = "percentile";
    t.model = "m.onnx";
    t.samples = 64;
    t.tensors["x"].amax = 1.5f;
    t.tensors["y"].amax = 0.0f;
    t.tensors["y"].method = "max";
    t.tensors["y"].histogram = quant::HistogramSummary{2, -1.0f, 1.0f, {5, 7}};
    auto back = quant::parse_calib_table(quant::serialize_calib_table(t), "round trip");
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->method, "percentile");
    EXPECT_EQ(back->model, "m.onnx");
    EXPECT_EQ(back->samples, 64);
    EXPECT_EQ(back->tensors.at("x").amax, 1.5f);
    EXPECT_EQ(back->tensors.at("y").amax, 0.0f);
    EXPECT_EQ(back->tensors.at("y").method, "max");
    EXPECT_EQ(back->tensors.at("y").histogram->counts, (std::vector<int64_t>{5, 7}));
}

TEST(CalibTable, BadTablesAreClearErrors) {
    auto err = [](const std::string& j) {
        auto t = quant::parse_calib_table(j, "calib.json");
        EXPECT_FALSE(t.ok()) << j;
        return t.ok() ? "" : t.status().to_string();
    };
    EXPECT_NE(err("nope").find("calib.json: not valid JSON"), std::string::npos);
    EXPECT_NE(err(R"({"tensors": {"a": {"amax": 1, "scael": 2}}})").find("tensor 'a': unknown key \"scael\""),
              std::string::npos);
    EXPECT_NE(err(R"({"tensors": {"a": {"amax": 1.0, "scale": 0.5}}})").find("disagree"), std::string::npos);
    EXPECT_NE(err(R"({"tensors": {"a": {"scale": 0}}})").find("scale must be > 0"), std::string::npos);
    EXPECT_NE(err(R"({"tensors": {"a": {"amax": -1}}})").find("amax must be >= 0"), std::string::npos);
    EXPECT_NE(err(R"({"tensors": {"a": {}}})").find("needs \"amax\" or \"scale\""), std::string::npos);
    EXPECT_NE(err(R"({"version": 2, "tensors": {}})").find("version 2"), std::string::npos);
    EXPECT_NE(err(R"({"format": "trt", "tensors": {}})").find("\"format\""), std::string::npos);
    EXPECT_NE(err(R"({"tensors": []})").find("missing \"tensors\""), std::string::npos);
}

TEST(CalibTable, TableLackingTensorsNamesThem) {
    auto g = model();
    quant::QuantizeOptions o;
    quant::CalibTable t;
    t.tensors["x"].amax = 1.0f;
    t.tensors["r1"].amax = 1.0f;
    o.calib_table = t;
    o.calib_table_name = "calibration table calib.json";
    auto r = quant::quantize_graph(*g, o);
    ASSERT_FALSE(r.ok());
    // auto placement quantizes x, r1, s1 (block2_conv1 input and skip of block2_add) and f.
    EXPECT_NE(r.status().message().find("calibration table calib.json lacks 2 of the 4 tensor(s) the placement "
                                        "quantizes: s1, f"),
              std::string::npos)
        << r.status().message();
    // Nothing was changed: the graph is still the float model.
    EXPECT_EQ(quant_test::q_count_on(*g, "x"), 0);
}

TEST(CalibTable, CalibratedModelIsNotMarkedAndUsesTheRanges) {
    auto g = model();
    quant::QuantizeOptions o;
    quant::CalibTable t;
    for (const char* n : {"x", "r1", "s1", "f"}) t.tensors[n].amax = 2.54f;
    o.calib_table = t;
    auto s = quant_test::quantize_with(*g, "auto", std::move(o));
    EXPECT_TRUE(s.calibrated);
    EXPECT_TRUE(quant::check_calibrated(*g).ok());
    const ir::Node* dq = quant_test::dq_at(*g, "block1_conv1", 0);
    ASSERT_NE(dq, nullptr);
    EXPECT_FLOAT_EQ(dq->input(1)->constant().data<float>()[0], 0.02f);
}

TEST(CalibTable, UncalibratedModelIsMarkedAndRefused) {
    auto g = model();
    auto s = quant_test::quantize_with(*g, "auto");
    EXPECT_FALSE(s.calibrated);
    EXPECT_EQ(s.placeholder_tensors.size(), 4u);
    EXPECT_EQ(g->info().metadata("qat.uncalibrated").value_or(""), "1");
    Status c = quant::check_calibrated(*g);
    EXPECT_EQ(c.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(c.message().find("qat calibrate"), std::string::npos) << c.message();
    quant::mark_calibrated(*g);
    EXPECT_TRUE(quant::check_calibrated(*g).ok());
}
