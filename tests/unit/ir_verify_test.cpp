// ir::verify(): valid graphs pass; each broken invariant is reported naming the node or value.
#include <gtest/gtest.h>

#include "ir/text_form.h"
#include "ir/verify.h"

using namespace qat;

namespace {

std::unique_ptr<ir::Graph> parse(std::string_view text) {
    auto r = ir::parse_graph(text);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
}

// The verify() message for `text`, or "" when it passes.
std::string verify_text(std::string_view text) {
    auto g = parse(text);
    if (!g) return "<parse error>";
    Status s = ir::verify(*g);
    return s.ok() ? "" : s.message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(Verify, ValidGraphsPass) {
    EXPECT_EQ(verify_text(R"(graph g(%x: f32[N,16,8,8]) -> (%y) {
      %w = init f32[16,1,3,3]
      %b = init f32[16]
      %c: f32[N,16,8,8] = Conv[group=16, pads=[1,1,1,1]](%x, %w, %b) @dw
      %s = init f32[] {0.1}
      %z = init i8[] {0}
      %q: i8[N,16,8,8] = QuantizeLinear(%c, %s, %z) @q
      %d: f32[N,16,8,8] = DequantizeLinear(%q, %s, %z) @dq
      %y = Relu(%d) @relu
    })"),
              "");
    // Per-channel weight quantization along axis 0, int32 bias DQ with int32 zero point.
    EXPECT_EQ(verify_text(R"(graph g(%x: f32[N,3,8,8]) -> (%y) {
      %wq = init i8[8,3,3,3]
      %ws = init f32[8] {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}
      %wz = init i8[8]
      %w: f32[8,3,3,3] = DequantizeLinear[axis=0](%wq, %ws, %wz) @wdq
      %bq = init i32[8]
      %bz = init i32[8]
      %b: f32[8] = DequantizeLinear[axis=0](%bq, %ws, %bz) @bdq
      %y = Conv(%x, %w, %b) @conv
    })"),
              "");
    // Q without zero point produces uint8.
    EXPECT_EQ(verify_text(R"(graph g(%x: f32[4]) -> (%y) {
      %s = init f32[] {0.5}
      %y: u8[4] = QuantizeLinear(%x, %s) @q
    })"),
              "");
}

TEST(Verify, DanglingInputAndUndefinedOutput) {
    std::string m = verify_text(R"(graph g(%x: f32[2]) -> (%y) {
      %d = dangling f32[2]
      %y = Add(%x, %d) @add
    })");
    EXPECT_TRUE(contains(m, "Add 'add': input 1 'd' is not a graph input, an initializer or a node output")) << m;
    m = verify_text(R"(graph g(%x: f32[2]) -> (%x, %d) {
      %d = dangling f32[2]
    })");
    EXPECT_TRUE(contains(m, "graph output 'd' is not a graph input, an initializer or a node output")) << m;
}

TEST(Verify, ValueBothInputAndProduced) {
    auto g = parse(R"(graph g(%x: f32[2]) -> (%y) { %y = Relu(%x) @r })");
    ASSERT_NE(g, nullptr);
    g->mark_input(g->find_value("y"));
    Status s = ir::verify(*g);
    EXPECT_TRUE(contains(s.message(), "'y' is a graph input and the output of Relu 'r'")) << s.message();
}

TEST(Verify, Cycle) {
    std::string m = verify_text(R"(graph g(%x: f32[2]) -> (%b) {
      %a = Add(%x, %b) @first
      %b = Relu(%a) @second
    })");
    EXPECT_TRUE(contains(m, "cycle")) << m;
    EXPECT_TRUE(contains(m, "'first'") || contains(m, "'second'")) << m;
}

TEST(Verify, PayloadMustMatchDeclaredType) {
    auto g = parse(R"(graph g(%x: f32[2]) -> (%y) { %w = init f32[2] {1.0, 2.0}
      %y = Add(%x, %w) @a })");
    ASSERT_NE(g, nullptr);
    g->find_value("w")->set_shape(Shape{3});
    Status s = ir::verify(*g);
    EXPECT_TRUE(contains(s.message(), "value 'w' is declared f32[3] but its payload is f32[2]")) << s.message();
}

TEST(Verify, TiedTypes) {
    std::string m = verify_text(R"(graph g(%x: f32[2], %i: i8[2]) -> (%y) { %y = Add(%x, %i) @add })");
    EXPECT_TRUE(contains(m, "Add 'add': input 1 'i' has dtype i8 but input 0 'x' has f32")) << m;
    m = verify_text(R"(graph g(%x: f32[2]) -> (%y) { %y: i32[2] = Relu(%x) @r })");
    EXPECT_TRUE(contains(m, "Relu 'r': output 0 'y' has dtype i32")) << m;
    // MaxPool's second output (indices) is int64 by definition.
    EXPECT_EQ(verify_text(R"(graph g(%x: f32[1,1,4,4]) -> (%y, %i) {
      %y: f32[1,1,2,2], %i: i64[1,1,2,2] = MaxPool[kernel_shape=[2,2], strides=[2,2]](%x) @mp })"),
              "");
}

TEST(Verify, ConvShapes) {
    std::string m = verify_text(R"(graph g(%x: f32[N,3,8,8]) -> (%y) {
      %w = init f32[8,4,3,3]
      %y = Conv(%x, %w) @conv1 })");
    EXPECT_TRUE(contains(m, "Conv 'conv1': input has 3 channels but weight 'w' [8,4,3,3] with group 1 expects 4")) << m;
    m = verify_text(R"(graph g(%x: f32[N,3,8,8]) -> (%y) {
      %w = init f32[8,3,3,3]
      %b = init f32[4]
      %y = Conv(%x, %w, %b) @conv1 })");
    EXPECT_TRUE(contains(m, "bias 'b' has 4 entries but the weight has 8 output channels")) << m;
}

TEST(Verify, QuantizeLinearParameters) {
    // Zero point of the wrong dtype.
    std::string m = verify_text(R"(graph g(%x: f32[4]) -> (%y) {
      %s = init f32[] {0.5}
      %z = init i16[] {0}
      %y = QuantizeLinear(%x, %s, %z) @q })");
    EXPECT_TRUE(contains(m, "QuantizeLinear 'q': y_zero_point 'z' must be int8 or uint8, got i16")) << m;
    // Zero point shape differs from the scale's.
    m = verify_text(R"(graph g(%x: f32[2,4]) -> (%y) {
      %s = init f32[4] {0.5, 0.5, 0.5, 0.5}
      %z = init i8[]
      %y = QuantizeLinear(%x, %s, %z) @q })");
    EXPECT_TRUE(contains(m, "y_zero_point 'z' has shape [] but y_scale 's' has [4]")) << m;
    // 2-D scale.
    m = verify_text(R"(graph g(%x: f32[2,2]) -> (%y) {
      %s = init f32[2,2] {0.5, 0.5, 0.5, 0.5}
      %y = QuantizeLinear(%x, %s) @q })");
    EXPECT_TRUE(contains(m, "y_scale 's' must be a scalar or 1-D, got [2,2]")) << m;
    // Output dtype differs from the zero point's.
    m = verify_text(R"(graph g(%x: f32[4]) -> (%y) {
      %s = init f32[] {0.5}
      %z = init u8[] {128}
      %y: i8[4] = QuantizeLinear(%x, %s, %z) @q })");
    EXPECT_TRUE(contains(m, "output 'y' is i8 but y_zero_point 'z' is u8")) << m;
    // No zero point: the output is uint8, int8 is wrong.
    m = verify_text(R"(graph g(%x: f32[4]) -> (%y) {
      %s = init f32[] {0.5}
      %y: i8[4] = QuantizeLinear(%x, %s) @q })");
    EXPECT_TRUE(contains(m, "without a zero point QuantizeLinear produces uint8")) << m;
    // Non-positive scale.
    m = verify_text(R"(graph g(%x: f32[4]) -> (%y) {
      %s = init f32[] {0.0}
      %z = init i8[] {0}
      %y = QuantizeLinear(%x, %s, %z) @q })");
    EXPECT_TRUE(contains(m, "y_scale 's' must be positive and finite")) << m;
    // Integer scale.
    m = verify_text(R"(graph g(%x: f32[4]) -> (%y) {
      %s = init i32[] {1}
      %y = QuantizeLinear(%x, %s) @q })");
    EXPECT_TRUE(contains(m, "y_scale 's' must be float, got i32")) << m;
}

TEST(Verify, PerAxisScaleLength) {
    auto g = parse(R"(graph g() -> (%w) {
      %wq = init i8[16,3,3,3]
      %s = init f32[8] {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}
      %z = init i8[8]
      %w = DequantizeLinear[axis=0](%wq, %s, %z) @wdq })");
    ASSERT_NE(g, nullptr);
    Status s = ir::verify(*g);
    EXPECT_TRUE(contains(s.message(),
                         "DequantizeLinear 'wdq': x_scale 's' has 8 entries but input 'wq' [16,3,3,3] "
                         "has 16 along axis 0"))
        << s.message();
    // Default axis is 1.
    std::string m = verify_text(R"(graph g(%x: f32[N,4,2,2]) -> (%y) {
      %s = init f32[3] {1.0, 1.0, 1.0}
      %z = init i8[3]
      %y = QuantizeLinear(%x, %s, %z) @q })");
    EXPECT_TRUE(contains(m, "has 3 entries but input 'x' [N,4,2,2] has 4 along axis 1")) << m;
    // Axis out of range; negative axis counts from the end.
    m = verify_text(R"(graph g(%x: f32[N,4]) -> (%y) {
      %s = init f32[4] {1.0, 1.0, 1.0, 1.0}
      %z = init i8[4]
      %y = QuantizeLinear[axis=2](%x, %s, %z) @q })");
    EXPECT_TRUE(contains(m, "axis 2 is out of range for input 'x' of rank 2")) << m;
    EXPECT_EQ(verify_text(R"(graph g(%x: f32[N,4]) -> (%y) {
      %s = init f32[4] {1.0, 1.0, 1.0, 1.0}
      %z = init i8[4]
      %y = QuantizeLinear[axis=-1](%x, %s, %z) @q })"),
              "");
}

TEST(Verify, DequantizeLinearTypes) {
    // int32 input needs an int32 zero point.
    std::string m = verify_text(R"(graph g() -> (%b) {
      %bq = init i32[4]
      %s = init f32[] {0.1}
      %z = init i8[]
      %b = DequantizeLinear(%bq, %s, %z) @bdq })");
    EXPECT_TRUE(contains(m, "input 'bq' is i32 but x_zero_point 'z' is i8")) << m;
    m = verify_text(R"(graph g(%x: f32[4]) -> (%y) {
      %s = init f32[] {0.1}
      %y = DequantizeLinear(%x, %s) @dq })");
    EXPECT_TRUE(contains(m, "DequantizeLinear 'dq': input 'x' must be int8, uint8 or int32, got f32")) << m;
}

TEST(Verify, ReportsCountOfFurtherProblems) {
    std::string m = verify_text(R"(graph g(%x: f32[2]) -> (%y) {
      %d = dangling f32[2]
      %e = dangling f32[2]
      %a = Add(%x, %d) @a1
      %y = Add(%a, %e) @a2
    })");
    EXPECT_TRUE(contains(m, "(and 1 more problems)")) << m;
    auto g = parse(R"(graph g(%x: f32[2]) -> (%y) {
      %d = dangling f32[2]
      %e = dangling f32[2]
      %a = Add(%x, %d) @a1
      %y = Add(%a, %e) @a2
    })");
    EXPECT_EQ(ir::verify_all(*g).size(), 2u);
}

TEST(Verify, FusedOps) {
    // A valid QConv with int8 output.
    EXPECT_EQ(verify_text(R"(graph g(%x: i8[N,3,8,8]) -> (%y) {
      %w = init i8[4,3,1,1]
      %y: i8[N,4,8,8] = com.qat::QConv[kernel_shape=[1,1], out_dtype=3, w_scales=[0.5], x_scale=0.1,
                                       x_zero_point=0, y_scale=0.2, y_zero_point=0](%x, %w) @qc })"),
              "");
    // Zero input scale.
    std::string m = verify_text(R"(graph g(%x: i8[N,3,8,8]) -> (%y) {
      %w = init i8[4,3,1,1]
      %y = com.qat::QConv[kernel_shape=[1,1], out_dtype=1, w_scales=[0.5], x_scale=0.0](%x, %w) @qc })");
    EXPECT_TRUE(contains(m, "QConv 'qc'")) << m;
    EXPECT_TRUE(contains(m, "x_scale")) << m;
    // Output declared float although out_dtype says int8.
    m = verify_text(R"(graph g(%x: i8[N,3,8,8]) -> (%y) {
      %w = init i8[4,3,1,1]
      %y: f32[N,4,8,8] = com.qat::QConv[kernel_shape=[1,1], out_dtype=3, w_scales=[0.5], x_scale=0.1,
                                        y_scale=0.2](%x, %w) @qc })");
    EXPECT_TRUE(contains(m, "QConv 'qc': output 'y' is f32 but out_dtype says i8")) << m;
}
