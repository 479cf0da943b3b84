// Helpers for tests that run the qat binary: a per-test temp folder, a runner that captures
// exit code, stdout and stderr, and a small writer of ONNX models (protobuf messages built here,
// so each test states its model in a few lines and needs no Python).
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace qat::cli_test {

namespace fs = std::filesystem;

struct CliResult {
    int exit_code = -1;  // -1 when the process died of a signal (a crash)
    int signal = 0;
    std::string out, err;
};

inline std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Base fixture: dir() is a fresh folder per test (kept when the test fails, for a look).
class CliTest : public ::testing::Test {
  protected:
    void SetUp() override {
        qat_ = QAT_CLI_BINARY;
        ASSERT_TRUE(fs::exists(qat_)) << "qat binary missing: " << qat_;
        dir_ = fs::temp_directory_path() / ("qat_cli_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!HasFailure()) fs::remove_all(dir_);
    }
    const fs::path& dir() const { return dir_; }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    // Runs `qat <args>` (args already shell-quoted where needed).
    CliResult run(const std::string& args) {
        std::string out = path(".stdout"), err = path(".stderr");
        std::string cmd = quote(qat_) + " " + args + " > " + quote(out) + " 2> " + quote(err);
        int rc = std::system(cmd.c_str());
        CliResult r;
        if (WIFEXITED(rc)) {
            r.exit_code = WEXITSTATUS(rc);
        } else if (WIFSIGNALED(rc)) {
            r.signal = WTERMSIG(rc);
        }
        r.out = slurp(out);
        r.err = slurp(err);
        fs::remove(out);
        fs::remove(err);
        return r;
    }

    // Bad input: exit code 2, exactly one line on stderr, starting "qat <cmd>: error:" and
    // containing every part. Returns the line.
    std::string expect_error(const std::string& args, const std::string& cmd, const std::vector<std::string>& parts) {
        CliResult r = run(args);
        EXPECT_EQ(r.signal, 0) << "qat " << args << " crashed";
        EXPECT_EQ(r.exit_code, 2) << "qat " << args << "\nstderr: " << r.err;
        EXPECT_EQ(r.err.rfind("qat " + cmd + ": error: ", 0), 0u) << r.err;
        EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n' && r.err.find('\n') == r.err.size() - 1)
            << "expected one line on stderr, got:\n"
            << r.err;
        for (const auto& p : parts)
            EXPECT_NE(r.err.find(p), std::string::npos) << "missing '" << p << "' in: " << r.err;
        return r.err;
    }

  private:
    std::string qat_;
    fs::path dir_;
};

// ---- ONNX models written from C++ ----

// Dims as strings: "3" static, "N" symbolic, "?" unknown.
inline void set_type(::onnx::ValueInfoProto* vi, const std::string& name, int elem,
                     const std::vector<std::string>& dims) {
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
    explicit Model(int64_t opset = 13) {
        m.set_ir_version(8);
        auto* o = m.add_opset_import();
        o->set_version(opset);
        m.mutable_graph()->set_name("g");
    }
    ::onnx::GraphProto* g() { return m.mutable_graph(); }
    void input(const std::string& n, const std::vector<std::string>& dims, int elem = ::onnx::TensorProto::FLOAT) {
        set_type(g()->add_input(), n, elem, dims);
    }
    void output(const std::string& n, const std::vector<std::string>& dims, int elem = ::onnx::TensorProto::FLOAT) {
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
    void init(const std::string& n, const std::vector<int64_t>& dims, const std::vector<float>& vals) {
        auto* t = g()->add_initializer();
        t->set_name(n);
        t->set_data_type(::onnx::TensorProto::FLOAT);
        for (auto d : dims) t->add_dims(d);
        for (float v : vals) t->add_float_data(v);
    }
    void ints_attr(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(::onnx::AttributeProto::INTS);
        for (auto x : v) a->add_ints(x);
    }
    void save(const std::string& path) const {
        std::ofstream f(path, std::ios::binary);
        f << m.SerializeAsString();
    }
};

}  // namespace qat::cli_test
