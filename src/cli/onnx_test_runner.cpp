#include "cli/onnx_test_runner.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <sstream>

#include "backends/registry.h"
#include "core/file_util.h"
#include "onnx/onnx_import.h"
#include "onnx/tensor_proto.h"
#include "runtime/plan.h"

namespace qat::cli::onnx_test {
namespace fs = std::filesystem;

namespace {

std::string filename_of(const std::string& dir) {
    std::string s = dir;
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return fs::path(s).filename().string();
}

// Default-domain op types of every node of the model's main graph, read straight from the
// protobuf: selection by op must work even for models the importer refuses (sequence types,
// strings), which then count only when selected.
Result<std::set<std::string>> model_op_types(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    ::onnx::ModelProto m;
    if (!m.ParseFromString(bytes)) return invalid_model("cannot parse ", path, " as an ONNX model");
    std::set<std::string> ops;
    for (const auto& n : m.graph().node()) {
        const std::string& d = n.domain();
        ops.insert(d.empty() || d == "ai.onnx" ? n.op_type() : d + "::" + n.op_type());
    }
    return ops;
}

// Files "<prefix><i>.pb" of a data set, ordered by i (input_10 after input_9).
std::vector<std::string> numbered_files(const fs::path& dir, const std::string& prefix) {
    std::vector<std::pair<long, std::string>> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string f = e.path().filename().string();
        if (f.rfind(prefix, 0) != 0 || f.size() <= prefix.size() + 3 || f.substr(f.size() - 3) != ".pb") continue;
        const std::string num = f.substr(prefix.size(), f.size() - prefix.size() - 3);
        if (num.empty() || !std::all_of(num.begin(), num.end(), ::isdigit)) continue;
        found.emplace_back(std::stol(num), e.path().string());
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> out;
    for (auto& [i, p] : found) out.push_back(p);
    return out;
}

std::string index_string(int64_t flat, const std::vector<int64_t>& dims) {
    std::vector<int64_t> idx(dims.size(), 0);
    for (size_t d = dims.size(); d-- > 0;) {
        if (dims[d] > 0) {
            idx[d] = flat % dims[d];
            flat /= dims[d];
        }
    }
    return dims_to_string(idx);
}

// One data set: bind inputs, run, compare every output.
Status run_data_set(runtime::Plan& plan, const fs::path& set_dir, const Options& o) {
    std::vector<std::string> in_files = numbered_files(set_dir, "input_");
    std::vector<std::string> out_files = numbered_files(set_dir, "output_");
    if (out_files.empty()) return not_found("no output_*.pb in ", set_dir.string());

    // Inputs the test feeds: graph inputs that are not initializers, in order. A .pb whose name
    // field names an input binds to it; otherwise files bind by position.
    std::vector<std::string> feedable;
    for (const std::string& n : plan.input_names()) {
        const ir::Value* v = plan.graph().find_value(n);
        if (!(v && v->is_initializer())) feedable.push_back(n);
    }
    std::map<std::string, Tensor> feed;
    for (size_t i = 0; i < in_files.size(); ++i) {
        std::string name;
        QAT_ASSIGN_OR_RETURN(Tensor t, onnx::load_tensor_pb(in_files[i], &name));
        const auto& all = plan.input_names();
        if (name.empty() || std::find(all.begin(), all.end(), name) == all.end()) {
            if (i >= feedable.size())
                return invalid_argument(in_files[i], " has no matching model input (the model takes ", feedable.size(),
                                        ")");
            name = feedable[i];
        }
        feed[name] = t;
    }
    QAT_ASSIGN_OR_RETURN(auto outs, plan.run(feed));
    if (out_files.size() != plan.output_names().size())
        return invalid_argument(set_dir.string(), " has ", out_files.size(), " expected outputs, the model has ",
                                plan.output_names().size());
    for (size_t i = 0; i < out_files.size(); ++i) {
        QAT_ASSIGN_OR_RETURN(Tensor want, onnx::load_tensor_pb(out_files[i]));
        const std::string& oname = plan.output_names()[i];
        Status s = compare_tensors(want, outs.at(oname), o.rtol, o.atol);
        if (!s.ok()) return std::move(s).with_context("output '" + oname + "'");
    }
    return OkStatus();
}

TestResult run_test_unguarded(const std::string& dir, const Options& o) {
    TestResult r;
    r.name = filename_of(dir);
    const fs::path root(dir);
    auto ops = model_op_types((root / "model.onnx").string());
    if (!ops.ok()) {
        r.message = ops.status().to_string();
        return r;
    }
    if (!o.only_ops.empty()) {
        for (const std::string& op : *ops)
            if (!o.only_ops.count(op)) {
                r.outcome = Outcome::kNotSelected;
                r.message = "uses op " + op;
                return r;
            }
    }
    if (auto it = o.skips.find(r.name); it != o.skips.end()) {
        r.outcome = Outcome::kSkipped;
        r.message = it->second;
        return r;
    }
    // Node test models declare the opset where their op last changed (GlobalAveragePool: 1,
    // HardSigmoid: 6), so old opsets are accepted here; kernels read node.opset() where the
    // semantics differ.
    onnx::ImportOptions iopts;
    iopts.allow_old_opsets = true;
    auto graph = onnx::load_model((root / "model.onnx").string(), iopts);
    if (!graph.ok()) {
        r.message = graph.status().to_string();
        return r;
    }
    runtime::PlanOptions popts;
    popts.registry = &backends::default_registry();
    popts.backends = o.backends;
    auto plan = runtime::Plan::compile(**graph, popts);
    if (!plan.ok()) {
        r.message = plan.status().to_string();
        return r;
    }
    std::vector<fs::path> sets;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
        if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) {
        r.message = "no test_data_set_* directory";
        return r;
    }
    for (const fs::path& s : sets) {
        Status st = run_data_set(**plan, s, o);
        if (!st.ok()) {
            r.message = s.filename().string() + ": " + st.to_string();
            return r;
        }
        ++r.data_sets;
    }
    r.outcome = Outcome::kPassed;
    return r;
}

}  // namespace

Result<std::vector<std::string>> find_test_dirs(const std::vector<std::string>& paths) {
    std::vector<std::string> out;
    for (std::string p : paths) {
        while (p.size() > 1 && p.back() == '/') p.pop_back();  // "dir/" names the same test as "dir"
        std::error_code ec;
        if (!fs::exists(p, ec)) return not_found("test directory '", p, "' does not exist");
        if (!fs::is_directory(p, ec)) return invalid_argument("'", p, "' is not a directory");
        if (fs::exists(fs::path(p) / "model.onnx", ec)) {
            out.push_back(p);
            continue;
        }
        std::vector<std::string> sub;
        for (const auto& e : fs::directory_iterator(p, ec))
            if (e.is_directory() && fs::exists(e.path() / "model.onnx")) sub.push_back(e.path().string());
        if (ec) return io_error("cannot list '", p, "': ", ec.message());
        if (sub.empty())
            return not_found("'", p, "' holds no ONNX test (no model.onnx in it or in its subdirectories)");
        std::sort(sub.begin(), sub.end());
        out.insert(out.end(), sub.begin(), sub.end());
    }
    return out;
}

Result<std::map<std::string, std::string>> load_skip_list(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string text, read_file(path));
    std::map<std::string, std::string> skips;
    std::istringstream in(text);
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        const size_t b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos || line[b] == '#') continue;
        const size_t name_end = line.find_first_of(" \t", b);
        const std::string name = line.substr(b, name_end == std::string::npos ? std::string::npos : name_end - b);
        std::string reason;
        if (name_end != std::string::npos) {
            const size_t rb = line.find_first_not_of(" \t", name_end);
            const size_t re = line.find_last_not_of(" \t\r");
            if (rb != std::string::npos && re >= rb) reason = line.substr(rb, re - rb + 1);
        }
        if (reason.empty())
            return invalid_argument("skip list ", path, " line ", lineno, ": '", name, "' has no reason");
        if (!skips.emplace(name, reason).second)
            return invalid_argument("skip list ", path, " line ", lineno, ": '", name, "' is listed twice");
    }
    return skips;
}

TestResult run_test(const std::string& dir, const Options& options) {
    try {
        return run_test_unguarded(dir, options);
    } catch (const std::exception& e) {
        // Libraries do not throw; a stray exception (e.g. bad_alloc) fails this test only.
        TestResult r;
        r.name = filename_of(dir);
        r.message = std::string("unexpected exception: ") + e.what();
        return r;
    }
}

Status compare_tensors(const Tensor& want, const Tensor& got, double rtol, double atol) {
    if (want.dtype() != got.dtype())
        return invalid_argument("dtype ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
    if (want.dims() != got.dims())
        return invalid_argument("shape ", dims_to_string(got.dims()), ", expected ", dims_to_string(want.dims()));
    const bool fp = is_float(want.dtype());
    const size_t es = dtype_size(want.dtype());
    const auto* wb = static_cast<const unsigned char*>(want.raw_data());
    const auto* gb = static_cast<const unsigned char*>(got.raw_data());
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < want.numel(); ++i) {
        bool ok;
        if (fp) {
            const double w = want.get_as_double(i), g = got.get_as_double(i);
            if (std::isnan(w) || std::isnan(g))
                ok = std::isnan(w) && std::isnan(g);
            else if (std::isinf(w) || std::isinf(g))
                ok = w == g;
            else
                ok = std::fabs(g - w) <= atol + rtol * std::fabs(w);
        } else {
            // Integers and bool: exact, compared bitwise (int64 values beyond 2^53 included).
            ok = std::memcmp(wb + i * es, gb + i * es, es) == 0;
        }
        if (!ok && bad++ == 0) first = i;
    }
    if (bad == 0) return OkStatus();
    std::ostringstream m;
    m.precision(9);
    m << bad << " of " << want.numel() << " elements differ; first at " << index_string(first, want.dims()) << ": got "
      << got.get_as_double(first) << ", expected " << want.get_as_double(first);
    if (fp) m << " (rtol " << rtol << ", atol " << atol << ")";
    return invalid_argument(m.str());
}

}  // namespace qat::cli::onnx_test
