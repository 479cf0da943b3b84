// Engine build checks, engine files (round trip, corrupt / truncated / version-mismatched files
// refused) and `qat explain`'s report.
#include "engine/engine_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "backends/registry.h"
#include "core/file_util.h"
#include "engine/explain.h"
#include "ir/fused_ops.h"
#include "onnx/onnx_export.h"
#include "passes/engine_test_util.h"

namespace qat {
namespace {

namespace fs = std::filesystem;
using test::qdq;
using test::random_tensor;
using test::weight_dq;

// x[N,3,8,8] -> Q/DQ -> Conv(8, 3x3) -> BN -> Relu -> Q/DQ -> Conv(8, 1x1) -> GAP -> Flatten -> Gemm(5)
// plus an FP32 Conv branch on the raw input added before the Gemm's input (not quantized).
std::unique_ptr<ir::Graph> small_qdq_model() {
    auto g = std::make_unique<ir::Graph>();
    ir::Value* x = g->add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3, 8, 8});
    ir::Value* xd = qdq(*g, x, 1.0f / 127.0f, 0, "x");
    ir::Node* c1 = g->add_node(
        "Conv",
        {xd, weight_dq(*g, random_tensor({8, 3, 3, 3}, 1), 0, "c1"), g->add_initializer("c1.b", random_tensor({8}, 2))},
        {"c1"}, "c1");
    c1->set_attr("pads", ir::Attribute::from_ints({1, 1, 1, 1}));
    c1->output(0)->set_shape(Shape{Dim::symbolic("N"), 8, 8, 8});
    ir::Node* bn =
        g->add_node("BatchNormalization",
                    {c1->output(0), g->add_initializer("g", random_tensor({8}, 3, 0.5f, 1.5f)),
                     g->add_initializer("b", random_tensor({8}, 4)), g->add_initializer("m", random_tensor({8}, 5)),
                     g->add_initializer("v", random_tensor({8}, 6, 0.5f, 1.5f))},
                    {"bn"}, "bn");
    bn->output(0)->set_shape(c1->output(0)->shape());
    ir::Node* relu = g->add_node("Relu", {bn->output(0)}, {"relu"}, "relu");
    relu->output(0)->set_shape(c1->output(0)->shape());
    ir::Value* rd = qdq(*g, relu->output(0), 4.0f / 127.0f, 0, "r");
    ir::Node* c2 = g->add_node("Conv", {rd, weight_dq(*g, random_tensor({8, 8, 1, 1}, 7), 0, "c2")}, {"c2"}, "c2");
    c2->output(0)->set_shape(c1->output(0)->shape());
    // FP32 branch: a Conv on the unquantized input.
    ir::Node* c3 = g->add_node("Conv", {x, g->add_initializer("c3.w", random_tensor({8, 3, 3, 3}, 8))}, {"c3"}, "c3");
    c3->set_attr("pads", ir::Attribute::from_ints({1, 1, 1, 1}));
    c3->output(0)->set_shape(c1->output(0)->shape());
    ir::Node* add = g->add_node("Add", {c2->output(0), c3->output(0)}, {"sum"}, "add");
    add->output(0)->set_shape(c1->output(0)->shape());
    ir::Node* gap = g->add_node("GlobalAveragePool", {add->output(0)}, {"gap"}, "gap");
    ir::Node* fl = g->add_node("Flatten", {gap->output(0)}, {"flat"}, "flatten");
    ir::Value* fd = qdq(*g, fl->output(0), 2.0f / 127.0f, 0, "f");
    ir::Node* fc = g->add_node(
        "Gemm",
        {fd, weight_dq(*g, random_tensor({5, 8}, 9), 0, "fc"), g->add_initializer("fc.b", random_tensor({5}, 10))},
        {"logits"}, "fc");
    fc->set_attr("transB", ir::Attribute::from_int(1));
    g->add_output(fc->output(0));
    return g;
}

engine::EngineOptions ref_options() {
    engine::EngineOptions o;
    o.backends = {"ref"};
    o.threads = 1;
    return o;
}

class EngineFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("qat_engine_file_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path(const std::string& n) const { return (dir_ / n).string(); }
    fs::path dir_;
};

TEST_F(EngineFileTest, RoundTripGivesTheSameOutputs) {
    auto g = small_qdq_model();
    auto e = engine::build_engine(*g, ref_options());
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    ASSERT_TRUE(engine::save_engine(*e, path("m.engine"), "small.onnx").ok());
    EXPECT_TRUE(engine::is_engine_file(path("m.engine")));
    auto l = engine::load_engine(path("m.engine"));
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    EXPECT_EQ(l->options().backends, std::vector<std::string>{"ref"});
    EXPECT_EQ(l->input_names(), e->input_names());
    EXPECT_EQ(l->output_names(), (std::vector<std::string>{"logits"}));
    Tensor x = random_tensor({2, 3, 8, 8}, 20);
    auto a = e->run(std::vector<Tensor>{x});
    auto b = l->run(std::vector<Tensor>{x});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE((*a)[0].equals((*b)[0]));
    // The loaded graph still holds the fused INT8 ops with int8 weights.
    int fused = 0;
    for (const ir::Node* n : l->graph().nodes())
        if (ir::fused::is_fused_op(*n)) {
            ++fused;
            if (n->num_inputs() > 1 && n->input(1) && n->op_type() != ir::fused::kQAdd) {
                EXPECT_EQ(n->input(1)->constant().dtype(), DataType::kInt8) << n->desc();
            }
        }
    EXPECT_GE(fused, 2);
    // And it matches the unfused reference.
    auto ref = test::run_ref(*g, {x});
    EXPECT_LE(test::rel_diff((*b)[0], ref[0]), 1e-3);

    // Backend kernel state travels in its own section, kept by readers that do not know it.
    engine::EngineSection sec;
    std::memcpy(sec.tag, "TST0", 4);
    sec.bytes = std::string("state\0bytes", 11);
    auto with_state = engine::serialize_engine(*e, "small.onnx", {sec});
    ASSERT_TRUE(with_state.ok());
    auto parsed = engine::parse_engine_file(*with_state, "mem");
    ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
    ASSERT_EQ(parsed->extra_sections.size(), 1u);
    EXPECT_EQ(std::string(parsed->extra_sections[0].tag, 4), "TST0");
    EXPECT_EQ(parsed->extra_sections[0].bytes, sec.bytes);
    EXPECT_EQ(parsed->source, "small.onnx");
    EXPECT_EQ(parsed->qat_version, engine::qat_version());
}

TEST_F(EngineFileTest, RefusesCorruptTruncatedAndMismatchedFiles) {
    auto g = small_qdq_model();
    auto e = engine::build_engine(*g, ref_options());
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    auto bytes = engine::serialize_engine(*e);
    ASSERT_TRUE(bytes.ok());
    const std::string good = *bytes;
    auto expect_refused = [&](const std::string& b, const std::string& part) {
        ASSERT_TRUE(write_file_atomic(path("bad.engine"), b).ok());
        auto l = engine::load_engine(path("bad.engine"));
        ASSERT_FALSE(l.ok()) << part;
        EXPECT_NE(l.status().to_string().find(part), std::string::npos) << l.status().to_string();
        EXPECT_NE(l.status().to_string().find(path("bad.engine")), std::string::npos) << l.status().to_string();
    };
    std::string flipped = good;
    flipped[flipped.size() / 2] ^= 0x40;
    expect_refused(flipped, "checksum mismatch");
    expect_refused(good.substr(0, good.size() - 100), "truncated engine file");
    expect_refused(good.substr(0, 30), "truncated engine file");
    std::string v2 = good;
    v2[8] = 2;
    expect_refused(v2, "engine file format version 2");
    std::string other = good;
    std::memcpy(&other[16], "9.9.9\0\0\0", 8);
    expect_refused(other, "built by qat 9.9.9");
    expect_refused(good + "xx", "unexpected bytes");
    // A META naming an FP32 layout nobody knows, checksum recomputed: the content is what is wrong.
    std::string bad_layout = good;
    const size_t at = bad_layout.find("\"fp32_layout\":\"backend\"");
    ASSERT_NE(at, std::string::npos);
    bad_layout.replace(at + 15, 7, "sideway");
    const uint64_t sum =
        engine::fnv1a64(bad_layout.data() + engine::kEngineHeaderSize, bad_layout.size() - engine::kEngineHeaderSize);
    for (int i = 0; i < 8; ++i) bad_layout[40 + i] = static_cast<char>((sum >> (8 * i)) & 0xff);
    expect_refused(bad_layout, "fp32_layout 'sideway'");
    auto onnx_bytes = onnx::export_model_bytes(*g);
    ASSERT_TRUE(onnx_bytes.ok());
    expect_refused(*onnx_bytes, "not a qat engine file");
    expect_refused("", "not a qat engine file");
}

TEST(EngineBuild, RefusesUncalibratedAndBadScales) {
    auto g = small_qdq_model();
    g->info().set_metadata("qat.uncalibrated", "1");
    auto e = engine::build_engine(*g, ref_options());
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("calibrate"), std::string::npos) << e.status().message();

    auto g2 = small_qdq_model();
    // A zero scale on the input Q/DQ: refused, naming the node.
    ir::Value* zero = g2->add_initializer("zero_scale", Tensor::scalar<float>(0.0f));
    g2->set_input(g2->find_node("x_q"), 1, zero);
    auto e2 = engine::build_engine(*g2, ref_options());
    ASSERT_FALSE(e2.ok());
    EXPECT_NE(e2.status().message().find("QuantizeLinear 'x_q'"), std::string::npos) << e2.status().message();

    engine::EngineOptions bad = ref_options();
    bad.backends = {"tpu"};
    auto e3 = engine::build_engine(*small_qdq_model(), bad);
    ASSERT_FALSE(e3.ok());
    EXPECT_NE(e3.status().message().find("backend 'tpu' is not available"), std::string::npos);
}

TEST(EngineBuild, FixedBatchAndRunTimeInputChecks) {
    engine::EngineOptions o = ref_options();
    o.batch = 4;
    auto e = engine::build_engine(*small_qdq_model(), o);
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    EXPECT_EQ(e->input_values()[0]->shape().to_string(), "[4,3,8,8]");
    auto r = e->run(std::vector<Tensor>{random_tensor({2, 3, 8, 8}, 1)});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("input 'x' expects shape [4,3,8,8], got [2,3,8,8]"), std::string::npos)
        << r.status().message();
    auto r2 = e->run(std::vector<Tensor>{Tensor::zeros(DataType::kInt32, {4, 3, 8, 8})});
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(r2.status().message().find("expects dtype f32, got i32"), std::string::npos) << r2.status().message();
    // A dynamic engine takes any batch.
    auto d = engine::build_engine(*small_qdq_model(), ref_options());
    ASSERT_TRUE(d.ok());
    for (int64_t n : {1, 3}) EXPECT_TRUE(d->run(std::vector<Tensor>{random_tensor({n, 3, 8, 8}, 2)}).ok());
}

TEST(Explain, ReportsFusedOpsReasonsAndCoverage) {
    auto g = small_qdq_model();
    auto e = engine::build_engine(*g, ref_options());
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    auto r = engine::explain(*e);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const engine::ExplainRow* c1 = nullptr;
    const engine::ExplainRow* c3 = nullptr;
    const engine::ExplainRow* fc = nullptr;
    for (const auto& row : r->rows) {
        if (row.node == "c1") c1 = &row;
        if (row.node == "c3") c3 = &row;
        if (row.node == "fc") fc = &row;
    }
    ASSERT_TRUE(c1 && c3 && fc) << engine::format_explain_table(*r);
    EXPECT_EQ(c1->op, "QConv");
    EXPECT_EQ(c1->precision, "INT8 -> INT8");
    EXPECT_EQ(c1->absorbed, (std::vector<std::string>{"x_dq", "c1_wdq", "c1", "bn", "relu", "r_q"}));
    EXPECT_EQ(c3->op, "Conv");
    EXPECT_EQ(c3->precision, "FP32");
    ASSERT_FALSE(c3->reasons.empty());
    EXPECT_EQ(c3->reasons[0], "not INT8: input is not quantized (no DequantizeLinear before it)");
    EXPECT_EQ(fc->op, "QGemm");
    EXPECT_EQ(fc->precision, "INT8 -> FP32");
    ASSERT_FALSE(fc->reasons.empty());
    EXPECT_EQ(fc->reasons[0], "output 'logits' is a graph output: float output");
    // MACs at batch 1, computed here from the layer shapes: c1 8*8*8 outputs x 3*3*3, c2 8*8*8 x 8,
    // c3 like c1 (FP32), fc 5 x 8. INT8: c1, c2, fc.
    const int64_t c1m = 8 * 8 * 8 * 27, c2m = 8 * 8 * 8 * 8, c3m = c1m, fcm = 5 * 8;
    ASSERT_TRUE(r->macs_known) << r->mac_note;
    EXPECT_EQ(r->total_macs, c1m + c2m + c3m + fcm);
    EXPECT_EQ(r->int8_macs, c1m + c2m + fcm);
    EXPECT_EQ(r->fp32_mac_ops, 1);
    const std::string table = engine::format_explain_table(*r);
    EXPECT_NE(table.find("INT8 coverage: "), std::string::npos) << table;
    const std::string json = engine::explain_to_json(*r);
    EXPECT_NE(json.find("\"int8_mac_share\""), std::string::npos);
}

// Unsupported combinations are never wrong, only slower: a Conv whose weight has a nonzero zero
// point stays FP32 (the passes say why), and a QAdd with nonzero input zero points, which the
// oneDNN backend declines, runs on the reference backend (explain lists the refusal). Both give
// the unfused reference's results: the FP32 Conv exactly the same arithmetic (bound 1e-6
// relative), the QAdd within one output step (float re-association in the sum).
TEST(Explain, UnsupportedCombinationsFallBackAndSaySo) {
    ir::Graph g;
    g.info().set_opset("", 13);
    Shape s{1, 4, 5, 5};
    ir::Value* x = g.add_input("x", DataType::kFloat32, s);
    ir::Value* xd = qdq(g, x, 0.02f, 0, "x");
    ir::Value* wq = g.add_initializer("wq", Tensor::from_vector<int8_t>({4, 4, 1, 1}, [] {
                                          std::vector<int8_t> v(16);
                                          for (int i = 0; i < 16; ++i) v[i] = static_cast<int8_t>((i * 37) % 61 - 30);
                                          return v;
                                      }()));
    ir::Node* wd = g.add_node("DequantizeLinear", {wq, test::scalar_f32(g, "ws", 0.05f), test::scalar_q(g, "wz", 3)},
                              {"wd"}, "w_dq");
    wd->output(0)->set_shape(Shape{4, 4, 1, 1});
    ir::Node* c = g.add_node("Conv", {xd, wd->output(0)}, {"c"}, "conv_zp");
    c->output(0)->set_shape(s);
    // QAdd with zero point 5 on both inputs and the output (uint8).
    ir::Value* a = qdq(g, c->output(0), 0.05f, 5, "a", DataType::kUint8);
    ir::Value* b = qdq(g, x, 0.03f, 5, "b", DataType::kUint8);
    ir::Node* add = g.add_node("Add", {a, b}, {"sum"}, "add_zp");
    add->output(0)->set_shape(s);
    ir::Value* y = qdq(g, add->output(0), 0.06f, 5, "y", DataType::kUint8);
    g.add_output(y);

    const bool have_onednn = [] {
        for (const auto& n : backends::available_backends())
            if (n == "onednn") return true;
        return false;
    }();
    engine::EngineOptions o;
    o.threads = 1;  // every backend, in priority order
    auto e = engine::build_engine(g, o);
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    auto r = engine::explain(*e);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const std::string table = engine::format_explain_table(*r);
    const engine::ExplainRow* conv = nullptr;
    const engine::ExplainRow* qadd = nullptr;
    for (const auto& row : r->rows) {
        if (row.node == "conv_zp") conv = &row;
        if (row.op == "QAdd") qadd = &row;
    }
    ASSERT_TRUE(conv && qadd) << table;
    EXPECT_EQ(conv->op, "Conv");
    EXPECT_EQ(conv->precision, "FP32");
    ASSERT_FALSE(conv->reasons.empty()) << table;
    EXPECT_NE(conv->reasons[0].find("weight zero point is not 0"), std::string::npos) << table;
    EXPECT_EQ(r->fp32_mac_ops, 1);
    EXPECT_EQ(r->int8_macs, 0);
    EXPECT_NE(table.find("weight zero point is not 0"), std::string::npos) << table;
    if (have_onednn) {
        EXPECT_EQ(qadd->backend, "ref") << table;
        bool declined = false;
        for (const auto& why : qadd->reasons) declined = declined || why.rfind("onednn declined: ", 0) == 0;
        EXPECT_TRUE(declined) << table;
    }

    Tensor in = random_tensor({1, 4, 5, 5}, 77, 0.0f, 1.0f);
    auto want = test::run_ref(g, {in});
    ASSERT_EQ(want.size(), 1u);
    auto got = e->run(std::vector<Tensor>{in});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_LE(test::max_abs_diff((*got)[0], want[0]), 0.06 * 1.0001) << "more than one output step apart";
}

}  // namespace
}  // namespace qat
