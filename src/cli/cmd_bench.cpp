// qat bench model [--batch N] [--threads T] [--warmup W] [--iterations I | --duration S]
//                 [--backend ...] [--no-int8] [--profile] [--peak-gops G] [--compare-ort] [--json]
//
// Latency of a model (.onnx built on the fly, or .engine) on random inputs, like trtexec:
// min / median / mean / p90 / p99 and throughput. --profile times every plan step (which
// backend, INT8 or FP32, achieved GOPS for convolutions and GEMMs, layout conversions);
// "% of peak" for the INT8 convolutions is against --peak-gops, or else against the AVX-512 VNNI
// loop of bench/int8_peak.h measured for 0.3 s before profiling. --compare-ort runs ONNX Runtime (tools/ort_bench.js,
// onnxruntime-node) on the same file with the same batch, threads, warm-up and iterations, right after our run, and
// prints the ratio; with --profile too, a second ONNX Runtime run with its own profiler gives its per-node
// times next to ours. --json prints one JSON object instead of the tables.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/engine_options.h"
#include "engine/engine.h"
#include "engine/engine_file.h"
#include "engine/explain.h"
#include "ir/fused_ops.h"

// The VNNI peak loop of bench/ (header only), for "% of peak" when --peak-gops is not given.
#include "../../bench/int8_peak.h"

namespace qat::cli {
namespace {

struct BenchOptions {
    std::string model;
    EngineFlags engine;
    int warmup = 10;
    int iterations = 0;
    double duration = 0;
    bool profile = false;
    double peak_gops = 0;
    bool compare_ort = false;
    bool json = false;
    uint64_t seed = 1;
};

struct LatencyStats {
    double min = 0, median = 0, mean = 0, p90 = 0, p99 = 0, throughput = 0;
    int iterations = 0;
};

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    size_t idx = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    idx = std::min(sorted.size() - 1, idx == 0 ? 0 : idx - 1);
    return sorted[idx];
}

LatencyStats stats_of(std::vector<double> lat, int64_t batch) {
    LatencyStats s;
    s.iterations = static_cast<int>(lat.size());
    if (lat.empty()) return s;
    std::sort(lat.begin(), lat.end());
    double sum = 0;
    for (double v : lat) sum += v;
    s.min = lat.front();
    s.median = percentile(lat, 50);
    s.mean = sum / static_cast<double>(lat.size());
    s.p90 = percentile(lat, 90);
    s.p99 = percentile(lat, 99);
    s.throughput = s.mean > 0 ? static_cast<double>(batch) * 1000.0 / s.mean : 0;
    return s;
}

nlohmann::json stats_json(const LatencyStats& s) {
    return {{"latency_ms", {{"min", s.min}, {"median", s.median}, {"mean", s.mean}, {"p90", s.p90}, {"p99", s.p99}}},
            {"throughput_per_s", s.throughput},
            {"iterations", s.iterations}};
}

// Random inputs with the batch dim set; every other dim must be static.
Result<std::vector<Tensor>> make_inputs(const engine::Engine& e, int64_t batch, uint64_t seed) {
    std::vector<Tensor> out;
    std::mt19937_64 gen(seed);
    for (const ir::Value* v : e.input_values()) {
        const Shape& s = v->shape();
        if (!s.rank_known()) return invalid_argument("input '", v->name(), "' has an unknown rank");
        std::vector<int64_t> dims;
        for (size_t i = 0; i < s.rank(); ++i) {
            if (s[i].is_static()) {
                if (i == 0 && s[i].value != batch && s.rank() > 1)
                    return invalid_argument("input '", v->name(), "' has a static batch of ", s[i].value,
                                            ", --batch is ", batch);
                dims.push_back(s[i].value);
            } else if (i == 0) {
                dims.push_back(batch);
            } else {
                return invalid_argument("input '", v->name(), "' has a symbolic dim ", i, " (", s.to_string(),
                                        "): bench fixes only the batch dim");
            }
        }
        DataType t = v->dtype() == DataType::kUndefined ? DataType::kFloat32 : v->dtype();
        Tensor x = Tensor::empty(t, dims);
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        std::uniform_int_distribution<int> q(-100, 100);
        for (int64_t i = 0; i < x.numel(); ++i) {
            if (is_float(t))
                x.set_from_double(i, u(gen));
            else if (t == DataType::kUint8)
                x.set_from_double(i, q(gen) + 100);
            else if (t == DataType::kBool)
                x.set_from_double(i, q(gen) > 0);
            else
                x.set_from_double(i, is_quantized_type(t) ? q(gen) : std::abs(q(gen)) % 10);
        }
        out.push_back(std::move(x));
    }
    return out;
}

// Multiply-accumulate work of a step, counted as 2 ops per MAC (0 when not a conv / GEMM): the
// MAC count of `qat explain` on the dims the step ran with.
double step_ops(const runtime::StepProfile& p) {
    if (p.out_dims.empty()) return 0;
    const int64_t macs = engine::node_macs(*p.node, p.in_dims, p.out_dims[0]);
    return macs > 0 ? 2.0 * static_cast<double>(macs) * static_cast<double>(p.images) : 0;
}

std::string precision_of(const ir::Node& n) {
    if (n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear") return "Q/DQ";
    if (ir::fused::is_fused_op(n)) return "INT8";
    for (const ir::Value* v : n.inputs())
        if (v && is_quantized_type(v->dtype())) return "INT8";
    return "FP32";
}

bool is_conv(const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == ir::fused::kQConv || op == ir::fused::kQConvTranspose ||
           op == ir::fused::kFusedConv;
}

// Where tools/ort_bench.js is: $QAT_ORT_BENCH, else next to the binary's source tree
// (<repo>/build*/bin/qat -> <repo>/tools), else ./tools.
Result<std::string> find_ort_bench() {
    if (const char* env = std::getenv("QAT_ORT_BENCH")) {
        if (std::filesystem::exists(env)) return std::string(env);
        return not_found("QAT_ORT_BENCH='", env, "' does not exist");
    }
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    for (std::filesystem::path d = exe.parent_path(); !ec && !d.empty() && d != d.parent_path(); d = d.parent_path()) {
        auto cand = d / "tools" / "ort_bench.js";
        if (std::filesystem::exists(cand)) return cand.string();
    }
    if (std::filesystem::exists("tools/ort_bench.js")) return std::string("tools/ort_bench.js");
    return not_found("tools/ort_bench.js not found (set QAT_ORT_BENCH to its path)");
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// ONNX Runtime on the same file, batch and threads. `profile_runs` > 0: that many runs with its
// own profiler on (a separate run: the profiler slows it), the result's "profile" holding it.
Result<nlohmann::json> run_ort(const BenchOptions& o, int threads, int profile_runs = 0) {
    QAT_ASSIGN_OR_RETURN(std::string script, find_ort_bench());
    const char* node = std::getenv("QAT_NODE");
    std::string cmd = shell_quote(node ? node : "node") + " " + shell_quote(script) + " " + shell_quote(o.model) +
                      " --batch " + std::to_string(o.engine.batch) + " --threads " + std::to_string(threads) +
                      " --warmup " + std::to_string(o.warmup);
    if (profile_runs > 0)
        cmd += " --iterations " + std::to_string(profile_runs) + " --profile";
    else if (o.iterations > 0)
        cmd += " --iterations " + std::to_string(o.iterations);
    else
        cmd += " --duration " + std::to_string(o.duration);
    cmd += " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return io_error("cannot start node for --compare-ort");
    std::string text;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) text.append(buf.data(), n);
    int rc = pclose(p);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (rc != 0) {
        std::string last = text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
        return failed_precondition("ONNX Runtime run failed: ", last.empty() ? "node exited with an error" : last);
    }
    auto j = nlohmann::json::parse(text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1),
                                   nullptr, false);
    if (j.is_discarded() || !j.contains("latency_ms") || (profile_runs > 0 && !j.contains("profile")))
        return internal_error("unexpected output of ort_bench.js: ", text);
    return j;
}

// ONNX Runtime's own per-node profile (tools/ort_bench.js --profile), next to ours: time per op
// type and the slowest nodes, after its graph rewrites (its names and fused ops).
void print_ort_profile(const nlohmann::json& p) {
    std::printf("\nONNX Runtime profile (%d runs, its own profiler, kernel time per run): %.3f ms\n",
                p.value("runs", 0), p.value("total_ms", 0.0));
    std::vector<std::pair<double, std::string>> ops;
    for (const auto& [op, ms] : p["by_op_ms"].items()) ops.emplace_back(ms.get<double>(), op);
    std::sort(ops.rbegin(), ops.rend());
    std::printf("  by op:");
    for (const auto& [ms, op] : ops) std::printf(" %s %.3f;", op.c_str(), ms);
    std::printf("\n  %-4s %-48s %-24s %9s\n", "#", "node (ONNX Runtime's)", "op", "ms");
    int i = 0;
    for (const auto& n : p["nodes"]) {
        if (i == 20) break;
        std::printf("  %-4d %-48.48s %-24.24s %9.3f\n", i++, n.value("name", "").c_str(), n.value("op", "").c_str(),
                    n.value("ms", 0.0));
    }
}

Status bench(const BenchOptions& opt) {
    BenchOptions o = opt;
    QAT_RETURN_IF_ERROR(check_engine_flags(o.engine));
    // No --batch (-1): 1 for an .onnx, the engine's own batch for an engine file built with a
    // fixed one (asking for batch 1 there would be refused).
    const bool batch_given = o.engine.batch >= 0;
    if (batch_given && o.engine.batch < 1) return invalid_argument("--batch must be >= 1, got ", o.engine.batch);
    if (o.iterations == 0 && o.duration <= 0) o.duration = 3.0;
    engine::EngineOptions eo = to_engine_options(o.engine);
    if (!batch_given) eo.batch = engine::is_engine_file(o.model) ? 0 : 1;
    QAT_ASSIGN_OR_RETURN(engine::OpenedModel m, engine::open_model_or_engine(o.model, eo));
    if (!batch_given) o.engine.batch = m.engine.options().batch > 0 ? m.engine.options().batch : 1;
    if (o.compare_ort && m.source == engine::ModelSource::kEngineFile)
        return invalid_argument("--compare-ort needs the .onnx model: ONNX Runtime cannot read '", o.model,
                                "', a qat engine file");
    engine::Engine& e = m.engine;
    QAT_ASSIGN_OR_RETURN(std::vector<Tensor> inputs, make_inputs(e, o.engine.batch, o.seed));
    const int threads = e.threads();

    auto once = [&]() -> Result<double> {
        auto t0 = std::chrono::steady_clock::now();
        auto r = e.run(inputs);
        if (!r.ok()) return std::move(r).take_status();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    };
    for (int i = 0; i < o.warmup; ++i) QAT_RETURN_IF_ERROR(once().status());
    std::vector<double> lat;
    auto t_start = std::chrono::steady_clock::now();
    for (int i = 0;; ++i) {
        if (o.iterations > 0
                ? i >= o.iterations
                : std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count() >= o.duration)
            break;
        QAT_ASSIGN_OR_RETURN(double ms, once());
        lat.push_back(ms);
    }
    LatencyStats ours = stats_of(lat, o.engine.batch);

    // Per-step profile, in a separate pass so that the clock reads do not touch the latencies.
    std::vector<runtime::StepProfile> prof;
    int prof_runs = 0;
    if (o.profile) {
        // No --peak-gops: measure the VNNI loop here (0 on CPUs without AVX-512 VNNI: no % then).
        if (o.peak_gops <= 0) o.peak_gops = qat::bench::vnni_peak_gops(threads, 0.3);
        e.plan().set_profiling(true);
        e.plan().reset_profile();
        prof_runs = std::max(3, std::min(50, ours.iterations));
        for (int i = 0; i < prof_runs; ++i) QAT_RETURN_IF_ERROR(once().status());
        prof = e.plan().profile();
        e.plan().set_profiling(false);
    }

    nlohmann::json ort, ort_profile;
    bool have_ort = false;
    if (o.compare_ort) {
        QAT_ASSIGN_OR_RETURN(ort, run_ort(o, threads));
        have_ort = true;
        if (o.profile) {
            QAT_ASSIGN_OR_RETURN(nlohmann::json p, run_ort(o, threads, prof_runs));
            ort_profile = p["profile"];
        }
    }

    std::string backends;
    for (const auto& b : o.engine.backends) backends += (backends.empty() ? "" : ",") + b;
    if (backends.empty()) backends = "all";
    nlohmann::json j = stats_json(ours);
    j["model"] = o.model;
    j["source"] = m.source == engine::ModelSource::kEngineFile ? "engine" : "onnx";
    j["batch"] = o.engine.batch;
    j["threads"] = threads;
    j["backends"] = backends;
    j["fp32_layout"] = engine::fp32_layout_name(e.options().fp32_layout);
    j["serial_steps"] = e.options().serial_steps;
    // The last step run one image at a time on a batch ("" for none).
    j["image_through"] = e.options().image_through;
    j["warmup"] = o.warmup;
    double speedup = 0;
    if (have_ort) {
        j["ort"] = ort;
        double ort_median = ort["latency_ms"]["median"].get<double>();
        speedup = ours.median > 0 ? ort_median / ours.median : 0;
        j["speedup_vs_ort"] = speedup;
        if (!ort_profile.is_null()) j["ort_profile"] = ort_profile;
    }

    // Profile rows and totals.
    struct Row {
        std::string name, op, backend, precision, layout, impl;
        double ms = 0, gops = 0, convert_ms = 0;
        int threads = 0;
    };
    std::vector<Row> rows;
    double total = 0, int8_ms = 0, fp32_ms = 0, qdq_ms = 0, convert_ms = 0, conv_ms = 0, conv_ops = 0, int8_conv_ms = 0,
           int8_conv_ops = 0, all_ops = 0;
    for (const auto& p : prof) {
        if (p.runs == 0) continue;
        Row r;
        r.name = p.node->name();
        r.op = (p.node->domain().empty() ? "" : p.node->domain() + "::") + p.node->op_type();
        r.backend = p.backend;
        r.precision = precision_of(*p.node);
        r.layout = p.out_layout;
        r.impl = p.implementation;
        r.threads = p.threads;
        r.ms = p.total_ms / static_cast<double>(p.runs);
        r.convert_ms = p.convert_ms / static_cast<double>(p.runs);
        double ops = step_ops(p);
        r.gops = r.ms > 0 ? ops / (r.ms * 1e6) : 0;
        total += r.ms;
        convert_ms += r.convert_ms;
        all_ops += ops;
        (r.precision == "INT8" ? int8_ms : r.precision == "Q/DQ" ? qdq_ms : fp32_ms) += r.ms;
        if (is_conv(p.node->op_type())) {
            conv_ms += r.ms;
            conv_ops += ops;
            if (r.precision == "INT8") {
                int8_conv_ms += r.ms;
                int8_conv_ops += ops;
            }
        }
        rows.push_back(r);
    }
    if (o.profile) {
        nlohmann::json pj = nlohmann::json::array();
        for (const auto& r : rows)
            pj.push_back({{"node", r.name},
                          {"op", r.op},
                          {"backend", r.backend},
                          {"precision", r.precision},
                          {"ms", r.ms},
                          {"percent", total > 0 ? 100.0 * r.ms / total : 0},
                          {"gops", r.gops},
                          {"convert_ms", r.convert_ms},
                          {"layout", r.layout},
                          {"implementation", r.impl},
                          {"threads", r.threads}});
        j["profile"] = pj;
        nlohmann::json sj = {{"runs", prof_runs},
                             {"steps_ms", total},
                             {"int8_ms", int8_ms},
                             {"fp32_ms", fp32_ms},
                             {"qdq_ms", qdq_ms},
                             {"convert_ms", convert_ms},
                             {"conv_ms", conv_ms},
                             {"gops", all_ops / 1e9},
                             {"conv_gops", conv_ms > 0 ? conv_ops / (conv_ms * 1e6) : 0},
                             {"int8_conv_gops", int8_conv_ms > 0 ? int8_conv_ops / (int8_conv_ms * 1e6) : 0}};
        if (o.peak_gops > 0 && int8_conv_ms > 0)
            sj["int8_conv_percent_of_peak"] = 100.0 * int8_conv_ops / (int8_conv_ms * 1e6) / o.peak_gops;
        if (o.peak_gops > 0) sj["peak_gops"] = o.peak_gops;
        j["profile_summary"] = sj;
    }

    if (o.json) {
        std::printf("%s\n", j.dump().c_str());
        return OkStatus();
    }
    auto print_stats = [](const LatencyStats& s) {
        std::printf("  latency ms: min %.3f  median %.3f  mean %.3f  p90 %.3f  p99 %.3f\n", s.min, s.median, s.mean,
                    s.p90, s.p99);
        std::printf("  throughput: %.1f inferences/s (%d iterations)\n", s.throughput, s.iterations);
    };
    std::printf("qat bench: %s (%s), batch %lld, %d thread%s, backends %s\n", o.model.c_str(),
                m.source == engine::ModelSource::kEngineFile ? "engine file" : "onnx, built on the fly",
                static_cast<long long>(o.engine.batch), threads, threads == 1 ? "" : "s", backends.c_str());
    std::printf("  FP32 convolution layout: %s\n", e.fp32_layout_note().c_str());
    std::printf("  step threads: %s\n", e.step_threads_note().c_str());
    std::printf("  image steps: %s\n", e.image_steps_note().c_str());
    print_stats(ours);
    if (o.profile) {
        std::printf("\nprofile (%d runs, mean per run; GOPS = 2 ops per multiply-add):\n", prof_runs);
        std::printf("  %-4s %-32s %-24s %-7s %-5s %9s %6s %8s  %s\n", "#", "node", "op", "backend", "prec", "ms", "%",
                    "GOPS", "layout / implementation");
        int i = 0;
        for (const auto& r : rows) {
            std::string gops = r.gops > 0 ? std::to_string(static_cast<int>(std::lround(r.gops))) : "";
            std::printf(
                "  %-4d %-32.32s %-24.24s %-7s %-5s %9.3f %6.1f %8s  %s%s\n", i++, r.name.c_str(), r.op.c_str(),
                r.backend.c_str(), r.precision.c_str(), r.ms, total > 0 ? 100.0 * r.ms / total : 0.0, gops.c_str(),
                (r.layout + (r.impl.empty() ? "" : "  " + r.impl) +
                 (r.threads == 1 && threads > 1 ? "  (1 thread)" : ""))
                    .c_str(),
                r.convert_ms > 0.001 ? (" (+" + std::to_string(r.convert_ms).substr(0, 5) + " ms to plain)").c_str()
                                     : "");
        }
        std::printf("  steps %.3f ms: INT8 %.3f, FP32 %.3f, Q/DQ %.3f, layout conversions %.3f\n", total, int8_ms,
                    fp32_ms, qdq_ms, convert_ms);
        if (conv_ms > 0) {
            std::printf("  convolutions: %.3f ms, %.1f GOPS", conv_ms, conv_ops / (conv_ms * 1e6));
            if (int8_conv_ms > 0) {
                double g = int8_conv_ops / (int8_conv_ms * 1e6);
                std::printf("; INT8 ones %.1f GOPS", g);
                if (o.peak_gops > 0)
                    std::printf(" = %.0f%% of the %.0f GOPS peak", 100.0 * g / o.peak_gops, o.peak_gops);
            }
            std::printf("\n");
        }
    }
    if (have_ort) {
        LatencyStats s;
        s.min = ort["latency_ms"]["min"].get<double>();
        s.median = ort["latency_ms"]["median"].get<double>();
        s.mean = ort["latency_ms"]["mean"].get<double>();
        s.p90 = ort["latency_ms"]["p90"].get<double>();
        s.p99 = ort["latency_ms"]["p99"].get<double>();
        s.throughput = ort["throughput_per_s"].get<double>();
        s.iterations = ort.value("iterations", 0);
        std::printf("\nONNX Runtime %s, same file, batch and threads:\n", ort.value("ort_version", "?").c_str());
        print_stats(s);
        std::printf("speedup vs ONNX Runtime (median latency): %.2fx\n", speedup);
        if (!ort_profile.is_null()) print_ort_profile(ort_profile);
    }
    return OkStatus();
}

}  // namespace

void add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    o->engine.batch = -1;  // not given: see bench()
    auto* sub = app.add_subcommand("bench", "Measure latency and throughput of a model (.onnx or .engine)");
    sub->add_option("model", o->model, "Model: .onnx (built on the fly) or .engine")->required();
    add_engine_flags(sub, &o->engine, true,
                     "Batch size of the random inputs (fixed at build time; default 1, or an engine file's own batch)");
    sub->add_option("--warmup", o->warmup, "Untimed runs first (default 10)")->check(CLI::NonNegativeNumber);
    auto* it = sub->add_option("--iterations", o->iterations, "Timed runs")->check(CLI::PositiveNumber);
    auto* du = sub->add_option("--duration", o->duration, "Timed seconds (default 3 when --iterations is not given)")
                   ->check(CLI::PositiveNumber);
    it->excludes(du);
    sub->add_flag("--profile", o->profile,
                  "Time every step: backend, INT8/FP32, GOPS, layout conversions (with --compare-ort: ONNX "
                  "Runtime's own per-node profile too, from a separate run)");
    sub->add_option("--peak-gops", o->peak_gops,
                    "INT8 peak GOPS for % of peak (default with --profile: measured with a VNNI loop)")
        ->check(CLI::PositiveNumber);
    sub->add_flag("--compare-ort", o->compare_ort,
                  "Also run ONNX Runtime (tools/ort_bench.js) on the same .onnx, batch and threads");
    sub->add_option("--seed", o->seed, "Seed of the random inputs");
    sub->add_flag("--json", o->json, "Print one JSON object");
    sub->callback([o] { run_command("bench", [o] { return bench(*o); }); });
}

}  // namespace qat::cli
