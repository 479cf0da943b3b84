// `qat quantize` and `qat inspect --quant` through the real binary: the written model (read back
// with our importer: Q/DQ where the rules say, marker, opset), calibration tables, opset upgrade,
// --requantize, unsupported ops listed as float, and every bad input: exit code 2, one line on
// stderr naming the problem, no output file.
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "core/npy.h"
#include "onnx/onnx_import.h"

using namespace qat;
using namespace qat::cli_test;
namespace qonnx = qat::onnx;

namespace {

// x[N,2,8,8] -> Conv 'conv1' -> Relu 'relu1' -> Conv 'conv2' -> Add 'add' (+ relu1) -> [LRN 'lrn'] ->
// GlobalAveragePool 'gap' -> Flatten 'flatten' -> Gemm 'fc' (transB) -> y
Model small_net(int64_t opset = 13, bool with_lrn = false) {
    Model m(opset);
    m.input("x", {"N", "2", "8", "8"});
    std::vector<float> w1(4 * 2 * 9), w2(4 * 4 * 9), fw(3 * 4);
    for (size_t i = 0; i < w1.size(); ++i) w1[i] = 0.01f * static_cast<float>(i % 7) - 0.03f;
    for (size_t i = 0; i < w2.size(); ++i) w2[i] = 0.02f * static_cast<float>(i % 5) - 0.04f;
    for (size_t i = 0; i < fw.size(); ++i) fw[i] = 0.1f * static_cast<float>(i) - 0.5f;
    m.init("w1", {4, 2, 3, 3}, w1);
    m.init("w2", {4, 4, 3, 3}, w2);
    m.init("fw", {3, 4}, fw);
    m.ints_attr(m.node("Conv", {"x", "w1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
    m.node("Relu", {"c1"}, {"r1"}, "relu1");
    m.ints_attr(m.node("Conv", {"r1", "w2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
    m.node("Add", {"c2", "r1"}, {"s"}, "add");
    std::string pre = "s";
    if (with_lrn) {
        auto* lrn = m.node("LRN", {"s"}, {"l"}, "lrn");
        auto* a = lrn->add_attribute();
        a->set_name("size");
        a->set_type(::onnx::AttributeProto::INT);
        a->set_i(3);
        pre = "l";
    }
    m.node("GlobalAveragePool", {pre}, {"p"}, "gap");
    m.node("Flatten", {"p"}, {"f"}, "flatten");
    auto* gemm = m.node("Gemm", {"f", "fw"}, {"y"}, "fc");
    auto* a = gemm->add_attribute();
    a->set_name("transB");
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(1);
    m.output("y", {"N", "3"});
    return m;
}

void write(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
}

// DequantizeLinear-fed inputs of a node.
std::vector<int> dq_inputs(const ir::Graph& g, const std::string& node) {
    std::vector<int> out;
    const ir::Node* n = g.find_node(node);
    if (!n) return {-1};
    for (size_t i = 0; i < n->num_inputs(); ++i)
        if (n->input(i) && n->input(i)->producer() && n->input(i)->producer()->op_type() == "DequantizeLinear")
            out.push_back(static_cast<int>(i));
    return out;
}

}  // namespace

class QuantizeCli : public CliTest {
  protected:
    CliResult quantize(const std::string& args) { return run("quantize " + args); }
    std::string quantize_error(const std::string& args, const std::vector<std::string>& parts) {
        return expect_error("quantize " + args, "quantize", parts);
    }
};

TEST_F(QuantizeCli, QuantizesAndMarksUncalibrated) {
    small_net().save(path("m.onnx"));
    CliResult r = quantize(quote(path("m.onnx")) + " -o " + quote(path("q.onnx")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("marked uncalibrated"), std::string::npos) << r.out;
    auto g = qonnx::load_model(path("q.onnx"));
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(dq_inputs(**g, "conv1"), (std::vector<int>{0, 1}));
    EXPECT_EQ(dq_inputs(**g, "conv2"), (std::vector<int>{0, 1}));
    EXPECT_EQ(dq_inputs(**g, "add"), (std::vector<int>{1}));  // auto: residual skip input
    EXPECT_EQ(dq_inputs(**g, "gap"), (std::vector<int>{0}));
    EXPECT_EQ(dq_inputs(**g, "fc"), (std::vector<int>{0, 1}));
    EXPECT_EQ((*g)->info().metadata("qat.uncalibrated").value_or(""), "1");
    // `qat build` and `qat eval` refuse the marked model and say how to calibrate it.
    ASSERT_TRUE(save_npy(path("x.npy"), Tensor::zeros(DataType::kFloat32, {4, 2, 8, 8})).ok());
    ASSERT_TRUE(save_npy(path("y.npy"), Tensor::from_vector<int64_t>({4}, {0, 1, 2, 0})).ok());
    expect_error("build " + quote(path("q.onnx")) + " -o " + quote(path("q.engine")), "build",
                 {"q.onnx", "qat calibrate"});
    EXPECT_FALSE(fs::exists(path("q.engine")));
    expect_error("eval " + quote(path("q.onnx")) + " --data " + quote("npy:" + path("x.npy") + "," + path("y.npy")),
                 "eval", {"q.onnx", "qat calibrate"});
}

TEST_F(QuantizeCli, CalibrationTableGivesACalibratedModel) {
    small_net().save(path("m.onnx"));
    write(path("calib.json"), R"({"tensors": {"x": 1.0, "r1": {"amax": 2.54}, "s": {"scale": 0.05}, "f": 0.5}})");
    CliResult r = quantize(quote(path("m.onnx")) + " -o " + quote(path("q.onnx")) + " --calib-table " +
                           quote(path("calib.json")) + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["calibrated"], true);
    EXPECT_EQ(j["activation_qdq"], 4);
    EXPECT_EQ(j["weight_qdq"], 3);
    auto g = qonnx::load_model(path("q.onnx"));
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_FALSE((*g)->info().metadata("qat.uncalibrated").has_value());
    const ir::Node* dq = (*g)->find_node("conv2")->input(0)->producer();
    EXPECT_FLOAT_EQ(dq->input(1)->constant().data<float>()[0], 0.02f);
}

TEST_F(QuantizeCli, CalibrationTableLackingTensorsNamesThem) {
    small_net().save(path("m.onnx"));
    write(path("calib.json"), R"({"tensors": {"x": 1.0, "r1": 2.0}})");
    quantize_error(
        quote(path("m.onnx")) + " -o " + quote(path("q.onnx")) + " --calib-table " + quote(path("calib.json")),
        {"calib.json", "lacks 2 of the 4", "s, f"});
    EXPECT_FALSE(fs::exists(path("q.onnx")));
}

TEST_F(QuantizeCli, SpecFileErrors) {
    small_net().save(path("m.onnx"));
    const std::string base =
        quote(path("m.onnx")) + " -o " + quote(path("q.onnx")) + " --spec " + quote(path("s.json"));
    write(path("s.json"), "{ entries: ");
    quantize_error(base, {"s.json", "not valid JSON"});
    write(path("s.json"), R"({"entries": [{"name": "conv1", "quantize_bias": false}]})");
    quantize_error(base, {"s.json entry #1", "unknown key \"quantize_bias\""});
    write(path("s.json"), R"({"entries": [{"name": "conv3"}]})");
    quantize_error(base, {"no node named 'conv3'", "closest node names: conv1, conv2"});
    write(path("s.json"), R"({"entries": [{"op_type": "Conv2D"}]})");
    quantize_error(base, {"no node of op type 'Conv2D'", "closest: Conv"});
    quantize_error(quote(path("m.onnx")) + " -o " + quote(path("q.onnx")) + " --spec " + quote(path("nope.json")),
                   {"nope.json"});
    EXPECT_FALSE(fs::exists(path("q.onnx")));
}

TEST_F(QuantizeCli, SpecAndFiltersApply) {
    small_net().save(path("m.onnx"));
    write(path("s.json"), R"({"mode": "partial", "entries": [{"name": "conv*", "quantize_weight": false}]})");
    CliResult r = quantize(quote(path("m.onnx")) + " -o " + quote(path("q.onnx")) + " --spec " + quote(path("s.json")) +
                           " --include op:Gemm --exclude conv2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto g = qonnx::load_model(path("q.onnx"));
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(dq_inputs(**g, "conv1"), (std::vector<int>{0}));
    EXPECT_EQ(dq_inputs(**g, "conv2"), (std::vector<int>{}));
    EXPECT_EQ(dq_inputs(**g, "add"), (std::vector<int>{}));
    EXPECT_EQ(dq_inputs(**g, "gap"), (std::vector<int>{}));
    EXPECT_EQ(dq_inputs(**g, "fc"), (std::vector<int>{0, 1}));
}

TEST_F(QuantizeCli, RepeatedFiltersBeforeTheModelTakeOneValueEach) {
    small_net().save(path("m.onnx"));
    CliResult r =
        quantize("--exclude conv2 --exclude op:Gemm " + quote(path("m.onnx")) + " -o " + quote(path("q.onnx")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto g = qonnx::load_model(path("q.onnx"));
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(dq_inputs(**g, "conv1"), (std::vector<int>{0, 1}));
    EXPECT_EQ(dq_inputs(**g, "conv2"), (std::vector<int>{}));
    EXPECT_EQ(dq_inputs(**g, "fc"), (std::vector<int>{}));
}

TEST_F(QuantizeCli, BadFlagsAndOutputs) {
    small_net().save(path("m.onnx"));
    const std::string io = quote(path("m.onnx")) + " -o " + quote(path("q.onnx"));
    quantize_error(io + " --weights int4", {"--weights", "int4"});
    quantize_error(io + " --preset resnet_v9", {"unknown preset 'resnet_v9'", "resnet_v1"});
    quantize_error(io + " --case se", {"unknown case 'se'", "se_mul"});
    quantize_error(io + " --mode half", {"half"});
    // --calib-data runs the model on the data: a data set of the wrong shape names both shapes.
    quantize_error(io + " --calib-data fashion-mnist", {"[1,28,28]", "input 'x'", "[N,2,8,8]"});
    quantize_error(quote(path("m.onnx")) + " -o " + quote(path("no_dir/q.onnx")), {"no_dir"});
    quantize_error(quote(path("missing.onnx")) + " -o " + quote(path("q.onnx")), {"missing.onnx"});
    quantize_error(quote(path("m.onnx")), {"-o"});
    EXPECT_FALSE(fs::exists(path("q.onnx")));
}

TEST_F(QuantizeCli, ExistingQdqIsRefusedThenRequantized) {
    small_net().save(path("m.onnx"));
    ASSERT_EQ(quantize(quote(path("m.onnx")) + " -o " + quote(path("q.onnx"))).exit_code, 0);
    quantize_error(quote(path("q.onnx")) + " -o " + quote(path("q2.onnx")), {"already holds", "--requantize"});
    EXPECT_FALSE(fs::exists(path("q2.onnx")));
    CliResult r = quantize(quote(path("q.onnx")) + " -o " + quote(path("q2.onnx")) + " --requantize --preset none");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto g = qonnx::load_model(path("q2.onnx"));
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(dq_inputs(**g, "add"), (std::vector<int>{}));  // preset none this time
    EXPECT_EQ(dq_inputs(**g, "conv2"), (std::vector<int>{0, 1}));
}

TEST_F(QuantizeCli, OldOpsetIsUpgraded) {
    small_net(11).save(path("m11.onnx"));
    CliResult r = quantize(quote(path("m11.onnx")) + " -o " + quote(path("q.onnx")) + " --weights float");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("from opset 11 to 13"), std::string::npos) << r.err;
    auto g = qonnx::load_model(path("q.onnx"));
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ((*g)->info().opset(""), 13);
    // Float weight form: Conv weight reaches the DQ through a QuantizeLinear.
    const ir::Node* dq = (*g)->find_node("conv1")->input(1)->producer();
    ASSERT_EQ(dq->op_type(), "DequantizeLinear");
    EXPECT_EQ(dq->input(0)->producer()->op_type(), "QuantizeLinear");
}

TEST_F(QuantizeCli, UnsupportedOpsStayFloatAndAreListed) {
    small_net(13, true).save(path("m.onnx"));
    CliResult r = quantize(quote(path("m.onnx")) + " -o " + quote(path("q.onnx")) + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["float_nodes"].size(), 1u) << r.out;
    EXPECT_EQ(j["float_nodes"][0]["node"], "lrn");
    EXPECT_EQ(j["float_nodes"][0]["op_type"], "LRN");
    auto g = qonnx::load_model(path("q.onnx"));
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(dq_inputs(**g, "conv2"), (std::vector<int>{0, 1}));
    EXPECT_EQ(dq_inputs(**g, "lrn"), (std::vector<int>{}));
}

TEST_F(QuantizeCli, InspectQuantReport) {
    small_net().save(path("m.onnx"));
    ASSERT_EQ(quantize(quote(path("m.onnx")) + " -o " + quote(path("q.onnx"))).exit_code, 0);
    CliResult r = run("inspect --quant " + quote(path("q.onnx")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("residual Adds:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("add: fusable"), std::string::npos) << r.out;
    r = run("inspect --quant --json " + quote(path("q.onnx")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["layers"].size(), 3u);
    EXPECT_EQ(j["layers"][0]["node"], "conv1");
    EXPECT_EQ(j["layers"][0]["input_quantized"], true);
    EXPECT_EQ(j["layers"][0]["weight_axis"], 0);
    EXPECT_EQ(j["uncalibrated"], true);
}
