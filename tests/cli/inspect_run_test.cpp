// `qat inspect` and `qat run` through the real binary.
//
// Oracles: expected outputs computed in the test (Relu/Add by hand), ONNX's own node-test data
// (libonnx-testdata's input_*.pb / output_*.pb), and MACs/params counted from the shapes the test
// chose. Bad input: exit code 2, one line on stderr naming the problem, no output file.
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "core/npy.h"
#include "models/ort_test_util.h"
#include "onnx/onnx_import.h"
#include "onnx/tensor_proto.h"

using namespace qat;
using namespace qat::cli_test;
namespace qonnx = qat::onnx;
using TP = ::onnx::TensorProto;

namespace {

const char kNodeTests[] = "/usr/share/libonnx-testdata/data/node";

// x[N,3] -> Relu 'relu' -> Add 'add' (+ bias) -> y
Model relu_add() {
    Model m;
    m.input("x", {"N", "3"});
    m.init("bias", {3}, {0.5f, -1.0f, 2.0f});
    m.node("Relu", {"x"}, {"r"}, "relu");
    m.node("Add", {"r", "bias"}, {"y"}, "add");
    m.output("y", {"N", "3"});
    return m;
}

// x[N,3,32,32] -> Conv(8x3x3x3, pads 1, stride 2) -> Relu -> GlobalAveragePool -> Flatten -> Gemm(10)
Model conv_net() {
    Model m;
    m.input("x", {"N", "3", "32", "32"});
    m.init("w", {8, 3, 3, 3}, std::vector<float>(8 * 27, 0.01f));
    m.init("b", {8}, std::vector<float>(8, 0.0f));
    auto* conv = m.node("Conv", {"x", "w", "b"}, {"c"}, "conv");
    m.ints_attr(conv, "pads", {1, 1, 1, 1});
    m.ints_attr(conv, "strides", {2, 2});
    m.node("Relu", {"c"}, {"r"}, "relu");
    m.node("GlobalAveragePool", {"r"}, {"p"}, "pool");
    m.node("Flatten", {"p"}, {"f"}, "flatten");
    m.init("fc_w", {10, 8}, std::vector<float>(80, 0.1f));
    m.init("fc_b", {10}, std::vector<float>(10, 0.0f));
    auto* gemm = m.node("Gemm", {"f", "fc_w", "fc_b"}, {"y"}, "fc");
    auto* a = gemm->add_attribute();
    a->set_name("transB");
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(1);
    m.output("y", {"N", "10"});
    return m;
}

std::vector<float> relu_add_ref(const std::vector<float>& x) {
    const float bias[3] = {0.5f, -1.0f, 2.0f};
    std::vector<float> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = std::max(x[i], 0.0f) + bias[i % 3];
    return y;
}

size_t count_files(const fs::path& d) {
    size_t n = 0;
    if (!fs::exists(d)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(d)) n += e.is_regular_file();
    return n;
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
    ASSERT_EQ(got.dtype(), want.dtype()) << what;
    ASSERT_EQ(got.dims(), want.dims()) << what;
    for (int64_t i = 0; i < got.numel(); ++i) {
        double a = got.get_as_double(i), b = want.get_as_double(i);
        ASSERT_LE(std::abs(a - b), tol * (1.0 + std::abs(b))) << what << " element " << i << ": " << a << " vs " << b;
    }
}

}  // namespace

class InspectRun : public CliTest {};

TEST_F(InspectRun, HelpListsEverything) {
    CliResult top = run("--help");
    EXPECT_EQ(top.exit_code, 0);
    for (const char* cmd : {"inspect", "run", "version"}) EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
    CliResult r = run("run --help");
    EXPECT_EQ(r.exit_code, 0);
    for (const char* flag : {"--input", "--random", "--seed", "--shape", "--output-dir", "--backend", "--show"})
        EXPECT_NE(r.out.find(flag), std::string::npos) << flag << " missing from:\n" << r.out;
    CliResult i = run("inspect --help");
    EXPECT_EQ(i.exit_code, 0);
    EXPECT_NE(i.out.find("--json"), std::string::npos) << i.out;
}

TEST_F(InspectRun, InspectTableAndJson) {
    conv_net().save(path("net.onnx"));
    // Counted from the shapes chosen above (N taken as 1): conv output 8 x 16 x 16, each a
    // 3x3x3 reduction; the Gemm is 10 outputs of 8.
    const int64_t conv_macs = 8 * 16 * 16 * 27, fc_macs = 10 * 8;
    const int64_t params = 8 * 27 + 8 + 80 + 10;
    CliResult t = run("inspect " + quote(path("net.onnx")));
    ASSERT_EQ(t.exit_code, 0) << t.err;
    for (const std::string& s : {std::string("conv"), std::string("Conv"), std::string("[N,8,16,16]"),
                                 std::string("55,296"), std::string("fc"), std::string("ai.onnx 13"),
                                 std::string("314 params"), std::string("55,376 MACs"), std::string("symbolic dims")})
        EXPECT_NE(t.out.find(s), std::string::npos) << "'" << s << "' missing from:\n" << t.out;

    CliResult j = run("inspect --json " + quote(path("net.onnx")));
    ASSERT_EQ(j.exit_code, 0) << j.err;
    auto js = nlohmann::json::parse(j.out);
    EXPECT_EQ(js["totals"]["params"], params);
    EXPECT_EQ(js["totals"]["macs"], conv_macs + fc_macs);
    EXPECT_EQ(js["totals"]["nodes"], 5);
    EXPECT_EQ(js["totals"]["macs_symbolic_dims_as_1"], true);
    EXPECT_EQ(js["ir_version"], 8);
    EXPECT_EQ(js["opsets"][0]["version"], 13);
    EXPECT_EQ(js["inputs"][0]["name"], "x");
    EXPECT_EQ(js["inputs"][0]["shape"], nlohmann::json::parse(R"(["N",3,32,32])"));
    const auto& conv = js["nodes"][0];
    EXPECT_EQ(conv["name"], "conv");
    EXPECT_EQ(conv["op"], "Conv");
    EXPECT_EQ(conv["macs"], conv_macs);
    EXPECT_EQ(conv["params"], 8 * 27 + 8);
    EXPECT_EQ(conv["outputs"][0]["shape"], nlohmann::json::parse(R"(["N",8,16,16])"));
    EXPECT_EQ(conv["outputs"][0]["dtype"], "f32");
    EXPECT_EQ(js["nodes"][4]["macs"], fc_macs);
    EXPECT_TRUE(js["nodes"][1]["macs"].is_null());  // Relu
}

// MACs of an ONNX node-test Conv, from ONNX's own tensors: numel(Y) * C/group * kh * kw.
TEST_F(InspectRun, InspectOnnxNodeTest) {
    std::string dir = std::string(kNodeTests) + "/test_conv_with_strides_padding";
    if (!fs::exists(dir)) GTEST_SKIP() << "libonnx-testdata not installed (" << dir << " missing)";
    auto w = qonnx::load_tensor_pb(dir + "/test_data_set_0/input_1.pb");
    auto y = qonnx::load_tensor_pb(dir + "/test_data_set_0/output_0.pb");
    ASSERT_TRUE(w.ok() && y.ok());
    int64_t macs = y->numel() * w->dim(1) * w->dim(2) * w->dim(3);
    CliResult j = run("inspect --json " + quote(dir + "/model.onnx"));
    ASSERT_EQ(j.exit_code, 0) << j.err;
    auto js = nlohmann::json::parse(j.out);
    EXPECT_EQ(js["totals"]["macs"], macs);
    EXPECT_EQ(js["totals"]["macs_symbolic_dims_as_1"], false);
    nlohmann::json ydims = nlohmann::json::array();
    for (int64_t d : y->dims()) ydims.push_back(d);
    EXPECT_EQ(js["nodes"][0]["outputs"][0]["shape"], ydims);
}

TEST_F(InspectRun, RunNpyAndPbInputs) {
    relu_add().save(path("m.onnx"));
    std::vector<float> x = {-1.0f, 0.5f, 2.0f, 3.0f, -4.0f, 0.25f};
    ASSERT_TRUE(save_npy(path("x.npy"), Tensor::from_vector<float>({2, 3}, x)).ok());
    CliResult r = run("run " + quote(path("m.onnx")) + " --input x=" + quote(path("x.npy")) + " --output-dir " +
                      quote(path("out")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("y: f32[2,3]"), std::string::npos) << r.out;
    auto y = load_npy(path("out/y.npy"));
    ASSERT_TRUE(y.ok()) << y.status().to_string();
    expect_close(*y, Tensor::from_vector<float>({2, 3}, relu_add_ref(x)), 0, "y");

    ASSERT_TRUE(qonnx::save_tensor_pb(path("x.pb"), Tensor::from_vector<float>({2, 3}, x), "x").ok());
    CliResult p = run("run " + quote(path("m.onnx")) + " -i x=" + quote(path("x.pb")) + " -o " + quote(path("out_pb")));
    ASSERT_EQ(p.exit_code, 0) << p.err;
    auto y2 = load_npy(path("out_pb/y.npy"));
    ASSERT_TRUE(y2.ok());
    EXPECT_TRUE(y2->equals(*y));
}

TEST_F(InspectRun, RunRandomInputs) {
    relu_add().save(path("m.onnx"));
    std::string m = quote(path("m.onnx"));
    ASSERT_EQ(run("run " + m + " --random --seed 3 -o " + quote(path("a"))).exit_code, 0);
    ASSERT_EQ(run("run " + m + " --random --seed 3 -o " + quote(path("b"))).exit_code, 0);
    ASSERT_EQ(run("run " + m + " --random --seed 4 -o " + quote(path("c"))).exit_code, 0);
    auto a = load_npy(path("a/y.npy")), b = load_npy(path("b/y.npy")), c = load_npy(path("c/y.npy"));
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(a->dims(), (std::vector<int64_t>{1, 3}));  // symbolic N -> 1
    EXPECT_TRUE(a->equals(*b));                          // same seed, same data
    EXPECT_FALSE(a->equals(*c));
    // Every random x lies in [-1, 1), so y = relu(x) + bias lies in [bias, bias + 1).
    const float bias[3] = {0.5f, -1.0f, 2.0f};
    for (int i = 0; i < 3; ++i) {
        EXPECT_GE(a->data<float>()[i], bias[i]);
        EXPECT_LT(a->data<float>()[i], bias[i] + 1.0f);
    }
    CliResult s = run("run " + m + " --random --shape x=4x3 -o " + quote(path("d")));
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto d = load_npy(path("d/y.npy"));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->dims(), (std::vector<int64_t>{4, 3}));
}

// ONNX's node tests: our outputs against the expected output_*.pb.
TEST_F(InspectRun, RunOnnxNodeTests) {
    if (!fs::exists(kNodeTests)) GTEST_SKIP() << "libonnx-testdata not installed (" << kNodeTests << " missing)";
    for (const char* name : {"test_relu", "test_add", "test_add_bcast"}) {
        std::string dir = std::string(kNodeTests) + "/" + name;
        auto g = qonnx::load_model(dir + "/model.onnx");
        ASSERT_TRUE(g.ok()) << g.status().to_string();
        std::string args = "run " + quote(dir + "/model.onnx") + " -o " + quote(path(name));
        for (size_t i = 0; i < (*g)->inputs().size(); ++i)
            args += " --input " + quote((*g)->inputs()[i]->name() + "=" + dir + "/test_data_set_0/input_" +
                                        std::to_string(i) + ".pb");
        CliResult r = run(args);
        ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
        for (size_t i = 0; i < (*g)->outputs().size(); ++i) {
            auto want = qonnx::load_tensor_pb(dir + "/test_data_set_0/output_" + std::to_string(i) + ".pb");
            auto got = load_npy(path(std::string(name) + "/" + (*g)->outputs()[i]->name() + ".npy"));
            ASSERT_TRUE(want.ok() && got.ok()) << name;
            expect_close(*got, *want, 1e-6, name);
        }
    }
}

// ---- bad input: exit 2, one line on stderr, no output file ----

TEST_F(InspectRun, FilesThatAreNotModels) {
    std::ofstream(path("empty.onnx")).close();
    {
        std::string good = relu_add().m.SerializeAsString();
        std::ofstream(path("trunc.onnx"), std::ios::binary) << good.substr(0, good.size() / 2);
        std::ofstream(path("img.onnx"), std::ios::binary) << std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
        std::ofstream(path("notes.txt")) << "just some text\nnot a model\n";
    }
    for (const char* cmd : {"inspect", "run"}) {
        std::string extra = std::string(cmd) == "run" ? " --random -o " + quote(path("out")) : "";
        expect_error(std::string(cmd) + " " + quote(path("missing.onnx")) + extra, cmd, {"not found", "missing.onnx"});
        expect_error(std::string(cmd) + " " + quote(path("empty.onnx")) + extra, cmd, {"empty.onnx", "empty"});
        expect_error(std::string(cmd) + " " + quote(path("trunc.onnx")) + extra, cmd, {"trunc.onnx"});
        expect_error(std::string(cmd) + " " + quote(path("img.onnx")) + extra, cmd, {"img.onnx", "PNG"});
        expect_error(std::string(cmd) + " " + quote(path("notes.txt")) + extra, cmd, {"notes.txt", "not"});
        expect_error(std::string(cmd) + " " + quote(dir().string()) + extra, cmd, {"directory"});
        EXPECT_EQ(count_files(path("out")), 0u);
    }
}

TEST_F(InspectRun, MalformedGraphs) {
    Model dangling;
    dangling.input("x", {"2"});
    dangling.node("Add", {"x", "w_missing"}, {"y"}, "add1");
    dangling.output("y", {"2"});
    dangling.save(path("dangling.onnx"));
    Model cycle;
    cycle.input("x", {"2"});
    cycle.node("Add", {"x", "b"}, {"a"}, "n1");
    cycle.node("Relu", {"a"}, {"b"}, "n2");
    cycle.output("b", {"2"});
    cycle.save(path("cycle.onnx"));
    Model dup;
    dup.input("x", {"2"});
    dup.node("Relu", {"x"}, {"y"}, "r1");
    dup.node("Neg", {"x"}, {"y"}, "r2");
    dup.output("y", {"2"});
    dup.save(path("dup.onnx"));
    Model opset18(18);
    opset18.input("x", {"2"});
    opset18.node("Relu", {"x"}, {"y"}, "r");
    opset18.output("y", {"2"});
    opset18.save(path("opset18.onnx"));
    for (const char* cmd : {"inspect", "run"}) {
        std::string extra = std::string(cmd) == "run" ? " --random -o " + quote(path("out")) : "";
        expect_error(std::string(cmd) + " " + quote(path("dangling.onnx")) + extra, cmd,
                     {"dangling input 'w_missing' of node 'add1'"});
        expect_error(std::string(cmd) + " " + quote(path("cycle.onnx")) + extra, cmd, {"cycle", "cycle.onnx"});
        expect_error(std::string(cmd) + " " + quote(path("dup.onnx")) + extra, cmd, {"duplicate output name 'y'"});
        expect_error(std::string(cmd) + " " + quote(path("opset18.onnx")) + extra, cmd,
                     {"opset 18", "opset <= 17 / IR <= 8"});
        EXPECT_EQ(count_files(path("out")), 0u);
    }
}

// Unknown ops are not an import error (inspect works); run lists every one of them at once.
TEST_F(InspectRun, UnknownOps) {
    Model m;
    m.input("x", {"2"});
    m.node("FooOp", {"x"}, {"a"}, "n1");
    m.node("Relu", {"a"}, {"b"}, "n2");
    m.node("BarOp", {"b"}, {"y"}, "n3");
    m.output("y", {"2"});
    m.save(path("unknown.onnx"));
    CliResult i = run("inspect " + quote(path("unknown.onnx")));
    EXPECT_EQ(i.exit_code, 0) << i.err;
    EXPECT_NE(i.out.find("FooOp"), std::string::npos);
    expect_error("run " + quote(path("unknown.onnx")) + " --random -o " + quote(path("out")), "run",
                 {"FooOp", "'n1'", "BarOp", "'n3'"});
    EXPECT_EQ(count_files(path("out")), 0u);
}

TEST_F(InspectRun, BadRunInputs) {
    Model m;  // static shapes, so shape checks happen before anything runs
    m.input("x", {"2", "3"});
    m.node("Relu", {"x"}, {"y"}, "relu");
    m.output("y", {"2", "3"});
    m.save(path("m.onnx"));
    const std::string model = quote(path("m.onnx"));
    const std::string out = " -o " + quote(path("out"));
    ASSERT_TRUE(save_npy(path("x23.npy"), Tensor::zeros(DataType::kFloat32, {2, 3})).ok());
    ASSERT_TRUE(save_npy(path("x32.npy"), Tensor::zeros(DataType::kFloat32, {3, 2})).ok());
    ASSERT_TRUE(save_npy(path("x6.npy"), Tensor::zeros(DataType::kFloat32, {6})).ok());
    ASSERT_TRUE(save_npy(path("xi.npy"), Tensor::zeros(DataType::kInt64, {2, 3})).ok());
    std::ofstream(path("junk.npy")) << "not numpy";

    expect_error("run " + model + " --input nope=" + quote(path("x23.npy")) + out, "run",
                 {"no input named 'nope'", "inputs: x"});
    expect_error("run " + model + " --input x=" + quote(path("xi.npy")) + out, "run",
                 {"input 'x'", "expects dtype f32, got i64"});
    expect_error("run " + model + " --input x=" + quote(path("x32.npy")) + out, "run", {"input 'x'", "[2,3]", "[3,2]"});
    expect_error("run " + model + " --input x=" + quote(path("x6.npy")) + out, "run", {"input 'x'", "[2,3]", "[6]"});
    expect_error("run " + model + " --input x=" + quote(path("missing.npy")) + out, "run", {"missing.npy", "'x'"});
    expect_error("run " + model + " --input x=" + quote(path("junk.npy")) + out, "run", {"junk.npy"});
    expect_error("run " + model + " --input x" + out, "run", {"bad --input 'x'", "name=file"});
    expect_error("run " + model + out, "run", {"missing input 'x'", "--random"});
    expect_error("run " + model + " --random --shape x=3x2" + out, "run", {"input 'x'", "[2,3]", "[3,2]"});
    expect_error("run " + model + " --random --shape x=2xq" + out, "run", {"bad --shape 'x=2xq'"});
    expect_error("run " + model + " --random --shape y=2x3" + out, "run", {"no input named 'y'"});
    expect_error("run " + model + " --random --backend nosuch" + out, "run", {"unknown backend 'nosuch'", "ref"});
    EXPECT_EQ(count_files(path("out")), 0u);
}

// A shape mismatch inside the graph (not at its inputs) is reported by the node that meets it.
TEST_F(InspectRun, ShapeMismatchAtRunTime) {
    Model m;
    m.input("a", {"N", "3"});
    m.input("b", {"N", "4"});
    m.node("Add", {"a", "b"}, {"y"}, "add_bad");
    m.output("y", {"N", "?"});
    m.save(path("m.onnx"));
    ASSERT_TRUE(save_npy(path("a.npy"), Tensor::zeros(DataType::kFloat32, {2, 3})).ok());
    ASSERT_TRUE(save_npy(path("b.npy"), Tensor::zeros(DataType::kFloat32, {2, 4})).ok());
    expect_error("run " + quote(path("m.onnx")) + " -i a=" + quote(path("a.npy")) + " -i b=" + quote(path("b.npy")) +
                     " -o " + quote(path("out")),
                 "run", {"add_bad", "[2,3]", "[2,4]"});
    EXPECT_EQ(count_files(path("out")), 0u);
}

TEST_F(InspectRun, UnusableOutputDirectory) {
    relu_add().save(path("m.onnx"));
    const std::string model = quote(path("m.onnx"));
    std::ofstream(path("a_file")) << "x";
    expect_error("run " + model + " --random -o " + quote(path("a_file")), "run", {"a_file", "not a folder"});
    expect_error("run " + model + " --random -o " + quote(path("a_file") + "/sub"), "run", {"a_file/sub"});
    // /proc refuses new entries even to root.
    expect_error("run " + model + " --random -o /proc/qat_cli_test_out", "run", {"/proc/qat_cli_test_out"});
    if (::geteuid() == 0) {
        std::printf("note: running as root, so a chmod 0500 folder is writable: that case is skipped\n");
    } else {
        fs::create_directories(path("ro"));
        fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
        expect_error("run " + model + " --random -o " + quote(path("ro")), "run", {"not writable"});
        fs::permissions(path("ro"), fs::perms::owner_all);
        EXPECT_EQ(count_files(path("ro")), 0u);
    }
}

// Outside oracle: `qat run` (reference backend, and the default dispatch) against ONNX Runtime (tools/ort_run.js)
// on the conv net, max |qat - ort| <= 1e-4 * max |ort|.
TEST_F(InspectRun, RunMatchesOnnxRuntime) {
    const std::string src = QAT_SOURCE_DIR;
    if (const std::string why = qat::testing::ort_missing_reason(); !why.empty()) GTEST_SKIP() << why;
    Model m = conv_net();
    // Weights with structure, so a wrong layout or stride cannot hide behind constant weights.
    auto* w = m.g()->mutable_initializer(0);
    for (int i = 0; i < w->float_data_size(); ++i)
        w->set_float_data(i, 0.05f * static_cast<float>((i * 7) % 13) - 0.3f);
    m.save(path("net.onnx"));
    Tensor x = Tensor::empty(DataType::kFloat32, {2, 3, 32, 32});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
    ASSERT_TRUE(save_npy(path("x.npy"), x).ok());
    std::string cmd = "node " + quote(src + "/tools/ort_run.js") + " " + quote(path("net.onnx")) + " --input " +
                      quote("x=" + path("x.npy")) + " --out-dir " + quote(path("ort")) + " > " +
                      quote(path("ort.log")) + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(path("ort.log"));
    auto want = load_npy(path("ort/y.npy"));
    ASSERT_TRUE(want.ok()) << want.status().to_string();
    // --backend ref: the reference kernels only; no --backend: the default dispatch (oneDNN where
    // it takes the op, ref for the rest).
    for (std::string backend : {"ref", "default"}) {
        std::string out = path("qat_" + backend);
        CliResult r = run("run " + quote(path("net.onnx")) + " -i " + quote("x=" + path("x.npy")) +
                          (backend == "default" ? "" : " --backend " + backend) + " -o " + quote(out));
        ASSERT_EQ(r.exit_code, 0) << backend << ": " << r.err;
        auto got = load_npy(out + "/y.npy");
        ASSERT_TRUE(got.ok());
        ASSERT_EQ(got->dims(), want->dims());
        double max_ref = 0, max_diff = 0;
        for (int64_t i = 0; i < got->numel(); ++i) {
            max_ref = std::max(max_ref, std::abs(static_cast<double>(want->data<float>()[i])));
            max_diff =
                std::max(max_diff, std::abs(static_cast<double>(got->data<float>()[i] - want->data<float>()[i])));
        }
        EXPECT_GT(max_ref, 0.0);
        EXPECT_LE(max_diff, 1e-4 * max_ref) << backend << ": max |qat - ort| = " << max_diff;
    }
}
