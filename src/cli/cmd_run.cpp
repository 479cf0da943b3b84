// qat run model.onnx|model.engine --input name=file.npy ... [--random] [--seed S]
//                    [--shape name=1x3x224x224] [--output-dir D] [--backend ref] [--show N]
//
// Runs a model once: an ONNX file as it is, through runtime::Plan on the compiled-in backends (or
// the one --backend names); an engine file (`qat build`, recognised by its magic) through its own
// optimized plan, with --backend overriding the stored backends like eval and bench do. Inputs come from .npy or ONNX
// TensorProto .pb files, or are random (--random: symbolic dims become 1 unless --shape says otherwise). Prints each
// output's shape, range and first values; with --output-dir writes <dir>/<output>.npy (atomically, only after the run
// succeeded). Everything the user gives is checked before the model runs: input names, dtypes and shapes, the backend
// name and the output folder.
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_util.h"
#include "core/npy.h"
#include "engine/engine.h"
#include "engine/engine_file.h"
#include "onnx/onnx_import.h"
#include "onnx/shape_inference.h"
#include "onnx/tensor_proto.h"
#include "runtime/plan.h"

namespace qat::cli {
namespace {

struct RunOptions {
    std::string model;
    std::vector<std::string> inputs;  // name=path
    std::vector<std::string> shapes;  // name=AxBxC
    bool random = false;
    uint64_t seed = 0;
    std::string output_dir;
    std::string backend;
    int show = 8;
};

Status split_spec(const std::string& spec, const char* flag, const char* example, std::string* name,
                  std::string* rest) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        return invalid_argument("bad ", flag, " '", spec, "': expected ", example);
    *name = spec.substr(0, eq);
    *rest = spec.substr(eq + 1);
    return OkStatus();
}

Result<std::vector<int64_t>> parse_dims(const std::string& spec, const std::string& text) {
    std::vector<int64_t> dims;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t x = text.find_first_of("x,", pos);
        std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
        char* end = nullptr;
        errno = 0;
        long long v = part.empty() ? -1 : std::strtoll(part.c_str(), &end, 10);
        if (part.empty() || *end != '\0' || v < 0 || errno != 0)
            return invalid_argument("bad --shape '", spec, "': dims must be non-negative integers like 1x3x224x224");
        dims.push_back(v);
        if (x == std::string::npos) break;
        pos = x + 1;
    }
    return dims;
}

// .npy by magic or extension, otherwise an ONNX TensorProto (.pb).
Result<Tensor> load_input_file(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    if (bytes.rfind("\x93NUMPY", 0) == 0) return parse_npy(bytes, path);
    if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0) return parse_npy(bytes, path);
    return onnx::parse_tensor_proto(bytes, path);
}

// Uniform values, deterministic in (seed, input index): floats in [-1, 1), small non-negative
// integers for int16/32/64 (often indices or sizes), the full range for 8-bit types.
Tensor random_tensor(DataType dtype, const std::vector<int64_t>& dims, uint64_t seed) {
    Tensor t = Tensor::empty(dtype, dims);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    for (int64_t i = 0; i < t.numel(); ++i) {
        double v = 0;
        switch (dtype) {
            case DataType::kFloat32:
            case DataType::kFloat16:
            case DataType::kFloat64:
                v = unit(rng);
                break;
            case DataType::kInt8:
                v = static_cast<double>(static_cast<int64_t>(rng() % 256) - 128);
                break;
            case DataType::kUint8:
                v = static_cast<double>(rng() % 256);
                break;
            case DataType::kBool:
                v = static_cast<double>(rng() % 2);
                break;
            default:
                v = static_cast<double>(rng() % 10);
                break;
        }
        t.set_from_double(i, v);
    }
    return t;
}

// A file name for an output: graph value names may hold '/', ':' and the like.
std::string file_stem(const std::string& name) {
    std::string s;
    for (char c : name)
        s += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
    if (s.empty() || s == "." || s == "..") s = "output";
    return s;
}

void print_output(const std::string& name, const Tensor& t, int show) {
    std::printf("%s: %s", name.c_str(), t.desc().c_str());
    if (t.numel() > 0) {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        int64_t nan = 0;
        for (int64_t i = 0; i < t.numel(); ++i) {
            double v = t.get_as_double(i);
            if (std::isnan(v)) {
                ++nan;
                continue;
            }
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            sum += v;
        }
        if (nan < t.numel())
            std::printf("  min %.6g  max %.6g  mean %.6g", lo, hi, sum / static_cast<double>(t.numel() - nan));
        if (nan) std::printf("  (%" PRId64 " NaN)", nan);
    }
    std::printf("\n  [");
    int64_t n = std::min<int64_t>(t.numel(), std::max(show, 0));
    for (int64_t i = 0; i < n; ++i) std::printf("%s%.6g", i ? ", " : "", t.get_as_double(i));
    if (n < t.numel()) std::printf("%s...", n ? ", " : "");
    std::printf("]\n");
}

Status run_model(const RunOptions& o) {
    // Flags first: cheap, and nothing should run (or be written) when they are wrong.
    std::map<std::string, std::string> files;
    for (const auto& spec : o.inputs) {
        std::string name, path;
        QAT_RETURN_IF_ERROR(split_spec(spec, "--input", "name=file.npy (or name=file.pb)", &name, &path));
        if (!files.emplace(name, path).second) return invalid_argument("--input '", name, "' is given twice");
    }
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& spec : o.shapes) {
        std::string name, text;
        QAT_RETURN_IF_ERROR(split_spec(spec, "--shape", "name=1x3x224x224", &name, &text));
        QAT_ASSIGN_OR_RETURN(auto dims, parse_dims(spec, text));
        if (!shapes.emplace(name, dims).second) return invalid_argument("--shape '", name, "' is given twice");
        if (files.count(name))
            return invalid_argument("--shape '", name,
                                    "': that input comes from --input; --shape sets the shape of --random inputs");
    }
    if (!o.backend.empty() && !backends::is_available(o.backend)) {
        std::string avail;
        for (const auto& b : backends::available_backends()) avail += (avail.empty() ? "" : ", ") + b;
        return invalid_argument("unknown backend '", o.backend, "' (available: ", avail, ")");
    }

    // An engine file runs its stored plan; anything else is imported as ONNX and run as it is.
    std::unique_ptr<ir::Graph> g;
    std::optional<engine::Engine> eng;
    std::vector<const ir::Value*> input_values;
    if (engine::is_engine_file(o.model)) {
        engine::EngineOptions eo;
        if (!o.backend.empty()) eo.backends = {o.backend};
        QAT_ASSIGN_OR_RETURN(engine::Engine e, engine::load_engine(o.model, eo));
        eng.emplace(std::move(e));
        input_values = eng->input_values();
    } else {
        QAT_ASSIGN_OR_RETURN(g, onnx::load_model(o.model));
        // Dtypes and shapes on every value let each backend refuse what it cannot run (e.g. oneDNN
        // and the int64 shape tensors of tf2onnx models) at compile time instead of failing later.
        onnx::infer_shapes(*g).ignore();
        input_values.assign(g->inputs().begin(), g->inputs().end());
    }

    std::map<std::string, const ir::Value*> graph_inputs;
    std::string input_list;
    for (const ir::Value* v : input_values) {
        graph_inputs[v->name()] = v;
        input_list += (input_list.empty() ? "" : ", ") + v->name();
    }
    auto no_such_input = [&](const char* flag, const std::string& name) {
        return invalid_argument(flag, " '", name, "': the model has no input named '", name,
                                "' (inputs: ", input_list.empty() ? "none" : input_list, ")");
    };
    for (const auto& [name, path] : files)
        if (!graph_inputs.count(name)) return no_such_input("--input", name);
    for (const auto& [name, dims] : shapes)
        if (!graph_inputs.count(name)) return no_such_input("--shape", name);

    std::map<std::string, Tensor> feeds;
    for (size_t i = 0; i < input_values.size(); ++i) {
        const ir::Value* v = input_values[i];
        auto f = files.find(v->name());
        if (f != files.end()) {
            auto t = load_input_file(f->second);
            if (!t.ok()) return std::move(t).take_status().with_context("while reading input '" + v->name() + "'");
            if (v->dtype() != DataType::kUndefined && t->dtype() != v->dtype())
                return invalid_argument("input '", v->name(), "' expects dtype ", dtype_name(v->dtype()), ", got ",
                                        dtype_name(t->dtype()), " from ", f->second);
            Status s = runtime::check_tensor_matches(*v, *t, "input");
            if (!s.ok()) return std::move(s).with_context("from " + f->second);
            feeds[v->name()] = std::move(t).value();
            continue;
        }
        if (v->is_constant()) continue;  // an input with a default (its initializer)
        if (!o.random)
            return invalid_argument("missing input '", v->name(), "': give --input ", v->name(),
                                    "=file.npy, or --random");
        if (v->dtype() == DataType::kUndefined)
            return invalid_argument("input '", v->name(), "' has no dtype in the model: cannot make random data");
        std::vector<int64_t> dims;
        auto sh = shapes.find(v->name());
        if (sh != shapes.end()) {
            dims = sh->second;
        } else {
            if (!v->shape().rank_known())
                return invalid_argument("input '", v->name(), "' has no known shape: give --shape ", v->name(),
                                        "=AxBx...");
            for (const Dim& d : v->shape().dims()) dims.push_back(d.is_static() ? d.value : 1);
        }
        Tensor t = random_tensor(v->dtype(), dims, o.seed * 1000003u + i);
        Status s = runtime::check_tensor_matches(*v, t, "input");
        if (!s.ok()) return std::move(s).with_context("from --shape");
        feeds[v->name()] = std::move(t);
    }

    // The output folder is checked (and created) before any work, so a bad path costs nothing.
    if (!o.output_dir.empty()) QAT_RETURN_IF_ERROR(check_writable_dir(o.output_dir, true));

    std::unique_ptr<runtime::Plan> own_plan;
    if (!eng) {
        runtime::PlanOptions popts;
        popts.registry = &backends::default_registry();
        if (!o.backend.empty()) popts.backends = {o.backend};
        QAT_ASSIGN_OR_RETURN(own_plan, runtime::Plan::compile(*g, popts));
    }
    runtime::Plan* plan = eng ? &eng->plan() : own_plan.get();

    auto t0 = std::chrono::steady_clock::now();
    // The engine checks the feeds against its fixed shapes (batch included) before it runs.
    QAT_ASSIGN_OR_RETURN(auto outputs, eng ? eng->run(feeds) : plan->run(feeds));
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    std::map<std::string, int> per_backend;
    for (const auto& st : plan->steps()) ++per_backend[st.backend];
    std::string used;
    for (const auto& [b, n] : per_backend) used += (used.empty() ? "" : ", ") + b + " " + std::to_string(n);
    std::printf("ran %s: %zu nodes (%s) in %.3f ms\n", o.model.c_str(), plan->steps().size(), used.c_str(), ms);

    std::set<std::string> stems;
    for (const auto& name : plan->output_names()) {
        const Tensor& t = outputs.at(name);
        print_output(name, t, o.show);
        if (o.output_dir.empty()) continue;
        std::string stem = file_stem(name);
        for (int k = 1; !stems.insert(stem).second; ++k) stem = file_stem(name) + "_" + std::to_string(k);
        std::string path = (std::filesystem::path(o.output_dir) / (stem + ".npy")).string();
        QAT_RETURN_IF_ERROR(save_npy(path, t));
        std::printf("  wrote %s\n", path.c_str());
    }
    return OkStatus();
}

}  // namespace

void add_run_command(CLI::App& app) {
    auto o = std::make_shared<RunOptions>();
    auto* sub = app.add_subcommand("run", "Run a model on .npy/.pb or random inputs and print or save its outputs");
    sub->add_option("model", o->model, "ONNX model file or engine file (qat build)")->required();
    sub->add_option("--input,-i", o->inputs, "Input as name=file.npy or name=file.pb (repeat for each input)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    sub->add_flag("--random", o->random, "Random data for inputs not given with --input (symbolic dims become 1)");
    sub->add_option("--seed", o->seed, "Seed of the random inputs (default 0)");
    sub->add_option("--shape", o->shapes, "Shape of a random input, name=1x3x224x224 (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    sub->add_option("--output-dir,-o", o->output_dir, "Write each output to <dir>/<output name>.npy");
    sub->add_option(
        "--backend", o->backend, "Run only on this backend (" + [] {
            std::string s;
            for (const auto& b : backends::available_backends()) s += (s.empty() ? "" : ", ") + b;
            return s;
        }() + ")");
    sub->add_option("--show", o->show, "Values printed per output (default 8)");
    sub->callback([o] { run_command("run", [o] { return run_model(*o); }); });
}

}  // namespace qat::cli
