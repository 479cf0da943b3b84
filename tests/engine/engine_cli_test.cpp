// `qat build`, `qat explain` and `qat eval` run as the real binary: results on models and data
// written by the test, and every bad input refused with one line on stderr and exit code 2.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "core/npy.h"
#include "models/ort_test_util.h"
#include "onnx/onnx_export.h"
#include "passes/engine_test_util.h"

namespace qat {
namespace {

using cli_test::CliTest;
using test::qdq;
using test::random_tensor;
using test::weight_dq;

// x[N,1,4,4] -> Q/DQ -> Conv 1x1 (4 ch) -> Relu -> Q/DQ -> Flatten -> Gemm(3).
std::unique_ptr<ir::Graph> tiny_qdq_model() {
    auto g = std::make_unique<ir::Graph>();
    ir::Value* x = g->add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 1, 4, 4});
    ir::Node* c =
        g->add_node("Conv", {qdq(*g, x, 1.0f / 127.0f, 0, "x"), weight_dq(*g, random_tensor({4, 1, 1, 1}, 1), 0, "c")},
                    {"c"}, "conv");
    c->output(0)->set_dtype(DataType::kFloat32);
    c->output(0)->set_shape(Shape{Dim::symbolic("N"), 4, 4, 4});
    ir::Node* r = g->add_node("Relu", {c->output(0)}, {"r"}, "relu");
    r->output(0)->set_dtype(DataType::kFloat32);
    r->output(0)->set_shape(c->output(0)->shape());
    ir::Node* f = g->add_node("Flatten", {qdq(*g, r->output(0), 1.0f / 127.0f, 0, "r")}, {"f"}, "flatten");
    f->output(0)->set_dtype(DataType::kFloat32);
    f->output(0)->set_shape(Shape{Dim::symbolic("N"), 64});
    ir::Node* fc =
        g->add_node("Gemm", {f->output(0), weight_dq(*g, random_tensor({64, 3}, 2), 1, "fc")}, {"logits"}, "fc");
    fc->output(0)->set_dtype(DataType::kFloat32);
    fc->output(0)->set_shape(Shape{Dim::symbolic("N"), 3});
    g->add_output(fc->output(0));
    return g;
}

class EngineCli : public CliTest {
  protected:
    // Runs `qat <args>` expecting exit 0 and one JSON object on stdout; null (with the failures
    // recorded) otherwise.
    nlohmann::json run_json(const std::string& args) {
        auto r = run(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << r.out;
        return r.exit_code == 0 && !j.is_discarded() ? j : nlohmann::json();
    }
    std::string save(const ir::Graph& g, const std::string& name) {
        std::string p = path(name);
        Status s = onnx::save_model(g, p);
        EXPECT_TRUE(s.ok()) << s.to_string();
        return p;
    }
};

TEST_F(EngineCli, BuildThenExplainTheEngine) {
    std::string model = save(*tiny_qdq_model(), "m.onnx");
    auto b = run("build " + cli_test::quote(model) + " -o " + cli_test::quote(path("m.engine")) + " --backend ref");
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(b.out.find("fused INT8 ops"), std::string::npos) << b.out;
    auto e = run("explain " + cli_test::quote(path("m.engine")) + " --json");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    auto j = nlohmann::json::parse(e.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << e.out;
    // conv (64 outputs x 1 MAC) and fc (3 x 64) both run INT8 at batch 1.
    EXPECT_EQ(j["total_macs"], 4 * 16 + 3 * 64);
    EXPECT_EQ(j["int8_mac_share"], 1.0);
    bool saw_qconv = false;
    for (const auto& n : j["nodes"])
        if (n["op"] == "QConv") {
            saw_qconv = true;
            EXPECT_EQ(n["absorbed"], nlohmann::json({"x_dq", "c_wdq", "conv", "relu", "r_q"}));
        }
    EXPECT_TRUE(saw_qconv) << e.out;
    auto t = run("explain " + cli_test::quote(model) + " --backend ref");
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("INT8 coverage: 100.0%"), std::string::npos) << t.out;
}

TEST_F(EngineCli, BadInputsAreRefused) {
    std::string model = save(*tiny_qdq_model(), "m.onnx");
    auto unc = tiny_qdq_model();
    unc->info().set_metadata("qat.uncalibrated", "1");
    std::string uncal = save(*unc, "uncal.onnx");
    expect_error("build " + cli_test::quote(uncal) + " -o " + cli_test::quote(path("u.engine")), "build",
                 {"uncal.onnx", "qat calibrate"});
    EXPECT_FALSE(cli_test::fs::exists(path("u.engine")));
    expect_error("build " + cli_test::quote(model) + " -o " + cli_test::quote(path("nodir/m.engine")), "build",
                 {"nodir"});
    expect_error("build " + cli_test::quote(path("missing.onnx")) + " -o " + cli_test::quote(path("x.engine")), "build",
                 {"missing.onnx"});
    expect_error("build " + cli_test::quote(model) + " -o " + cli_test::quote(path("m.engine")) + " --backend tpu",
                 "build", {"--backend 'tpu'"});
    // Corrupt and truncated engine files.
    ASSERT_EQ(run("build " + cli_test::quote(model) + " -o " + cli_test::quote(path("m.engine"))).exit_code, 0);
    std::string bytes = cli_test::slurp(path("m.engine"));
    {
        std::string bad = bytes;
        bad[bad.size() - 10] ^= 1;
        std::ofstream(path("corrupt.engine"), std::ios::binary) << bad;
        std::ofstream(path("short.engine"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    expect_error("explain " + cli_test::quote(path("corrupt.engine")), "explain",
                 {"corrupt.engine", "checksum mismatch"});
    expect_error("explain " + cli_test::quote(path("short.engine")), "explain", {"short.engine", "truncated"});
    expect_error("eval " + cli_test::quote(path("short.engine")) + " --data fashion-mnist --limit 10", "eval",
                 {"truncated"});
    expect_error("eval " + cli_test::quote(model) + " --data nosuchkind:x", "eval", {"nosuchkind"});
}

// Bad Q/DQ parameters reach the user as one line and exit code 2 from build, explain, eval and
// bench, naming the node and what is wrong with it; nothing is written.
TEST_F(EngineCli, BadScalesAndChannelCountsAreRefused) {
    struct Case {
        const char* name;
        std::vector<std::string> parts;
        std::function<void(ir::Graph&)> edit;
    };
    const std::vector<Case> cases = {
        {"nan_scale",
         {"QuantizeLinear 'x_q'", "must be finite and > 0"},
         [](ir::Graph& g) {
             g.set_input(g.find_node("x_q"), 1, g.add_initializer("nan_s", Tensor::scalar<float>(std::nanf(""))));
         }},
        {"negative_scale",
         {"DequantizeLinear 'r_dq'", "must be finite and > 0"},
         [](ir::Graph& g) {
             g.set_input(g.find_node("r_dq"), 1, g.add_initializer("neg_s", Tensor::scalar<float>(-0.1f)));
         }},
        {"zero_weight_scale",
         {"DequantizeLinear 'c_wdq'", "must be finite and > 0"},
         [](ir::Graph& g) {
             g.set_input(g.find_node("c_wdq"), 1,
                         g.add_initializer("zw", Tensor::from_vector<float>({4}, {0.1f, 0.0f, 0.1f, 0.1f})));
         }},
        // The conv has 4 output channels; 3 per-channel scales (and zero points) do not fit.
        {"channel_count",
         {"DequantizeLinear 'c_wdq'", "has 3 values", "4 channels along axis 0"},
         [](ir::Graph& g) {
             ir::Node* d = g.find_node("c_wdq");
             g.set_input(d, 1, g.add_initializer("s3", Tensor::from_vector<float>({3}, {0.1f, 0.1f, 0.1f})));
             g.set_input(d, 2, g.add_initializer("z3", Tensor::zeros(DataType::kInt8, {3})));
         }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        auto g = tiny_qdq_model();
        c.edit(*g);
        std::string m = save(*g, std::string(c.name) + ".onnx");
        std::string out = path(std::string(c.name) + ".engine");
        expect_error("build " + cli_test::quote(m) + " -o " + cli_test::quote(out), "build", c.parts);
        EXPECT_FALSE(cli_test::fs::exists(out));
        expect_error("explain " + cli_test::quote(m), "explain", c.parts);
        expect_error("bench " + cli_test::quote(m) + " --iterations 1 --warmup 0", "bench", c.parts);
    }
}

// `qat bench`: the JSON object has the documented fields with consistent statistics, --profile
// shows the fused op running INT8, and bad flags or an engine file with --compare-ort are refused.
// `qat run` takes an engine file as well as an ONNX file. Oracle: the unfused Q/DQ ONNX model on
// the reference backend. The fused INT8 ops may move a rounding by one int8 step (ir/fused_ops.h),
// so the logits get the end-to-end bound of engine_models_test: within 3% of their largest
// magnitude, the same top-1 per row. The batch of a fixed-batch engine is enforced.
TEST_F(EngineCli, RunTakesAnEngineFile) {
    std::string model = save(*tiny_qdq_model(), "m.onnx");
    ASSERT_EQ(
        run("build " + cli_test::quote(model) + " -o " + cli_test::quote(path("m.engine")) + " --batch 4").exit_code,
        0);
    Tensor x = random_tensor({4, 1, 4, 4}, 11);
    ASSERT_TRUE(save_npy(path("x.npy"), x).ok());
    const std::string in = " -i " + cli_test::quote("x=" + path("x.npy"));
    auto e = run("run " + cli_test::quote(path("m.engine")) + in + " -o " + cli_test::quote(path("eng")));
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_NE(e.out.find("ran "), std::string::npos) << e.out;
    auto r = run("run " + cli_test::quote(model) + in + " --backend ref -o " + cli_test::quote(path("ref")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto got = load_npy(path("eng/logits.npy"));
    auto want = load_npy(path("ref/logits.npy"));
    ASSERT_TRUE(got.ok() && want.ok());
    ASSERT_EQ(got->dims(), want->dims());
    ASSERT_EQ(got->dims(), (std::vector<int64_t>{4, 3}));
    float amax = 0;
    for (int64_t i = 0; i < want->numel(); ++i) amax = std::max(amax, std::fabs(want->data<float>()[i]));
    ASSERT_GT(amax, 0.0f);
    for (int64_t i = 0; i < want->numel(); ++i)
        EXPECT_NEAR(got->data<float>()[i], want->data<float>()[i], 0.03f * amax) << "element " << i;
    for (int64_t row = 0; row < 4; ++row) {
        const float* a = got->data<float>() + row * 3;
        const float* b = want->data<float>() + row * 3;
        EXPECT_EQ(std::max_element(a, a + 3) - a, std::max_element(b, b + 3) - b) << "row " << row;
    }
    // The engine's fixed batch is 4: a batch of 2 is refused, naming the input and both shapes.
    ASSERT_TRUE(save_npy(path("x2.npy"), random_tensor({2, 1, 4, 4}, 12)).ok());
    expect_error("run " + cli_test::quote(path("m.engine")) + " -i " + cli_test::quote("x=" + path("x2.npy")), "run",
                 {"'x'", "[2,1,4,4]"});
    expect_error("run " + cli_test::quote(path("m.engine")) + in + " --backend tpu", "run", {"tpu"});
}

TEST_F(EngineCli, BenchReportsLatencyProfileAndRefusesBadFlags) {
    std::string model = save(*tiny_qdq_model(), "m.onnx");
    auto j = run_json("bench " + cli_test::quote(model) +
                      " --batch 3 --threads 1 --warmup 1 --iterations 7 --profile --json");
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["batch"], 3);
    EXPECT_EQ(j["threads"], 1);
    EXPECT_EQ(j["iterations"], 7);
    const auto& l = j["latency_ms"];
    for (const char* k : {"min", "median", "mean", "p90", "p99"}) ASSERT_TRUE(l.contains(k)) << k;
    EXPECT_GT(l["min"].get<double>(), 0.0);
    EXPECT_LE(l["min"].get<double>(), l["median"].get<double>());
    EXPECT_LE(l["median"].get<double>(), l["p90"].get<double>());
    EXPECT_LE(l["p90"].get<double>(), l["p99"].get<double>());
    // throughput = batch / mean latency.
    EXPECT_NEAR(j["throughput_per_s"].get<double>(), 3 * 1000.0 / l["mean"].get<double>(),
                1e-6 * j["throughput_per_s"].get<double>());
    bool qconv_int8 = false;
    for (const auto& p : j["profile"])
        qconv_int8 = qconv_int8 || (p["op"] == "com.qat::QConv" && p["precision"] == "INT8");
    EXPECT_TRUE(qconv_int8) << j["profile"].dump();
    EXPECT_FALSE(j.contains("ort"));

    auto t = run("bench " + cli_test::quote(model) + " --iterations 2 --warmup 0");
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("latency ms: min"), std::string::npos) << t.out;

    EXPECT_EQ(j["fp32_layout"], "backend") << "a model this small is not timed";
    expect_error("bench " + cli_test::quote(model) + " --batch 0", "bench", {"--batch"});
    expect_error("bench " + cli_test::quote(model) + " --fp32-layout sideways", "bench", {"--fp32-layout", "sideways"});
    expect_error("bench " + cli_test::quote(model) + " --step-threads some", "bench", {"--step-threads", "'some'"});
    EXPECT_TRUE(j.contains("serial_steps") && j["serial_steps"].is_array()) << j.dump();
    expect_error("bench " + cli_test::quote(path("missing.onnx")), "bench", {"missing.onnx"});
    ASSERT_EQ(
        run("build " + cli_test::quote(model) + " -o " + cli_test::quote(path("m.engine")) + " --batch 2").exit_code,
        0);
    // Without --batch, an engine file with a fixed batch is timed at that batch.
    auto ej = run_json("bench " + cli_test::quote(path("m.engine")) + " --iterations 2 --warmup 0 --json");
    ASSERT_TRUE(ej.is_object());
    EXPECT_EQ(ej["batch"], 2);
    EXPECT_EQ(ej["source"], "engine");
    expect_error("bench " + cli_test::quote(path("m.engine")) + " --compare-ort --iterations 1", "bench",
                 {"--compare-ort", "m.engine"});
    expect_error("bench " + cli_test::quote(path("m.engine")) + " --batch 5 --iterations 1", "bench", {"batch"});
}

// --compare-ort: ONNX Runtime (tools/ort_bench.js) runs the same file in the same command and the
// speedup is the ratio of the two medians.
TEST_F(EngineCli, BenchComparesWithOnnxRuntime) {
    if (const std::string why = qat::testing::ort_missing_reason(); !why.empty()) GTEST_SKIP() << why;
    std::string model = save(*tiny_qdq_model(), "m.onnx");
    auto j = run_json("bench " + cli_test::quote(model) +
                      " --batch 2 --threads 1 --warmup 1 --iterations 5 --compare-ort --json");
    ASSERT_TRUE(j.is_object());
    ASSERT_TRUE(j.contains("ort")) << j.dump();
    EXPECT_EQ(j["ort"]["batch"], 2);
    EXPECT_EQ(j["ort"]["threads"], 1);
    const double ort_median = j["ort"]["latency_ms"]["median"].get<double>();
    EXPECT_GT(ort_median, 0.0);
    EXPECT_NEAR(j["speedup_vs_ort"].get<double>(), ort_median / j["latency_ms"]["median"].get<double>(), 1e-9);
}

// --compare-ort --profile: ONNX Runtime's own per-node profile comes back too (tools/ort_bench.js
// --profile): its op types and nodes with their kernel times, consistent totals, and the table.
TEST_F(EngineCli, BenchProfilesOnnxRuntimeToo) {
    if (const std::string why = qat::testing::ort_missing_reason(); !why.empty()) GTEST_SKIP() << why;
    std::string model = save(*tiny_qdq_model(), "m.onnx");
    auto j = run_json("bench " + cli_test::quote(model) +
                      " --threads 1 --warmup 1 --iterations 4 --compare-ort --profile --peak-gops 100 --json");
    ASSERT_TRUE(j.is_object());
    ASSERT_TRUE(j.contains("ort_profile")) << j.dump();
    const auto& p = j["ort_profile"];
    EXPECT_GE(p["runs"].get<int>(), 3);
    ASSERT_FALSE(p["nodes"].empty()) << p.dump();
    double by_op = 0, nodes = 0;
    for (const auto& [op, ms] : p["by_op_ms"].items()) by_op += ms.get<double>();
    for (const auto& n : p["nodes"]) {
        EXPECT_FALSE(n["name"].get<std::string>().empty());
        EXPECT_GE(n["ms"].get<double>(), 0.0);
        nodes += n["ms"].get<double>();
    }
    EXPECT_GT(nodes, 0.0);
    EXPECT_NEAR(by_op, nodes, 1e-9 + 1e-9 * nodes);
    EXPECT_NEAR(p["total_ms"].get<double>(), nodes, 1e-9 + 1e-9 * nodes);
    // The model's convolution is in ONNX Runtime's list under its op type.
    bool conv = false;
    for (const auto& [op, ms] : p["by_op_ms"].items()) conv = conv || op.find("Conv") != std::string::npos;
    EXPECT_TRUE(conv) << p.dump();
    auto t = run("bench " + cli_test::quote(model) + " --threads 1 --warmup 1 --iterations 3 --compare-ort --profile");
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("ONNX Runtime profile"), std::string::npos) << t.out;
}

// An IDX data set whose pixel 0 encodes a class E (20 * E), with labels L; E != L for a known set
// of samples. The model's logits are E^2 - (E - j)^2 - 0.01 j (Flatten -> Gemm on pixel 0), so
// its ranking of the classes is known in closed form: top-1 is E, and the rank of L counts the
// classes closer to E (ties broken towards lower j by the 0.01 j term).
struct OracleData {
    std::vector<uint8_t> labels, encoded;
};

OracleData write_idx(const std::string& dir, int n) {
    OracleData d;
    for (int i = 0; i < n; ++i) {
        uint8_t l = static_cast<uint8_t>(i % 10);
        uint8_t e = l;
        if (i % 7 == 3) e = static_cast<uint8_t>((l + 1) % 10);   // near miss: rank 1 or 2
        if (i % 11 == 5) e = static_cast<uint8_t>((l + 6) % 10);  // far miss
        d.labels.push_back(l);
        d.encoded.push_back(e);
    }
    auto be32 = [](std::string& s, uint32_t v) {
        for (int k = 3; k >= 0; --k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
    };
    std::string img = std::string("\0\0\x08\x03", 4), lab = std::string("\0\0\x08\x01", 4);
    be32(img, n);
    be32(img, 4);
    be32(img, 4);
    be32(lab, n);
    for (int i = 0; i < n; ++i) {
        std::string px(16, '\0');
        px[0] = static_cast<char>(20 * d.encoded[i]);
        px[5] = static_cast<char>(i % 250);  // noise the model ignores
        img += px;
        lab.push_back(static_cast<char>(d.labels[i]));
    }
    std::ofstream(dir + "/t10k-images-idx3-ubyte", std::ios::binary) << img;
    std::ofstream(dir + "/t10k-labels-idx1-ubyte", std::ios::binary) << lab;
    return d;
}

std::unique_ptr<ir::Graph> oracle_model() {
    auto g = std::make_unique<ir::Graph>();
    ir::Value* x = g->add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 1, 4, 4});
    ir::Node* f = g->add_node("Flatten", {x}, {"f"}, "flatten");
    Tensor w = Tensor::zeros(DataType::kFloat32, {16, 10});
    Tensor b = Tensor::zeros(DataType::kFloat32, {10});
    for (int j = 0; j < 10; ++j) {
        w.data<float>()[j] = 2.0f * j * 255.0f / 20.0f;  // x0 = 20 E / 255  ->  2 j E
        b.data<float>()[j] = -static_cast<float>(j * j) - 0.01f * j;
    }
    ir::Node* fc =
        g->add_node("Gemm", {f->output(0), g->add_initializer("w", w), g->add_initializer("b", b)}, {"logits"}, "fc");
    g->add_output(fc->output(0));
    return g;
}

TEST_F(EngineCli, EvalTopKMatchesClosedForm) {
    const int n = 150;
    OracleData d = write_idx(dir().string(), n);
    std::string model = save(*oracle_model(), "oracle.onnx");
    int top1 = 0, top5 = 0;
    std::vector<int> cls_n(10, 0), cls_ok(10, 0);
    for (int i = 0; i < n; ++i) {
        const double e = d.encoded[i], l = d.labels[i];
        auto score = [&](double j) { return -(e - j) * (e - j) - 0.01 * j; };
        int rank = 0;
        for (int j = 0; j < 10; ++j) rank += score(j) > score(l);
        top1 += rank == 0;
        top5 += rank < 5;
        ++cls_n[d.labels[i]];
        cls_ok[d.labels[i]] += rank == 0;
    }
    ASSERT_LT(top1, n);  // the data set has misses, so the numbers below are not trivial
    ASSERT_LT(top5, n);
    auto j = run_json("eval " + cli_test::quote(model) + " --data " + cli_test::quote("idx:" + dir().string()) +
                      " --batch 32 --json --backend ref");
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["samples"], n);
    EXPECT_NEAR(j["top1"].get<double>(), 100.0 * top1 / n, 1e-9);
    EXPECT_NEAR(j["top5"].get<double>(), 100.0 * top5 / n, 1e-9);
    for (int c = 0; c < 10; ++c)
        EXPECT_NEAR(j["per_class"][c]["top1"].get<double>(), 100.0 * cls_ok[c] / cls_n[c], 1e-9);
    // --limit and an engine file give the same numbers on the first samples.
    ASSERT_EQ(
        run("build " + cli_test::quote(model) + " -o " + cli_test::quote(path("o.engine")) + " --batch 16").exit_code,
        0);
    auto r2 = run("eval " + cli_test::quote(path("o.engine")) + " --data " + cli_test::quote("idx:" + dir().string()) +
                  " --limit 40 --json");
    ASSERT_EQ(r2.exit_code, 0) << r2.err;
    auto j2 = nlohmann::json::parse(r2.out, nullptr, false);
    int top1_40 = 0;
    for (int i = 0; i < 40; ++i) {
        const double e = d.encoded[i], l = d.labels[i];
        top1_40 += e == l;
    }
    EXPECT_EQ(j2["samples"], 40);
    EXPECT_NEAR(j2["top1"].get<double>(), 100.0 * top1_40 / 40, 1e-9);
    // Wrong input shape: the data gives [1,4,4], a model wanting [N,3,4,4] is refused naming both.
    auto bad = oracle_model();
    bad->inputs()[0]->set_shape(Shape{Dim::symbolic("N"), 3, 4, 4});
    std::string badp = save(*bad, "bad.onnx");
    expect_error("eval " + cli_test::quote(badp) + " --data " + cli_test::quote("idx:" + dir().string()), "eval",
                 {"[1,4,4]", "[N,3,4,4]"});
}

}  // namespace
}  // namespace qat
