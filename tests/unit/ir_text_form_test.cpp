// Text form: parsing against the documented grammar (checked through the Graph API), exact
// round trips (payload floats bit for bit), canonical order, errors with line:col, and
// same_structure.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ir/text_form.h"
#include "ir/verify.h"

using namespace qat;

namespace {

std::unique_ptr<ir::Graph> parse_ok(std::string_view text, const ir::ParseOptions& o = {}) {
    auto r = ir::parse_graph(text, o);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
}

std::string parse_error(std::string_view text) {
    auto r = ir::parse_graph(text);
    EXPECT_FALSE(r.ok()) << "expected a parse error for:\n" << text;
    return r.ok() ? std::string() : r.status().message();
}

uint32_t bits_of(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

}  // namespace

TEST(TextForm, ParsesTheDocumentedExample) {
    auto g = parse_ok(R"(
graph main(%x: f32[N,3,32,32]) -> (%y) {
  %w = init f32[8,3,3,3]            # payload omitted: zeros by default
  %s = init f32[] {0.0235}
  %c = Conv[pads=[1,1,1,1], strides=[1,1]](%x, %w, _) @conv1
  %a, %b = Split[axis=1](%c) @split
  %q = com.qat::QRelu[alpha=0.5, mode="fast", ks=ints[]](%a) @qr
  %y = Add(%q, %b) @add
}
)");
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->info().graph_name, "main");
    ASSERT_EQ(g->inputs().size(), 1u);
    const ir::Value* x = g->inputs()[0];
    EXPECT_EQ(x->name(), "x");
    EXPECT_EQ(x->dtype(), DataType::kFloat32);
    EXPECT_EQ(x->shape(), (Shape{Dim::symbolic("N"), 3, 32, 32}));

    const ir::Value* w = g->find_value("w");
    ASSERT_TRUE(w && w->is_initializer());
    EXPECT_EQ(w->constant().dims(), (std::vector<int64_t>{8, 3, 3, 3}));
    for (float v : w->constant().to_vector<float>()) ASSERT_EQ(v, 0.0f);
    const ir::Value* s = g->find_value("s");
    ASSERT_TRUE(s && s->is_initializer());
    EXPECT_EQ(s->constant().rank(), 0u);
    EXPECT_EQ(s->constant().data<float>()[0], 0.0235f);

    const ir::Node* conv = g->find_node("conv1");
    ASSERT_NE(conv, nullptr);
    EXPECT_EQ(conv->op_type(), "Conv");
    ASSERT_EQ(conv->num_inputs(), 3u);
    EXPECT_EQ(conv->input(0), x);
    EXPECT_EQ(conv->input(1), w);
    EXPECT_EQ(conv->input(2), nullptr);
    EXPECT_EQ(conv->attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(conv->attr_ints("strides"), (std::vector<int64_t>{1, 1}));

    const ir::Node* split = g->find_node("split");
    ASSERT_EQ(split->num_outputs(), 2u);
    EXPECT_EQ(split->output(0)->name(), "a");
    EXPECT_EQ(split->output(1)->name(), "b");
    EXPECT_EQ(split->attr_int("axis", -1), 1);

    const ir::Node* qr = g->find_node("qr");
    EXPECT_EQ(qr->domain(), "com.qat");
    EXPECT_EQ(qr->op_type(), "QRelu");
    EXPECT_EQ(qr->attr("alpha")->kind, ir::Attribute::Kind::kFloat);
    EXPECT_EQ(qr->attr_float("alpha", 0), 0.5f);
    EXPECT_EQ(qr->attr_string("mode", ""), "fast");
    EXPECT_EQ(qr->attr("ks")->kind, ir::Attribute::Kind::kInts);
    EXPECT_TRUE(qr->attr("ks")->ints.empty());

    ASSERT_EQ(g->outputs().size(), 1u);
    EXPECT_EQ(g->outputs()[0]->producer(), g->find_node("add"));
    EXPECT_TRUE(ir::verify(*g).ok()) << ir::verify(*g).to_string();
}

TEST(TextForm, PrintsTheSpecifiedTextAndRoundTrips) {
    // Built through the Graph API in an order different from the canonical one.
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 4});
    ir::Value* b = g.add_initializer("b", Tensor::from_vector<float>({4}, {0.5f, -1.0f, 2.0f, 1e-05f}));
    ir::Node* relu = g.add_node("Relu", {x}, {"r"}, "relu");
    relu->output(0)->set_dtype(DataType::kFloat32);
    relu->output(0)->set_shape(Shape{Dim::symbolic("N"), 4});
    ir::Node* add = g.add_node("Add", {relu->output(0), b}, {"y"}, "add");
    g.add_output(add->output(0));
    const char* expected =
        "graph main(%x: f32[N,4]) -> (%y) {\n"
        "  %r: f32[N,4] = Relu(%x) @relu\n"
        "  %b = init f32[4] {0.5, -1.0, 2.0, 1e-05}\n"
        "  %y = Add(%r, %b) @add\n"
        "}\n";
    EXPECT_EQ(ir::print_graph(g), expected);
    auto g2 = parse_ok(expected);
    ASSERT_NE(g2, nullptr);
    EXPECT_EQ(ir::print_graph(*g2), expected);
}

TEST(TextForm, FloatPayloadsRoundTripBitForBit) {
    std::vector<float> vals = {0.1f,
                               1.0f / 3.0f,
                               -0.0f,
                               0.0f,
                               1e-38f,
                               std::numeric_limits<float>::denorm_min(),
                               std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::lowest(),
                               std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(),
                               123456789.0f,
                               16777217.0f};
    std::mt19937 rng(7);
    for (int i = 0; i < 500; ++i) {
        uint32_t bits = rng();
        float f;
        std::memcpy(&f, &bits, 4);
        if (std::isfinite(f)) vals.push_back(f);
    }
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{static_cast<int64_t>(vals.size())});
    ir::Value* w = g.add_initializer("w", Tensor::from_vector<float>({static_cast<int64_t>(vals.size())}, vals));
    ir::Value* h = g.add_initializer("h", Tensor::from_vector<double>({3}, {0.1, -2.5e-300, 1.0 / 7.0}));
    ir::Node* n = g.add_node("Add", {x, w}, {"y"}, "add");
    g.add_node("Identity", {h}, {"hh"}, "id");
    g.add_output(n->output(0));
    g.add_output(g.find_value("hh"));
    ir::PrintOptions po;
    po.max_inline_elements = -1;
    std::string text = ir::print_graph(g, po);
    auto g2 = parse_ok(text);
    ASSERT_NE(g2, nullptr);
    const Tensor& w2 = g2->find_value("w")->constant();
    ASSERT_EQ(w2.numel(), static_cast<int64_t>(vals.size()));
    for (size_t i = 0; i < vals.size(); ++i) ASSERT_EQ(bits_of(w2.data<float>()[i]), bits_of(vals[i])) << "index " << i;
    EXPECT_TRUE(g2->find_value("h")->constant().equals(h->constant()));
    // NaN survives as a NaN (bit patterns of NaNs are not preserved, only NaN-ness).
    auto gn = parse_ok("graph g() -> (%n) { %n = init f32[2] {nan, -inf} }");
    ASSERT_NE(gn, nullptr);
    EXPECT_TRUE(std::isnan(gn->find_value("n")->constant().data<float>()[0]));
    EXPECT_EQ(gn->find_value("n")->constant().data<float>()[1], -std::numeric_limits<float>::infinity());
}

TEST(TextForm, IntegerAndHalfPayloads) {
    auto g = parse_ok(R"(graph g() -> (%a, %b, %c, %d, %e) {
      %a = init i8[3] {-128, 0, 127}
      %b = init u8[2] {0, 255}
      %c = init i64[2] {-9223372036854775808, 9223372036854775807}
      %d = init bool[2] {1, 0}
      %e = init f16[2] {0.5, -2.0}
    })");
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->find_value("a")->constant().to_vector<int8_t>(), (std::vector<int8_t>{-128, 0, 127}));
    EXPECT_EQ(g->find_value("b")->constant().to_vector<uint8_t>(), (std::vector<uint8_t>{0, 255}));
    EXPECT_EQ(g->find_value("c")->constant().to_vector<int64_t>(),
              (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}));
    EXPECT_EQ(g->find_value("d")->constant().dtype(), DataType::kBool);
    const Tensor& e = g->find_value("e")->constant();
    EXPECT_EQ(e.dtype(), DataType::kFloat16);
    EXPECT_EQ(half_to_float(static_cast<const uint16_t*>(e.raw_data())[0]), 0.5f);
    EXPECT_EQ(half_to_float(static_cast<const uint16_t*>(e.raw_data())[1]), -2.0f);
    auto g2 = parse_ok(ir::print_graph(*g));
    ASSERT_NE(g2, nullptr);
    for (const char* n : {"a", "b", "c", "d", "e"})
        EXPECT_TRUE(g2->find_value(n)->constant().equals(g->find_value(n)->constant())) << n;
}

TEST(TextForm, EveryAttributeKindRoundTrips) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2});
    ir::Node* n = g.add_node("Custom", {x}, {"y"}, "c", "com.example");
    std::string all_bytes;
    for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
    n->set_attr("i", ir::Attribute::from_int(-7));
    n->set_attr("f", ir::Attribute::from_float(3.0f));
    n->set_attr("s", ir::Attribute::from_string("quote \" backslash \\ newline \n tab \t bell \x07"));
    n->set_attr("ints", ir::Attribute::from_ints({1, -2, 3}));
    n->set_attr("floats", ir::Attribute::from_floats({1.0f, 0.25f}));
    n->set_attr("strings", ir::Attribute::from_strings({"a", "b c"}));
    n->set_attr("e_ints", ir::Attribute::from_ints({}));
    n->set_attr("e_floats", ir::Attribute::from_floats({}));
    n->set_attr("e_strings", ir::Attribute::from_strings({}));
    n->set_attr("t", ir::Attribute::from_tensor(Tensor::from_vector<int32_t>({2}, {5, -6})));
    n->set_attr("op", ir::Attribute::opaque(all_bytes));
    g.add_output(n->output(0));
    auto g2 = parse_ok(ir::print_graph(g));
    ASSERT_NE(g2, nullptr);
    const ir::Node* n2 = g2->find_node("c");
    ASSERT_NE(n2, nullptr);
    EXPECT_EQ(n2->domain(), "com.example");
    ASSERT_EQ(n2->attrs().size(), n->attrs().size());
    for (const auto& [k, a] : n->attrs()) {
        ASSERT_NE(n2->attr(k), nullptr) << k;
        EXPECT_TRUE(*n2->attr(k) == a) << k << " differs: " << n2->attr(k)->kind_name() << " vs " << a.kind_name();
    }
}

TEST(TextForm, OddNamesAreQuotedAndRoundTrip) {
    ir::Graph g;
    ir::Value* x = g.add_input("input.1", DataType::kFloat32, Shape{1});
    ir::Node* a = g.add_node("Relu", {x}, {"onnx::Relu_12"}, "node with space");
    ir::Node* b = g.add_node("Relu", {a->output(0)}, {"_"}, "");
    ir::Node* c = g.add_node("Relu", {b->output(0)}, {"q\"uote"}, "/model/relu");
    g.add_output(c->output(0));
    std::string text = ir::print_graph(g);
    EXPECT_NE(text.find("%\"onnx::Relu_12\""), std::string::npos) << text;
    EXPECT_NE(text.find("@\"node with space\""), std::string::npos) << text;
    EXPECT_NE(text.find("@/model/relu"), std::string::npos) << text;
    auto g2 = parse_ok(text);
    ASSERT_NE(g2, nullptr);
    EXPECT_NE(g2->find_value("onnx::Relu_12"), nullptr);
    EXPECT_NE(g2->find_value("_"), nullptr);
    EXPECT_NE(g2->find_value("q\"uote"), nullptr);
    EXPECT_NE(g2->find_node("node with space"), nullptr);
    EXPECT_EQ(ir::print_graph(*g2), text);
}

TEST(TextForm, CanonicalOrderIgnoresInsertionOrder) {
    // Two parallel branches, inserted in opposite orders.
    auto build = [](bool left_first) {
        auto g = std::make_unique<ir::Graph>();
        ir::Value* x = g->add_input("x", DataType::kFloat32, Shape{2});
        ir::Node *l = nullptr, *r = nullptr;
        if (left_first) {
            l = g->add_node("Relu", {x}, {"l"}, "left");
            r = g->add_node("Sigmoid", {x}, {"r"}, "right");
        } else {
            r = g->add_node("Sigmoid", {x}, {"r"}, "right");
            l = g->add_node("Relu", {x}, {"l"}, "left");
        }
        ir::Node* a = g->add_node("Add", {l->output(0), r->output(0)}, {"y"}, "add");
        g->add_output(a->output(0));
        return g;
    };
    auto g1 = build(true), g2 = build(false);
    EXPECT_NE(g1->nodes()[0]->name(), g2->nodes()[0]->name());
    std::string t1 = ir::print_graph(*g1);
    EXPECT_EQ(t1, ir::print_graph(*g2));
    // Depth-first from the output, inputs left to right: the Add's first input comes first.
    EXPECT_LT(t1.find("@left"), t1.find("@right"));
}

TEST(TextForm, InputWithDefaultConstantNodeAndOpsets) {
    const char* text =
        "opset ai.onnx 17\n"
        "opset com.qat 1\n"
        "graph \"my-graph\"(%x: f32[2], %w: f32[2]) -> (%y) {\n"
        "  %k: f32[2] = Constant[value=tensor f32[2] {3.0, 4.0}]() @k\n"
        "  %w = init f32[2] {1.0, 2.0}\n"
        "  %m = Mul(%w, %k) @m\n"
        "  %y = Add(%x, %m) @add\n"
        "}\n";
    auto g = parse_ok(text);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->info().opset(""), 17);
    EXPECT_EQ(g->info().opset("com.qat"), 1);
    EXPECT_EQ(g->info().graph_name, "my-graph");
    ASSERT_EQ(g->inputs().size(), 2u);
    const ir::Value* w = g->inputs()[1];
    EXPECT_TRUE(w->is_initializer());
    EXPECT_TRUE(w->is_graph_input());
    const ir::Value* k = g->find_value("k");
    ASSERT_TRUE(k->is_constant());
    EXPECT_EQ(k->constant().to_vector<float>(), (std::vector<float>{3.0f, 4.0f}));
    EXPECT_FALSE(k->is_initializer());
    EXPECT_TRUE(ir::verify(*g).ok()) << ir::verify(*g).to_string();
    EXPECT_EQ(ir::print_graph(*g), text);
}

TEST(TextForm, OmittedPayloadsFillWithSeededPattern) {
    const char* text = "graph g(%x: f32[64]) -> (%y) { %w = init f32[64]\n %y = Add(%x, %w) @a }";
    ir::ParseOptions o;
    o.fill = ir::ParseOptions::Fill::kSeeded;
    o.seed = 3;
    auto a = parse_ok(text, o), b = parse_ok(text, o);
    o.seed = 4;
    auto c = parse_ok(text, o);
    ASSERT_TRUE(a && b && c);
    std::vector<float> wa = a->find_value("w")->constant().to_vector<float>();
    EXPECT_EQ(wa, b->find_value("w")->constant().to_vector<float>());
    EXPECT_NE(wa, c->find_value("w")->constant().to_vector<float>());
    int nonzero = 0;
    for (float v : wa) {
        EXPECT_GE(v, -1.0f);
        EXPECT_LT(v, 1.0f);
        nonzero += v != 0.0f;
    }
    EXPECT_GT(nonzero, 60);
}

TEST(TextForm, ForwardReferencesAllowACycleThatVerifyRejects) {
    auto g = parse_ok(R"(graph g(%x: f32[2]) -> (%b) {
      %a = Add(%x, %b) @first
      %b = Relu(%a) @second
    })");
    ASSERT_NE(g, nullptr);
    Status s = ir::verify(*g);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("cycle"), std::string::npos) << s.message();
    std::string text = ir::print_graph(*g);  // must not hang or crash
    EXPECT_NE(text.find("cycle"), std::string::npos) << text;
}

TEST(TextForm, ParseErrorsNameLineAndColumn) {
    EXPECT_EQ(parse_error("graph g(%x: f33[2]) -> (%x) {}"),
              "line 1:13: unknown dtype 'f33' (expected f32, f16, f64, i8, u8, i16, i32, i64, bool or ?)");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%y) {\n  %y = Relu(%x @r\n}"), "line 2:16: expected ')', got '@r'");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%y) {\n  %y = Relu(%z) @r\n}"),
              "line 2:13: value %z is not defined");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%y) {\n  %y = Relu(%x)\n  %y = Relu(%x)\n}"),
              "line 3:3: value %y is defined twice (first at line 2:3)");
    EXPECT_EQ(parse_error("graph g() -> (%w) {\n  %w = init f32[3] {1.0, 2.0}\n}"),
              "line 2:20: payload has 2 values, the type f32[3] needs 3");
    EXPECT_EQ(parse_error("graph g() -> (%w) {\n  %w = init i8[1] {200}\n}"),
              "line 2:20: value 200 is out of range for i8");
    EXPECT_EQ(parse_error("graph g() -> (%w) {\n  %w = init f32[N]\n}"),
              "line 2:13: a tensor needs a static shape, got [N]");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%y) {\n  %y = Relu[mode=\"abc](%x)\n}"),
              "line 2:18: unterminated string");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%y) {\n  %y = Relu[k=[]](%x)\n}"),
              "line 2:15: an empty list needs its kind: ints[], floats[] or strings[]");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%y) {\n  %y = Relu(%x) $\n}"),
              "line 2:17: unexpected character '$'");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%y) {\n  %y = Relu(%x)\n"),
              "line 3:1: expected '}' closing the graph, got end of text");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%q) {\n}\n"), "line 1:25: value %q is not defined");
    EXPECT_EQ(parse_error("graph g(%x: f32[2]) -> (%y) {\n  %y = Relu[a=1, a=2](%x)\n}"),
              "line 2:18: attribute 'a' given twice");
}

TEST(SameStructure, IgnoresNamesButNotWiringAttributesOrPayloads) {
    const char* base = R"(graph g(%x: f32[N,4]) -> (%y) {
      %w = init f32[4] {1.0, 2.0, 3.0, 4.0}
      %a = Mul(%x, %w) @mul
      %b = Relu(%a) @relu
      %y = Sub(%b, %x) @sub
    })";
    auto g = parse_ok(base);
    // Same graph, other intermediate and node names.
    auto renamed = parse_ok(R"(graph g(%x: f32[N,4]) -> (%y) {
      %weights = init f32[4] {1.0, 2.0, 3.0, 4.0}
      %t0 = Mul(%x, %weights) @m0
      %t1 = Relu(%t0) @r0
      %y = Sub(%t1, %x) @s0
    })");
    std::string diff;
    EXPECT_TRUE(ir::same_structure(*g, *renamed, &diff)) << diff;
    ir::CompareOptions with_names;
    with_names.names = true;
    EXPECT_FALSE(ir::same_structure(*g, *renamed, &diff, with_names));

    // Operands swapped: Sub is not commutative.
    auto swapped = parse_ok(R"(graph g(%x: f32[N,4]) -> (%y) {
      %w = init f32[4] {1.0, 2.0, 3.0, 4.0}
      %a = Mul(%x, %w) @mul
      %b = Relu(%a) @relu
      %y = Sub(%x, %b) @sub
    })");
    EXPECT_FALSE(ir::same_structure(*g, *swapped, &diff));
    EXPECT_NE(diff.find("Sub"), std::string::npos) << diff;

    // A payload changed.
    auto payload = parse_ok(R"(graph g(%x: f32[N,4]) -> (%y) {
      %w = init f32[4] {1.0, 2.0, 3.0, 5.0}
      %a = Mul(%x, %w) @mul
      %b = Relu(%a) @relu
      %y = Sub(%b, %x) @sub
    })");
    EXPECT_FALSE(ir::same_structure(*g, *payload, &diff));
    ir::CompareOptions no_payloads;
    no_payloads.payloads = false;
    EXPECT_TRUE(ir::same_structure(*g, *payload, &diff, no_payloads)) << diff;

    // An attribute added.
    auto attr = parse_ok(R"(graph g(%x: f32[N,4]) -> (%y) {
      %w = init f32[4] {1.0, 2.0, 3.0, 4.0}
      %a = Mul(%x, %w) @mul
      %b = Relu[alpha=0.0](%a) @relu
      %y = Sub(%b, %x) @sub
    })");
    EXPECT_FALSE(ir::same_structure(*g, *attr, &diff));
    EXPECT_NE(diff.find("line 5"), std::string::npos) << diff;  // after the opset and graph lines, the init
}

TEST(SameStructure, LargePayloadsAreComparedByDigest) {
    auto make = [](float last) {
        ir::Graph* g = new ir::Graph();
        std::vector<float> v(100, 0.5f);
        v.back() = last;
        ir::Value* x = g->add_input("x", DataType::kFloat32, Shape{100});
        ir::Value* w = g->add_initializer("w", Tensor::from_vector<float>({100}, v));
        g->add_output(g->add_node("Add", {x, w}, {"y"})->output(0));
        return std::unique_ptr<ir::Graph>(g);
    };
    auto a = make(1.0f), b = make(1.0f), c = make(2.0f);
    EXPECT_TRUE(ir::same_structure(*a, *b));
    EXPECT_FALSE(ir::same_structure(*a, *c));
}
