// ONNX import: what the graph keeps, and how malformed models are refused. The models are
// written as protobuf messages by the test, so every expected value is the one put in.
#include "onnx/onnx_import.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/file_util.h"
#include "onnx/onnx_export.h"

using namespace qat;
namespace fs = std::filesystem;
namespace qonnx = qat::onnx;
using TP = ::onnx::TensorProto;

namespace {

// Dims as strings: "3" static, "N" symbolic, "?" unknown.
void set_type(::onnx::ValueInfoProto* vi, const std::string& name, int elem, const std::vector<std::string>& dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto* s = tt->mutable_shape();
    for (const auto& d : dims) {
        auto* pd = s->add_dim();
        if (d == "?") continue;
        if (std::isdigit(static_cast<unsigned char>(d[0]))) {
            pd->set_dim_value(std::stoll(d));
        } else {
            pd->set_dim_param(d);
        }
    }
}

struct Model {
    ::onnx::ModelProto m;
    explicit Model(int64_t opset = 13, int64_t ir = 8) {
        m.set_ir_version(ir);
        auto* o = m.add_opset_import();
        o->set_domain("");
        o->set_version(opset);
        m.mutable_graph()->set_name("g");
    }
    ::onnx::GraphProto* g() { return m.mutable_graph(); }
    void input(const std::string& n, const std::vector<std::string>& dims, int elem = TP::FLOAT) {
        set_type(g()->add_input(), n, elem, dims);
    }
    void output(const std::string& n, const std::vector<std::string>& dims, int elem = TP::FLOAT) {
        set_type(g()->add_output(), n, elem, dims);
    }
    ::onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& ins,
                            const std::vector<std::string>& outs, const std::string& name) {
        auto* n = g()->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& i : ins) n->add_input(i);
        for (const auto& o : outs) n->add_output(o);
        return n;
    }
    TP* init(const std::string& n, const std::vector<int64_t>& dims, const std::vector<float>& vals) {
        TP* t = g()->add_initializer();
        t->set_name(n);
        t->set_data_type(TP::FLOAT);
        for (auto d : dims) t->add_dims(d);
        for (float v : vals) t->add_float_data(v);
        return t;
    }
    std::string bytes() const { return m.SerializeAsString(); }
};

::onnx::AttributeProto* attr(::onnx::NodeProto* n, const std::string& name, ::onnx::AttributeProto::AttributeType t) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(t);
    return a;
}

Result<std::unique_ptr<ir::Graph>> import(const Model& m) { return qonnx::import_model_bytes(m.bytes(), "m.onnx"); }

// The import error message for `m` (fails the test when it imports).
std::string import_error(const Model& m) {
    auto r = import(m);
    EXPECT_FALSE(r.ok()) << "expected an import error";
    return r.ok() ? std::string() : r.status().to_string();
}

fs::path temp_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("qat_onnx_import_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// x[N,3] -> Relu -> Add(bias) -> y, with model fields and doc strings.
Model basic_model() {
    Model m(13, 7);
    m.m.set_producer_name("test");
    m.m.set_producer_version("1.2");
    m.m.set_domain("org.example");
    m.m.set_model_version(5);
    m.m.set_doc_string("model doc");
    auto* kv = m.m.add_metadata_props();
    kv->set_key("author");
    kv->set_value("qat");
    m.g()->set_doc_string("graph doc");
    m.input("x", {"N", "3"});
    m.g()->mutable_input(0)->set_doc_string("the input");
    m.init("bias", {3}, {0.5f, -1.0f, 2.0f});
    m.node("Relu", {"x"}, {"r"}, "relu")->set_doc_string("node doc");
    m.node("Add", {"r", "bias"}, {"y"}, "add");
    m.output("y", {"N", "3"});
    set_type(m.g()->add_value_info(), "r", TP::FLOAT, {"N", "?"});
    return m;
}

}  // namespace

TEST(OnnxImport, KeepsModelFieldsTypesAndDocs) {
    auto g = import(basic_model());
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    const ir::ModelInfo& info = (*g)->info();
    EXPECT_EQ(info.ir_version, 7);
    EXPECT_EQ(info.opset(), 13);
    EXPECT_EQ(info.producer_name, "test");
    EXPECT_EQ(info.producer_version, "1.2");
    EXPECT_EQ(info.domain, "org.example");
    EXPECT_EQ(info.model_version, 5);
    EXPECT_EQ(info.doc_string, "model doc");
    EXPECT_EQ(info.graph_name, "g");
    EXPECT_EQ(info.graph_doc_string, "graph doc");
    EXPECT_EQ(info.metadata("author"), std::optional<std::string>("qat"));

    ir::Value* x = (*g)->find_value("x");
    ASSERT_NE(x, nullptr);
    EXPECT_TRUE(x->is_graph_input());
    EXPECT_EQ(x->dtype(), DataType::kFloat32);
    EXPECT_EQ(x->shape(), (Shape{Dim::symbolic("N"), 3}));
    EXPECT_EQ(x->doc_string, "the input");
    ir::Value* r = (*g)->find_value("r");
    EXPECT_EQ(r->dtype(), DataType::kFloat32);  // from value_info
    EXPECT_EQ(r->shape(), (Shape{Dim::symbolic("N"), Dim()}));
    ir::Value* bias = (*g)->find_value("bias");
    ASSERT_TRUE(bias->is_initializer());
    EXPECT_EQ(bias->constant().to_vector<float>(), (std::vector<float>{0.5f, -1.0f, 2.0f}));
    EXPECT_FALSE(bias->is_graph_input());
    ir::Node* relu = (*g)->find_node("relu");
    ASSERT_NE(relu, nullptr);
    EXPECT_EQ(relu->doc_string, "node doc");
    EXPECT_EQ(relu->opset(), 13);
    ASSERT_EQ((*g)->outputs().size(), 1u);
    EXPECT_EQ((*g)->outputs()[0]->name(), "y");
    EXPECT_EQ((*g)->outputs()[0]->producer(), (*g)->find_node("add"));
}

TEST(OnnxImport, LoadsFromFile) {
    fs::path d = temp_dir("file");
    std::string path = (d / "m.onnx").string();
    ASSERT_TRUE(write_file_atomic(path, basic_model().bytes()).ok());
    auto g = qonnx::load_model(path);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ((*g)->num_nodes(), 2u);
    fs::remove_all(d);
}

// IR < 4: the initializer is also listed as a graph input (a default the caller may override).
TEST(OnnxImport, InitializerThatIsAlsoAnInput) {
    Model m(9, 3);
    m.input("x", {"2"});
    m.input("w", {"2"});
    m.init("w", {2}, {1.0f, 2.0f});
    m.node("Mul", {"x", "w"}, {"y"}, "mul");
    m.output("y", {"2"});
    auto g = import(m);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    ir::Value* w = (*g)->find_value("w");
    EXPECT_TRUE(w->is_initializer());
    EXPECT_TRUE(w->is_graph_input());
    ASSERT_EQ((*g)->inputs().size(), 2u);
    EXPECT_EQ((*g)->inputs()[1], w);
    // Export keeps it both an input and an initializer, and the IR version stays 3.
    auto bytes = qonnx::export_model_bytes(**g);
    ASSERT_TRUE(bytes.ok());
    ::onnx::ModelProto out;
    ASSERT_TRUE(out.ParseFromString(*bytes));
    EXPECT_EQ(out.ir_version(), 3);
    EXPECT_EQ(out.graph().input_size(), 2);
    EXPECT_EQ(out.graph().initializer_size(), 1);
    EXPECT_TRUE(qonnx::check_model_bytes(*bytes).ok()) << qonnx::check_model_bytes(*bytes).to_string();

    Model bad = m;
    set_type(bad.g()->mutable_input(1), "w", TP::INT64, {"2"});
    EXPECT_NE(import_error(bad).find("graph input 'w' declares dtype i64 but its initializer holds f32"),
              std::string::npos);
}

TEST(OnnxImport, ConstantNodesCarryTheirPayload) {
    Model m(13);
    auto* c1 = m.node("Constant", {}, {"c_tensor"}, "c1");
    auto* t = attr(c1, "value", ::onnx::AttributeProto::TENSOR)->mutable_t();
    t->set_data_type(TP::FLOAT);
    t->add_dims(2);
    t->add_float_data(1.5f);
    t->add_float_data(-3.0f);
    attr(m.node("Constant", {}, {"c_float"}, "c2"), "value_float", ::onnx::AttributeProto::FLOAT)->set_f(0.25f);
    auto* fl = attr(m.node("Constant", {}, {"c_floats"}, "c3"), "value_floats", ::onnx::AttributeProto::FLOATS);
    fl->add_floats(1.0f);
    fl->add_floats(2.0f);
    attr(m.node("Constant", {}, {"c_int"}, "c4"), "value_int", ::onnx::AttributeProto::INT)->set_i(-7);
    auto* il = attr(m.node("Constant", {}, {"c_ints"}, "c5"), "value_ints", ::onnx::AttributeProto::INTS);
    for (int64_t v : {4, 5, 6}) il->add_ints(v);
    // sparse_value: a 2x3 tensor with 10 at [0,1] and 20 at [1,2] (linear indices 1 and 5)
    auto* sp = attr(m.node("Constant", {}, {"c_sparse"}, "c6"), "sparse_value", ::onnx::AttributeProto::SPARSE_TENSOR)
                   ->mutable_sparse_tensor();
    sp->add_dims(2);
    sp->add_dims(3);
    sp->mutable_values()->set_data_type(TP::FLOAT);
    sp->mutable_values()->add_dims(2);
    sp->mutable_values()->add_float_data(10.0f);
    sp->mutable_values()->add_float_data(20.0f);
    sp->mutable_indices()->set_data_type(TP::INT64);
    sp->mutable_indices()->add_dims(2);
    sp->mutable_indices()->add_int64_data(1);
    sp->mutable_indices()->add_int64_data(5);
    attr(m.node("Constant", {}, {"c_string"}, "c7"), "value_string", ::onnx::AttributeProto::STRING)->set_s("hi");
    for (const char* o : {"c_tensor", "c_float", "c_floats", "c_int", "c_ints", "c_sparse", "c_string"})
        m.output(o, {}, TP::UNDEFINED);
    auto g = import(m);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    auto val = [&](const char* n) { return (*g)->find_value(n); };
    EXPECT_EQ(val("c_tensor")->constant().to_vector<float>(), (std::vector<float>{1.5f, -3.0f}));
    EXPECT_EQ(val("c_tensor")->producer()->op_type(), "Constant");  // kept as a node
    EXPECT_FALSE(val("c_tensor")->is_initializer());
    EXPECT_EQ(val("c_float")->constant().rank(), 0u);
    EXPECT_EQ(val("c_float")->constant().data<float>()[0], 0.25f);
    EXPECT_EQ(val("c_floats")->constant().to_vector<float>(), (std::vector<float>{1.0f, 2.0f}));
    EXPECT_EQ(val("c_int")->constant().data<int64_t>()[0], -7);
    EXPECT_EQ(val("c_ints")->constant().to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6}));
    EXPECT_EQ(val("c_sparse")->constant().dims(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(val("c_sparse")->constant().to_vector<float>(), (std::vector<float>{0, 10, 0, 0, 0, 20}));
    EXPECT_FALSE(val("c_string")->is_constant());  // no string tensors in qat: kept as a node only
    EXPECT_EQ((*g)->num_nodes(), 7u);
}

// Every attribute kind survives import -> export, byte for byte for the opaque ones.
TEST(OnnxImport, AttributesOfEveryKindRoundTrip) {
    Model m(13);
    m.input("x", {"1"});
    auto* n = m.node("CustomOp", {"x"}, {"y"}, "custom");
    n->set_domain("com.example");
    auto* op = m.m.add_opset_import();
    op->set_domain("com.example");
    op->set_version(1);
    using AP = ::onnx::AttributeProto;
    attr(n, "f", AP::FLOAT)->set_f(1.25f);
    attr(n, "i", AP::INT)->set_i(-3);
    attr(n, "s", AP::STRING)->set_s(std::string("bytes\0here", 10));
    auto* ta = attr(n, "t", AP::TENSOR)->mutable_t();
    ta->set_data_type(TP::INT32);
    ta->add_dims(2);
    int32_t tv[2] = {7, 8};  // raw, as export writes it, so the bytes compare equal
    ta->set_raw_data(std::string(reinterpret_cast<const char*>(tv), sizeof(tv)));
    auto* fs_ = attr(n, "floats", AP::FLOATS);
    fs_->add_floats(0.5f);
    fs_->add_floats(-0.5f);
    auto* is = attr(n, "ints", AP::INTS);
    is->add_ints(1);
    is->add_ints(2);
    auto* ss = attr(n, "strings", AP::STRINGS);
    ss->add_strings("a");
    ss->add_strings("b");
    auto* ga = attr(n, "body", AP::GRAPH)->mutable_g();
    ga->set_name("body");
    auto* bn = ga->add_node();
    bn->set_op_type("Identity");
    bn->add_input("x");
    bn->add_output("z");
    set_type(ga->add_output(), "z", TP::FLOAT, {"1"});
    auto* tp = attr(n, "type", AP::TYPE_PROTO)->mutable_tp();
    tp->mutable_tensor_type()->set_elem_type(TP::FLOAT);
    auto* st = attr(n, "strtensor", AP::TENSOR)->mutable_t();  // a dtype qat lacks: kept opaque
    st->set_data_type(TP::STRING);
    st->add_string_data("s");
    m.output("y", {"1"});

    auto g = import(m);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    const ir::Node* c = (*g)->find_node("custom");
    using K = ir::Attribute::Kind;
    EXPECT_EQ(c->attr("f")->kind, K::kFloat);
    EXPECT_EQ(c->attr_float("f", 0), 1.25f);
    EXPECT_EQ(c->attr_int("i", 0), -3);
    EXPECT_EQ(c->attr_string("s", ""), std::string("bytes\0here", 10));
    EXPECT_EQ(c->attr("t")->kind, K::kTensor);
    EXPECT_EQ(c->attr("t")->t.to_vector<int32_t>(), (std::vector<int32_t>{7, 8}));
    EXPECT_EQ(c->attr_floats("floats"), (std::vector<float>{0.5f, -0.5f}));
    EXPECT_EQ(c->attr_ints("ints"), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(c->attr("strings")->strings, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c->attr("body")->kind, K::kOpaque);
    EXPECT_EQ(c->attr("type")->kind, K::kOpaque);
    EXPECT_EQ(c->attr("strtensor")->kind, K::kOpaque);
    EXPECT_EQ(c->domain(), "com.example");

    auto bytes = qonnx::export_model_bytes(**g);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    ::onnx::ModelProto out;
    ASSERT_TRUE(out.ParseFromString(*bytes));
    ASSERT_EQ(out.graph().node_size(), 1);
    std::map<std::string, std::string> want, got;
    for (const auto& a : m.m.graph().node(0).attribute()) want[a.name()] = a.SerializeAsString();
    for (const auto& a : out.graph().node(0).attribute()) got[a.name()] = a.SerializeAsString();
    EXPECT_EQ(want, got);
}

TEST(OnnxImport, OmittedOptionalInputsAndOutputs) {
    Model m(13);
    m.input("X", {"1", "2", "3"});
    m.init("W", {1, 4, 3}, std::vector<float>(12, 0.1f));
    m.init("R", {1, 4, 1}, std::vector<float>(4, 0.2f));
    auto* rnn = m.node("RNN", {"X", "W", "R", "", "", "h0"}, {"", "Y_h"}, "rnn");
    attr(rnn, "hidden_size", ::onnx::AttributeProto::INT)->set_i(1);
    m.input("h0", {"1", "2", "1"});
    m.output("Y_h", {"1", "2", "1"});
    auto g = import(m);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    const ir::Node* n = (*g)->find_node("rnn");
    ASSERT_EQ(n->num_inputs(), 6u);
    EXPECT_EQ(n->input(3), nullptr);
    EXPECT_EQ(n->input(4), nullptr);
    ASSERT_EQ(n->num_outputs(), 2u);
    EXPECT_TRUE(qonnx::is_omitted_output(*n->output(0)));
    EXPECT_FALSE(qonnx::is_omitted_output(*n->output(1)));
    auto bytes = qonnx::export_model_bytes(**g);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    ::onnx::ModelProto out;
    ASSERT_TRUE(out.ParseFromString(*bytes));
    const auto& on = out.graph().node(0);
    EXPECT_EQ(on.input(3), "");
    EXPECT_EQ(on.input(5), "h0");
    EXPECT_EQ(on.output(0), "");
    EXPECT_EQ(on.output(1), "Y_h");
    EXPECT_TRUE(qonnx::check_model_bytes(*bytes).ok()) << qonnx::check_model_bytes(*bytes).to_string();
}

// ONNX wants sorted nodes, but a node may read a later node's output: we sort, export sorted.
TEST(OnnxImport, UnsortedNodesAreAccepted) {
    Model m(13);
    m.input("x", {"2"});
    m.node("Neg", {"a"}, {"y"}, "second");
    m.node("Relu", {"x"}, {"a"}, "first");
    m.output("y", {"2"});
    auto g = import(m);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    auto bytes = qonnx::export_model_bytes(**g);
    ASSERT_TRUE(bytes.ok());
    ::onnx::ModelProto out;
    ASSERT_TRUE(out.ParseFromString(*bytes));
    EXPECT_EQ(out.graph().node(0).name(), "first");
    EXPECT_EQ(out.graph().node(1).name(), "second");
}

TEST(OnnxImport, MalformedGraphsAreRefused) {
    {
        Model m;
        m.input("x", {"2"});
        m.node("Add", {"x", "missing_w"}, {"y"}, "add1");
        m.output("y", {"2"});
        std::string e = import_error(m);
        EXPECT_NE(e.find("m.onnx: dangling input 'missing_w' of node 'add1' (Add)"), std::string::npos) << e;
    }
    {
        Model m;
        m.input("x", {"2"});
        m.node("Relu", {"x"}, {"y"}, "a");
        m.node("Neg", {"x"}, {"y"}, "b");
        m.output("y", {"2"});
        std::string e = import_error(m);
        EXPECT_NE(e.find("duplicate output name 'y': produced by node 'a' (Relu) and by node 'b' (Neg)"),
                  std::string::npos)
            << e;
    }
    {
        Model m;
        m.input("x", {"2"});
        m.node("Relu", {"x"}, {"x"}, "overwrites_input");
        m.output("x", {"2"});
        std::string e = import_error(m);
        EXPECT_NE(e.find("writes 'x', which is already a graph input"), std::string::npos) << e;
    }
    {
        Model m;  // a -> b -> a
        m.input("x", {"2"});
        m.node("Add", {"x", "b"}, {"a"}, "n1");
        m.node("Relu", {"a"}, {"b"}, "n2");
        m.output("b", {"2"});
        std::string e = import_error(m);
        EXPECT_NE(e.find("cycle"), std::string::npos) << e;
        EXPECT_NE(e.find("m.onnx"), std::string::npos) << e;
    }
    {
        Model m;
        m.input("x", {"2"});
        m.node("Relu", {"x"}, {"y"}, "r");
        m.output("z", {"2"});
        std::string e = import_error(m);
        EXPECT_NE(e.find("graph output 'z' names no value"), std::string::npos) << e;
    }
    {
        Model m;
        m.input("x", {"2"});
        m.init("w", {2}, {1, 2});
        m.init("w", {2}, {1, 2});
        m.node("Add", {"x", "w"}, {"y"}, "r");
        m.output("y", {"2"});
        EXPECT_NE(import_error(m).find("initializer 'w' is defined twice"), std::string::npos);
    }
    {
        Model m;
        m.input("x", {"2"});
        m.init("w", {3}, {1, 2});  // 2 values for 3 elements
        m.node("Add", {"x", "w"}, {"y"}, "r");
        m.output("y", {"2"});
        std::string e = import_error(m);
        EXPECT_NE(e.find("initializer 'w' holds 2 values, expected 3"), std::string::npos) << e;
    }
    {
        Model m;
        m.input("x", {"2"});
        auto* t = m.g()->add_initializer();
        t->set_name("names");
        t->set_data_type(TP::STRING);
        t->add_string_data("a");
        m.node("Identity", {"x"}, {"y"}, "r");
        m.output("y", {"2"});
        std::string e = import_error(m);
        EXPECT_NE(e.find("unsupported tensor dtype STRING in initializer 'names'"), std::string::npos) << e;
    }
    {
        Model m;
        m.input("x", {"2"});
        TP* t = m.init("w", {2}, {});
        t->set_data_location(TP::EXTERNAL);
        auto* kv = t->add_external_data();
        kv->set_key("location");
        kv->set_value("w.bin");
        m.node("Add", {"x", "w"}, {"y"}, "r");
        m.output("y", {"2"});
        std::string e = import_error(m);
        EXPECT_NE(e.find("initializer 'w' keeps its data in an external file (w.bin)"), std::string::npos) << e;
    }
    {
        Model m;
        auto* seq = m.g()->add_input();
        seq->set_name("s");
        seq->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(1);
        m.node("SequenceLength", {"s"}, {"n"}, "len");
        m.output("n", {}, TP::INT64);
        std::string e = import_error(m);
        EXPECT_NE(e.find("graph input 's' has a sequence type"), std::string::npos) << e;
    }
    {
        Model m;
        m.input("x", {"2"});
        m.node("Relu", {"x"}, {"y"}, "r");
        m.output("y", {"2"});
        auto* f = m.m.add_functions();
        f->set_name("MyFn");
        f->set_domain("local");
        EXPECT_NE(import_error(m).find("model-local functions ('MyFn')"), std::string::npos);
    }
}

TEST(OnnxImport, VersionsOutsideTheSupportedRange) {
    auto model = [](int64_t opset, int64_t ir) {
        Model m(opset, ir);
        m.input("x", {"2"});
        m.node("Relu", {"x"}, {"y"}, "r");
        m.output("y", {"2"});
        return m;
    };
    std::string e18 = import_error(model(18, 8));
    EXPECT_NE(e18.find("opset 18"), std::string::npos) << e18;
    EXPECT_NE(e18.find("Debian's ONNX 1.12 handles opset <= 17 / IR <= 8"), std::string::npos) << e18;
    std::string eir = import_error(model(13, 9));
    EXPECT_NE(eir.find("IR version 9"), std::string::npos) << eir;
    EXPECT_NE(eir.find("Debian's ONNX 1.12 handles opset <= 17 / IR <= 8"), std::string::npos) << eir;
    std::string e8 = import_error(model(8, 3));
    EXPECT_NE(e8.find("opset 8"), std::string::npos) << e8;
    EXPECT_NE(e8.find("9..17"), std::string::npos) << e8;
    for (int64_t v : {9, 17}) EXPECT_TRUE(import(model(v, 8)).ok()) << "opset " << v;
    qonnx::ImportOptions old;
    old.allow_old_opsets = true;
    EXPECT_TRUE(qonnx::import_model_bytes(model(7, 3).bytes(), "m", old).ok());
    EXPECT_FALSE(qonnx::import_model_bytes(model(18, 8).bytes(), "m", old).ok());  // upper bound always holds
    // The "ai.onnx" spelling of the default domain counts too.
    Model alias = model(18, 8);
    alias.m.mutable_opset_import(0)->set_domain("ai.onnx");
    EXPECT_FALSE(import(alias).ok());
    Model none = model(13, 8);
    none.m.clear_opset_import();
    EXPECT_NE(import_error(none).find("no opset_import"), std::string::npos);
}

TEST(OnnxImport, FilesThatAreNotModels) {
    fs::path d = temp_dir("bad_files");
    auto write = [&](const std::string& name, const std::string& bytes) {
        std::string p = (d / name).string();
        EXPECT_TRUE(write_file_atomic(p, bytes).ok());
        return p;
    };
    auto err = [](const std::string& path) {
        auto r = qonnx::load_model(path);
        EXPECT_FALSE(r.ok()) << path;
        return r.ok() ? std::string() : r.status().to_string();
    };
    EXPECT_NE(err((d / "nope.onnx").string()).find("not found"), std::string::npos);
    EXPECT_NE(err(d.string()).find("is a directory"), std::string::npos);
    EXPECT_NE(err(write("empty.onnx", "")).find("empty"), std::string::npos);
    std::string good = basic_model().bytes();
    std::string trunc = err(write("trunc.onnx", good.substr(0, good.size() / 2)));
    EXPECT_NE(trunc.find("trunc.onnx"), std::string::npos) << trunc;
    EXPECT_TRUE(trunc.find("not a valid ONNX model") != std::string::npos ||
                trunc.find("not an ONNX model") != std::string::npos)
        << trunc;
    std::string png = err(write("img.onnx", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)));
    EXPECT_NE(png.find("PNG"), std::string::npos) << png;
    std::string txt = err(write("notes.onnx", "this is a text file, not a model\n"));
    EXPECT_NE(txt.find("not"), std::string::npos) << txt;
    EXPECT_NE(txt.find("notes.onnx"), std::string::npos) << txt;
    fs::remove_all(d);
}

// The 2 GB limit is checked from the file size, before anything is read (a sparse file here).
TEST(OnnxImport, ModelsAbove2GBAreRefusedBeforeReading) {
    fs::path d = temp_dir("big");
    std::string p = (d / "big.onnx").string();
    {
        std::ofstream f(p, std::ios::binary);
        f << "x";
    }
    std::error_code ec;
    fs::resize_file(p, (uintmax_t{1} << 31) + 16, ec);
    if (ec) GTEST_SKIP() << "cannot make a sparse 2 GB file here: " << ec.message();
    auto r = qonnx::load_model(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(r.status().message().find("2 GB"), std::string::npos) << r.status().message();
    fs::remove_all(d);
}
