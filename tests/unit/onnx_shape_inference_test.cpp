// infer_shapes: ONNX's inference written back onto the IR. Expected shapes are computed in the
// test from the ops' definitions (output size = floor((in + pads - kernel) / stride) + 1, ...).
#include <gtest/gtest.h>

#include "onnx/shape_inference.h"

using namespace qat;
namespace qonnx = qat::onnx;

TEST(OnnxShapeInference, ConvChainKeepsSymbolicBatch) {
    ir::Graph g;
    const int64_t H = 32, K = 3, P = 1, S = 2, C_out = 8;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3, H, H});
    ir::Value* w = g.add_initializer("w", Tensor::zeros(DataType::kFloat32, {C_out, 3, K, K}));
    ir::Node* conv = g.add_node("Conv", {x, w}, {"c"}, "conv");
    conv->set_attr("pads", ir::Attribute::from_ints({P, P, P, P}));
    conv->set_attr("strides", ir::Attribute::from_ints({S, S}));
    ir::Node* relu = g.add_node("Relu", {conv->output(0)}, {"r"}, "relu");
    ir::Node* pool = g.add_node("GlobalAveragePool", {relu->output(0)}, {"p"}, "pool");
    ir::Node* flat = g.add_node("Flatten", {pool->output(0)}, {"f"}, "flat");
    ir::Value* fc_w = g.add_initializer("fc_w", Tensor::zeros(DataType::kFloat32, {10, C_out}));
    ir::Node* gemm = g.add_node("Gemm", {flat->output(0), fc_w}, {"y"}, "fc");
    gemm->set_attr("transB", ir::Attribute::from_int(1));
    g.add_output(gemm->output(0));

    Status s = qonnx::infer_shapes(g);
    ASSERT_TRUE(s.ok()) << s.to_string();
    const int64_t out = (H + 2 * P - K) / S + 1;
    EXPECT_EQ(g.find_value("c")->dtype(), DataType::kFloat32);
    EXPECT_EQ(g.find_value("c")->shape(), (Shape{Dim::symbolic("N"), C_out, out, out}));
    EXPECT_EQ(g.find_value("r")->shape(), (Shape{Dim::symbolic("N"), C_out, out, out}));
    EXPECT_EQ(g.find_value("p")->shape(), (Shape{Dim::symbolic("N"), C_out, 1, 1}));
    // Flatten(axis=1) of [N,8,1,1]: the first dim is N*1 = N, which ONNX cannot name: unknown or
    // a generated symbol, never a number.
    const Shape& f = g.find_value("f")->shape();
    ASSERT_EQ(f.rank(), 2u);
    EXPECT_FALSE(f[0].is_static());
    EXPECT_EQ(f[1], Dim(C_out));
    const Shape& y = g.outputs()[0]->shape();
    ASSERT_EQ(y.rank(), 2u);
    EXPECT_EQ(y[1], Dim(10));
    EXPECT_EQ(g.outputs()[0]->dtype(), DataType::kFloat32);
    // Inputs and constants are never touched.
    EXPECT_EQ(x->shape(), (Shape{Dim::symbolic("N"), 3, H, H}));
}

// Reshape with a constant target (-1 resolved from the element count), and the shape tensor
// chain Shape -> Gather -> Concat typed and sized.
TEST(OnnxShapeInference, ReshapeAndShapeArithmetic) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2, 3, 4});
    ir::Value* target = g.add_initializer("target", Tensor::from_vector<int64_t>({2}, {2, -1}));
    ir::Node* reshape = g.add_node("Reshape", {x, target}, {"y"}, "reshape");
    g.add_output(reshape->output(0));
    ir::Node* shp = g.add_node("Shape", {x}, {"s"}, "shape");
    ir::Value* idx = g.add_initializer("idx", Tensor::from_vector<int64_t>({1}, {0}));
    ir::Node* gather = g.add_node("Gather", {shp->output(0), idx}, {"n"}, "gather");
    ir::Value* minus1 = g.add_initializer("m1", Tensor::from_vector<int64_t>({1}, {-1}));
    ir::Node* cat = g.add_node("Concat", {gather->output(0), minus1}, {"t"}, "cat");
    cat->set_attr("axis", ir::Attribute::from_int(0));
    g.add_output(cat->output(0));
    ASSERT_TRUE(qonnx::infer_shapes(g).ok());
    EXPECT_EQ(g.find_value("y")->shape(), (Shape{2, 12}));  // 24 elements / 2
    EXPECT_EQ(g.find_value("s")->shape(), (Shape{3}));      // rank of x
    EXPECT_EQ(g.find_value("s")->dtype(), DataType::kInt64);
    EXPECT_EQ(g.find_value("n")->shape(), (Shape{1}));
    EXPECT_EQ(g.find_value("t")->shape(), (Shape{2}));
}

// Ops ONNX does not know leave their outputs as they were; what ONNX knows downstream of them
// (nothing here) is not invented.
TEST(OnnxShapeInference, UnknownOpsAreLeftAlone) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2, 2});
    ir::Node* custom = g.add_node("Mystery", {x}, {"m"}, "mystery", "com.example");
    ir::Node* relu = g.add_node("Relu", {custom->output(0)}, {"y"}, "relu");
    g.add_output(relu->output(0));
    ir::Node* relu2 = g.add_node("Relu", {x}, {"z"}, "relu2");
    g.add_output(relu2->output(0));
    ASSERT_TRUE(qonnx::infer_shapes(g).ok());
    EXPECT_EQ(g.find_value("m")->dtype(), DataType::kUndefined);
    EXPECT_FALSE(g.find_value("m")->shape().rank_known());
    EXPECT_EQ(g.find_value("z")->shape(), (Shape{2, 2}));
}

// A more precise declared shape is kept; unknown dims are filled in.
TEST(OnnxShapeInference, MergesWithWhatIsKnown) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{4, Dim::symbolic("T")});
    ir::Node* relu = g.add_node("Relu", {x}, {"y"}, "relu");
    relu->output(0)->set_shape(Shape{Dim(), 7});  // a declared value ONNX cannot know
    g.add_output(relu->output(0));
    ASSERT_TRUE(qonnx::infer_shapes(g).ok());
    // dim 0: unknown -> 4 (inferred); dim 1: declared 7 stays (ONNX only knows "T").
    EXPECT_EQ(g.find_value("y")->shape(), (Shape{4, 7}));
}
