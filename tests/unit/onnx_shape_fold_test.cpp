// infer_shapes on the shape subgraphs tf2onnx writes (found importing M-LSD from npm
// jp.keijiro.mlsd): a Pad whose pads come from Split of a constant and a Concat of the pieces, and
// Resize whose sizes come from Shape -> Slice -> Concat. ONNX 1.12 alone leaves every dim after
// those nodes unknown; infer_shapes folds the small integer subgraphs and infers through them.
// Expected shapes are computed in the test from the ops' definitions.
#include <gtest/gtest.h>

#include "onnx/shape_inference.h"

using namespace qat;
namespace qonnx = qat::onnx;

namespace {

ir::Node* conv1x1(ir::Graph& g, ir::Value* x, int64_t cin, int64_t cout, const std::string& name) {
    ir::Value* w = g.add_initializer(name + ".w", Tensor::zeros(DataType::kFloat32, {cout, cin, 1, 1}));
    return g.add_node("Conv", {x, w}, {name}, name);
}

}  // namespace

// M-LSD's block_1_pad: const [8] -> Split into eight [1] -> Concat in another order -> Pad.
TEST(OnnxShapeFold, PadFromSplitOfConstantAndConcat) {
    ir::Graph g;
    g.info().opsets = {{"", 11}};
    const int64_t H = 6, W = 7;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{1, 4, H, W});
    const std::vector<int64_t> raw = {0, 0, 0, 0, 0, 1, 1, 0};
    ir::Value* c = g.add_initializer("c", Tensor::from_vector<int64_t>({8}, raw));
    std::vector<std::string> pieces;
    for (int i = 0; i < 8; ++i) pieces.push_back("p" + std::to_string(i));
    ir::Node* split = g.add_node("Split", {c}, pieces, "split");
    split->set_attr("axis", ir::Attribute::from_int(0));
    split->set_attr("split", ir::Attribute::from_ints({1, 1, 1, 1, 1, 1, 1, 1}));
    const std::vector<int> order = {0, 3, 1, 2, 4, 7, 5, 6};
    std::vector<ir::Value*> cat_in;
    for (int i : order) cat_in.push_back(split->output(i));
    ir::Node* cat = g.add_node("Concat", cat_in, {"pads"}, "cat");
    cat->set_attr("axis", ir::Attribute::from_int(0));
    ir::Node* pad = g.add_node("Pad", {x, cat->output(0)}, {"padded"}, "pad");
    ir::Node* conv = conv1x1(g, pad->output(0), 4, 8, "conv");
    g.add_output(conv->output(0));
    const size_t nodes_before = g.nodes().size();

    Status s = qonnx::infer_shapes(g);
    ASSERT_TRUE(s.ok()) << s.to_string();
    // pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] in ONNX's order.
    std::vector<int64_t> pads;
    for (int i : order) pads.push_back(raw[static_cast<size_t>(i)]);
    const Shape expect{1 + pads[0] + pads[4], 4 + pads[1] + pads[5], H + pads[2] + pads[6], W + pads[3] + pads[7]};
    EXPECT_EQ(g.find_value("padded")->shape(), expect);
    EXPECT_EQ(g.find_value("conv")->shape(), (Shape{expect[0], 8, expect[2], expect[3]}));
    EXPECT_EQ(g.find_value("pads")->shape(), (Shape{8}));
    EXPECT_EQ(g.find_value("pads")->dtype(), DataType::kInt64);
    // Only shapes are written: no node is removed and no value becomes a constant.
    EXPECT_EQ(g.nodes().size(), nodes_before);
    EXPECT_FALSE(g.find_value("pads")->is_constant());
}

// M-LSD's upsampling: sizes = Concat(Slice(Shape(x), 0, 2), const [2H, 2W]) -> Resize, twice in
// a row, so the second Shape only becomes static after the first Resize is inferred.
TEST(OnnxShapeFold, ResizeSizesFromShapeSliceConcatChained) {
    ir::Graph g;
    g.info().opsets = {{"", 11}};
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{1, 3, 5, 5});
    ir::Value* empty = g.add_initializer("empty", Tensor::zeros(DataType::kFloat32, {0}));
    ir::Value* zero = g.add_initializer("zero", Tensor::from_vector<int64_t>({1}, {0}));
    ir::Value* two = g.add_initializer("two", Tensor::from_vector<int64_t>({1}, {2}));
    ir::Value* v = conv1x1(g, x, 3, 8, "conv0")->output(0);
    int64_t hw = 5;
    for (int k = 0; k < 2; ++k) {
        const std::string p = "up" + std::to_string(k);
        ir::Node* shp = g.add_node("Shape", {v}, {p + ".shape"}, p + ".shape");
        ir::Node* sl = g.add_node("Slice", {shp->output(0), zero, two}, {p + ".nc"}, p + ".slice");
        ir::Value* hw2 = g.add_initializer(p + ".hw", Tensor::from_vector<int64_t>({2}, {2 * hw, 2 * hw}));
        ir::Node* cat = g.add_node("Concat", {sl->output(0), hw2}, {p + ".sizes"}, p + ".cat");
        cat->set_attr("axis", ir::Attribute::from_int(0));
        ir::Node* rs = g.add_node("Resize", {v, empty, empty, cat->output(0)}, {p + ".out"}, p + ".resize");
        rs->set_attr("mode", ir::Attribute::from_string("linear"));
        v = conv1x1(g, rs->output(0), 8, 8, p + ".conv")->output(0);
        hw *= 2;
    }
    g.add_output(v);

    Status s = qonnx::infer_shapes(g);
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(g.find_value("up0.out")->shape(), (Shape{1, 8, 10, 10}));
    EXPECT_EQ(g.find_value("up1.out")->shape(), (Shape{1, 8, 20, 20}));
    EXPECT_EQ(g.outputs()[0]->shape(), (Shape{1, 8, 20, 20}));
}

// Opset 9 forms: Slice with attributes, Unsqueeze with an axes attribute, Gather of a scalar
// index, and integer arithmetic, feeding a Reshape target.
TEST(OnnxShapeFold, Opset9ShapeArithmeticFeedsReshape) {
    ir::Graph g;
    g.info().opsets = {{"", 9}};
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2, 3, 4, 5});
    ir::Value* r = g.add_node("Relu", {x}, {"r"}, "relu")->output(0);
    ir::Node* shp = g.add_node("Shape", {r}, {"s"}, "shape");
    ir::Node* sl = g.add_node("Slice", {shp->output(0)}, {"s01"}, "slice");
    sl->set_attr("starts", ir::Attribute::from_ints({0}));
    sl->set_attr("ends", ir::Attribute::from_ints({1}));
    sl->set_attr("axes", ir::Attribute::from_ints({0}));
    ir::Value* idx = g.add_initializer("idx", Tensor::scalar<int64_t>(2));
    ir::Node* gat = g.add_node("Gather", {shp->output(0), idx}, {"h"}, "gather");  // scalar 4
    ir::Value* five = g.add_initializer("five", Tensor::scalar<int64_t>(5));
    ir::Node* mul = g.add_node("Mul", {gat->output(0), five}, {"hw"}, "mul");  // scalar 20
    ir::Node* uns = g.add_node("Unsqueeze", {mul->output(0)}, {"hw1"}, "unsqueeze");
    uns->set_attr("axes", ir::Attribute::from_ints({0}));
    ir::Value* m1 = g.add_initializer("m1", Tensor::from_vector<int64_t>({1}, {-1}));
    ir::Node* cat = g.add_node("Concat", {sl->output(0), m1, uns->output(0)}, {"target"}, "cat");
    cat->set_attr("axis", ir::Attribute::from_int(0));
    ir::Node* rs = g.add_node("Reshape", {r, cat->output(0)}, {"y"}, "reshape");
    g.add_output(rs->output(0));

    Status s = qonnx::infer_shapes(g);
    ASSERT_TRUE(s.ok()) << s.to_string();
    // target = [2, -1, 4 * 5]: 2 * 3 * 4 * 5 / (2 * 20) = 3.
    EXPECT_EQ(g.find_value("y")->shape(), (Shape{2, 3, 20}));
    EXPECT_EQ(g.find_value("hw1")->shape(), (Shape{1}));
}

// A shape subgraph that depends on a symbolic dim cannot fold: the dims it decides stay
// non-static (and nothing fails).
TEST(OnnxShapeFold, SymbolicDimsDoNotFold) {
    ir::Graph g;
    g.info().opsets = {{"", 13}};
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3, 4, 4});
    ir::Node* shp = g.add_node("Shape", {x}, {"s"}, "shape");
    ir::Value* zero = g.add_initializer("zero", Tensor::from_vector<int64_t>({1}, {0}));
    ir::Value* two = g.add_initializer("two", Tensor::from_vector<int64_t>({1}, {2}));
    ir::Node* sl = g.add_node("Slice", {shp->output(0), zero, two}, {"nc"}, "slice");
    ir::Value* hw = g.add_initializer("hw", Tensor::from_vector<int64_t>({2}, {8, 8}));
    ir::Node* cat = g.add_node("Concat", {sl->output(0), hw}, {"sizes"}, "cat");
    cat->set_attr("axis", ir::Attribute::from_int(0));
    ir::Node* rs = g.add_node("Resize", {x, nullptr, nullptr, cat->output(0)}, {"y"}, "resize");
    g.add_output(rs->output(0));

    Status s = qonnx::infer_shapes(g);
    ASSERT_TRUE(s.ok()) << s.to_string();
    const Shape& y = g.find_value("y")->shape();
    if (y.rank_known()) {
        ASSERT_EQ(y.rank(), 4u);
        EXPECT_FALSE(y[0].is_static());
    }
}
