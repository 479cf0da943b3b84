// ONNX export of graphs built in code: ONNX's checker and strict shape inference are the
// oracle for validity, python onnx (an independent reader) for the content.
#include "onnx/onnx_export.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/file_util.h"
#include "onnx/onnx_import.h"

using namespace qat;
namespace fs = std::filesystem;
namespace qonnx = qat::onnx;

namespace {

fs::path temp_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("qat_onnx_export_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// x[N,3,8,8] -> Conv(w, b, pads 1) -> Relu -> y
std::unique_ptr<ir::Graph> conv_relu() {
    auto g = std::make_unique<ir::Graph>();
    ir::Value* x = g->add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3, 8, 8});
    Tensor w = Tensor::empty(DataType::kFloat32, {4, 3, 3, 3});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = static_cast<float>(i % 7) * 0.1f - 0.3f;
    ir::Value* wv = g->add_initializer("w", w);
    ir::Value* bv = g->add_initializer("b", Tensor::from_vector<float>({4}, {0.1f, 0.2f, 0.3f, 0.4f}));
    ir::Node* conv = g->add_node("Conv", {x, wv, bv}, {"c"}, "conv");
    conv->set_attr("pads", ir::Attribute::from_ints({1, 1, 1, 1}));
    conv->set_attr("kernel_shape", ir::Attribute::from_ints({3, 3}));
    ir::Node* relu = g->add_node("Relu", {conv->output(0)}, {"y"}, "relu");
    relu->output(0)->set_dtype(DataType::kFloat32);
    relu->output(0)->set_shape(Shape{Dim::symbolic("N"), 4, 8, 8});
    g->add_output(relu->output(0));
    return g;
}

::onnx::ModelProto parse(const std::string& bytes) {
    ::onnx::ModelProto m;
    EXPECT_TRUE(m.ParseFromString(bytes));
    return m;
}

}  // namespace

TEST(OnnxExport, BuiltGraphPassesCheckerAndReimports) {
    auto g = conv_relu();
    Status s = qonnx::check_model(*g);
    EXPECT_TRUE(s.ok()) << s.to_string();
    auto bytes = qonnx::export_model_bytes(*g, {.check = true});
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    ::onnx::ModelProto m = parse(*bytes);
    EXPECT_EQ(m.ir_version(), 8);
    ASSERT_EQ(m.opset_import_size(), 1);
    EXPECT_EQ(m.opset_import(0).version(), 13);
    EXPECT_EQ(m.graph().node_size(), 2);
    EXPECT_EQ(m.graph().initializer_size(), 2);
    EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
    auto back = qonnx::import_model_bytes(*bytes, "exported");
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_TRUE((*back)->find_value("w")->constant().equals(g->find_value("w")->constant()));
    EXPECT_EQ((*back)->find_node("conv")->attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ((*back)->outputs()[0]->shape(), (Shape{Dim::symbolic("N"), 4, 8, 8}));
}

TEST(OnnxExport, CheckerAndStrictShapeInferenceErrorsBecomeStatus) {
    {
        // Relu takes one input: the checker says so.
        auto g = conv_relu();
        g->append_input(g->find_node("relu"), g->find_value("b"));
        Status s = qonnx::check_model(*g);
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.message().find("ONNX checker"), std::string::npos) << s.message();
        EXPECT_EQ(s.message().find('\n'), std::string::npos) << "one line";
        EXPECT_FALSE(qonnx::export_model_bytes(*g, {.check = true}).ok());
        EXPECT_TRUE(qonnx::export_model_bytes(*g).ok());  // checks are opt-in
    }
    {
        // Valid structure, impossible shapes: only strict shape inference notices.
        ir::Graph g;
        ir::Value* a = g.add_input("a", DataType::kFloat32, Shape{2, 3});
        ir::Value* b = g.add_input("b", DataType::kFloat32, Shape{4});
        ir::Node* add = g.add_node("Add", {a, b}, {"y"}, "add");
        add->output(0)->set_dtype(DataType::kFloat32);
        add->output(0)->set_shape(Shape{2, 3});  // the checker wants graph outputs to have a shape
        g.add_output(add->output(0));
        Status s = qonnx::check_model(g);
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.message().find("shape inference"), std::string::npos) << s.message();
    }
    {
        // Type check: Add of float and int64.
        ir::Graph g;
        ir::Value* a = g.add_input("a", DataType::kFloat32, Shape{2});
        ir::Value* b = g.add_input("b", DataType::kInt64, Shape{2});
        ir::Node* add = g.add_node("Add", {a, b}, {"y"}, "add");
        add->output(0)->set_dtype(DataType::kFloat32);
        add->output(0)->set_shape(Shape{2});
        g.add_output(add->output(0));
        Status s = qonnx::check_model(g);
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.message().find("shape inference"), std::string::npos) << s.message();
    }
}

// A pass that replaces a Constant's payload (set_constant) is what export writes.
TEST(OnnxExport, ConstantPayloadWins) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2});
    ir::Node* c = g.add_node("Constant", {}, {"k"}, "const");
    c->set_attr("value_floats", ir::Attribute::from_floats({1.0f, 2.0f}));
    c->output(0)->set_constant(Tensor::from_vector<float>({2}, {1.0f, 2.0f}));
    ir::Node* mul = g.add_node("Mul", {x, c->output(0)}, {"y"}, "mul");
    mul->output(0)->set_dtype(DataType::kFloat32);
    mul->output(0)->set_shape(Shape{2});
    g.add_output(mul->output(0));
    {
        auto bytes = qonnx::export_model_bytes(g, {.check = true});
        ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
        auto m = parse(*bytes);
        ASSERT_EQ(m.graph().node(0).attribute(0).name(), "value_floats");  // unchanged payload: as imported
    }
    c->output(0)->set_constant(Tensor::from_vector<float>({2}, {5.0f, -6.0f}));
    auto bytes = qonnx::export_model_bytes(g, {.check = true});
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    auto m = parse(*bytes);
    ASSERT_EQ(m.graph().node(0).attribute_size(), 1);
    EXPECT_EQ(m.graph().node(0).attribute(0).name(), "value");
    auto back = qonnx::import_model_bytes(*bytes, "re");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ((*back)->find_value("k")->constant().to_vector<float>(), (std::vector<float>{5.0f, -6.0f}));
}

// Nodes are written in topological order, stable: independent nodes keep their list order.
TEST(OnnxExport, NodesInStableTopologicalOrder) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2});
    ir::Node* a = g.add_node("Relu", {x}, {"a"}, "a");
    ir::Node* b = g.add_node("Neg", {a->output(0)}, {"b"}, "b");
    ir::Node* c = g.add_node("Abs", {x}, {"c"}, "c");
    ir::Node* d = g.add_node("Add", {b->output(0), c->output(0)}, {"d"}, "d");
    g.add_output(d->output(0));
    g.move_before(d, a);  // list order now d, a, b, c
    auto bytes = qonnx::export_model_bytes(g);
    ASSERT_TRUE(bytes.ok());
    auto m = parse(*bytes);
    std::vector<std::string> order;
    for (const auto& n : m.graph().node()) order.push_back(n.name());
    EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(OnnxExport, ValueInfoAndOpsetImports) {
    auto g = conv_relu();
    g->find_value("c")->set_dtype(DataType::kFloat32);
    g->find_value("c")->set_shape(Shape{Dim::symbolic("N"), 4, 8, 8});
    // A node of a domain nobody imported gets an import, so the checker can resolve it.
    ir::Node* custom = g->add_node("MyOp", {g->find_value("y")}, {"z"}, "custom", "com.example");
    (void)custom;
    auto bytes = qonnx::export_model_bytes(*g);
    ASSERT_TRUE(bytes.ok());
    auto m = parse(*bytes);
    ASSERT_EQ(m.graph().value_info_size(), 1);
    EXPECT_EQ(m.graph().value_info(0).name(), "c");
    EXPECT_EQ(m.graph().value_info(0).type().tensor_type().shape().dim(1).dim_value(), 4);
    bool has_example = false;
    for (const auto& o : m.opset_import()) has_example |= o.domain() == "com.example";
    EXPECT_TRUE(has_example);
    auto no_vi = qonnx::export_model_bytes(*g, {.value_info = false});
    ASSERT_TRUE(no_vi.ok());
    EXPECT_EQ(parse(*no_vi).graph().value_info_size(), 0);
}

// IR 3 requires initializers to be inputs; an initializer added in code makes export write IR 4.
TEST(OnnxExport, OldIrVersionIsRaisedWhenInitializersAreNotInputs) {
    auto g = conv_relu();
    g->info().ir_version = 3;
    g->info().set_opset("", 9);
    auto bytes = qonnx::export_model_bytes(*g);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(parse(*bytes).ir_version(), 4);
    EXPECT_TRUE(qonnx::check_model_bytes(*bytes).ok()) << qonnx::check_model_bytes(*bytes).to_string();
}

TEST(OnnxExport, SaveIsAtomicAndChecksThePathFirst) {
    fs::path d = temp_dir("save");
    std::string path = (d / "m.onnx").string();
    auto g = conv_relu();
    ASSERT_TRUE(qonnx::save_model(*g, path, {.check = true}).ok());
    auto first = read_file(path);
    ASSERT_TRUE(first.ok());
    // A failing export (checker error) leaves the existing file as it was, and no temp files.
    auto bad = conv_relu();
    bad->append_input(bad->find_node("relu"), bad->find_value("b"));
    EXPECT_FALSE(qonnx::save_model(*bad, path, {.check = true}).ok());
    EXPECT_EQ(*read_file(path), *first);
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(d)) files += e.is_regular_file();
    EXPECT_EQ(files, 1u);
    Status s = qonnx::save_model(*g, (d / "missing_dir" / "m.onnx").string());
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("missing_dir"), std::string::npos);
    EXPECT_FALSE(qonnx::save_model(*g, d.string()).ok());  // a directory
    fs::remove_all(d);
}

// python onnx reads what we wrote: same graph, same initializer values, checker passes.
TEST(OnnxExport, PythonOnnxReadsTheExport) {
    if (std::system("/usr/bin/python3 -c 'import onnx, numpy' >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "/usr/bin/python3 with onnx and numpy not available: no independent reader";
    fs::path d = temp_dir("python");
    std::string path = (d / "m.onnx").string();
    ASSERT_TRUE(qonnx::save_model(*conv_relu(), path).ok());
    std::string script = R"(
import sys, onnx, numpy as np
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m)
onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
assert [n.op_type for n in m.graph.node] == ['Conv', 'Relu'], m.graph.node
inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
w = (np.arange(4 * 3 * 3 * 3) % 7).astype(np.float32) * np.float32(0.1) - np.float32(0.3)
assert np.array_equal(inits['w'].ravel(), w), inits['w']
assert np.array_equal(inits['b'], np.array([0.1, 0.2, 0.3, 0.4], np.float32))
attrs = {a.name: list(a.ints) for a in m.graph.node[0].attribute}
assert attrs == {'kernel_shape': [3, 3], 'pads': [1, 1, 1, 1]}, attrs
)";
    ASSERT_TRUE(write_file_atomic((d / "check.py").string(), script).ok());
    EXPECT_EQ(std::system(("/usr/bin/python3 " + (d / "check.py").string() + " " + path).c_str()), 0);
    fs::remove_all(d);
}
