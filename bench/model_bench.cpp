// Model benchmark behind docs/BENCHMARKS.md: ResNet-50 v1, MobileNetV2 and EfficientNet-B0 at
// 224x224 (random weights from the model zoo), quantized TensorRT-style (Q/DQ on every conv
// input and weight, ranges from a random-input calibration pass), then timed side by side in one
// run, same batch and threads:
//   ours INT8   the Q/DQ file through the engine (fused com.qat ops on oneDNN)
//   ours FP32   the FP32 file through the engine (BN folded, FP32 oneDNN kernels)
//   ORT FP32    ONNX Runtime on the FP32 file          (tools/ort_bench.js)
//   ORT Q/DQ    ONNX Runtime on the very same Q/DQ file
// plus the achieved GOPS of our INT8 convolutions as a percentage of the VNNI peak measured here.
//
//   build-onednn/bin/qat_model_bench [--models resnet_v1,mobilenet_v2,efficientnet_b0]
//       [--batch 1,16] [--threads 2] [--warmup 5] [--iterations 30] [--rounds 3] [--out-dir DIR]
//       [--json FILE] [--markdown FILE] [--no-ort]
// The four are timed in --rounds alternating rounds of iterations/rounds runs each (ours INT8,
// ours FP32, ORT FP32, ORT Q/DQ, then again), and the medians and minima are taken over all the
// runs of each: on a shared machine whose load drifts over minutes, alternation keeps the ratios
// from depending on which of the four happened to run in a quiet minute.
// stdout gets the Markdown table as the rows come in; --markdown writes the same table with its
// header (date, machine, command, VNNI peak) and the goal check of issue 6 to FILE, --json one
// object {"date", "machine", "command", "threads", "vnni_peak_gops", "results": [...]} to FILE.
// ORT columns are "n/a" when node / onnxruntime-node cannot run the file (--no-ort: not run).
// Each row is also checked for numbers, not only timed: the engines' outputs on the timed input
// against ONNX Runtime's on the same files (tools/ort_run.js), printed as a second table ("agree"
// within the bounds of kInt8AgreeRel / kFp32AgreeRel, "DIFFER" otherwise).
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "bench_util.h"
#include "core/file_util.h"
#include "core/npy.h"
#include "core/strings.h"
#include "engine/engine.h"
#include "engine/explain.h"
#include "int8_peak.h"
#include "ir/fused_ops.h"
#include "models/zoo.h"
#include "onnx/onnx_export.h"
#include "quant/quantize.h"
#include "runtime/plan.h"

namespace {

using namespace qat;

struct Args {
    std::vector<std::string> models{"resnet_v1", "mobilenet_v2", "efficientnet_b0"};
    std::vector<int64_t> batches{1, 16};
    int threads = 2;
    int warmup = 5;
    int iterations = 30;
    int rounds = 3;
    std::string out_dir;
    std::string json_path;
    std::string markdown_path;
    bool ort = true;
};

[[noreturn]] void die(const std::string& msg) { bench::fail("qat_model_bench", msg); }

using bench::cpu_model;
using bench::utc_now;

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) die(k + " needs a value");
            return argv[++i];
        };
        auto num = [&](const std::string& v) {
            char* end = nullptr;
            long x = std::strtol(v.c_str(), &end, 10);
            if (*end || x < 0) die("bad value '" + v + "' for " + k);
            return x;
        };
        if (k == "--models")
            a.models = split_list(val());
        else if (k == "--batch") {
            a.batches.clear();
            for (const auto& b : split_list(val())) a.batches.push_back(num(b));
        } else if (k == "--threads")
            a.threads = static_cast<int>(num(val()));
        else if (k == "--warmup")
            a.warmup = static_cast<int>(num(val()));
        else if (k == "--iterations")
            a.iterations = static_cast<int>(num(val()));
        else if (k == "--out-dir")
            a.out_dir = val();
        else if (k == "--json")
            a.json_path = val();
        else if (k == "--markdown")
            a.markdown_path = val();
        else if (k == "--rounds")
            a.rounds = static_cast<int>(num(val()));
        else if (k == "--no-ort")
            a.ort = false;
        else
            die("unknown option " + k);
    }
    if (a.threads < 1 || a.iterations < 1 || a.rounds < 1) die("--threads, --iterations and --rounds must be >= 1");
    if (a.rounds > a.iterations) die("--rounds must not exceed --iterations");
    return a;
}

Tensor random_input(std::vector<int64_t> dims, uint64_t seed) {
    Tensor t = Tensor::empty(DataType::kFloat32, std::move(dims));
    std::mt19937_64 g(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(g);
    return t;
}

// Calibration on random images (the weights are random too): amax of every tensor asked for.
quant::ActivationRangeFn random_calibration(int threads) {
    return [threads](const ir::Graph& g,
                     const std::vector<std::string>& tensors) -> Result<std::map<std::string, float>> {
        std::set<std::string> want(tensors.begin(), tensors.end());
        std::map<std::string, float> amax;
        QAT_ASSIGN_OR_RETURN(
            auto plan, runtime::Plan::compile(g, {.registry = &backends::default_registry(), .num_threads = threads}));
        auto observe = [&](const std::string& name, const Tensor& t) {
            if (!want.count(name) || t.dtype() != DataType::kFloat32) return;
            float m = amax.count(name) ? amax[name] : 0.0f;
            for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data<float>()[i]));
            amax[name] = m;
        };
        for (uint64_t s = 0; s < 2; ++s) {
            Tensor x = random_input({1, 3, 224, 224}, 100 + s);
            observe(plan->input_names()[0], x);
            auto r = plan->run(std::vector<Tensor>{x}, [&](const ir::Node& n, const std::vector<Tensor>& outs) {
                for (size_t i = 0; i < outs.size(); ++i)
                    if (n.output(i)) observe(n.output(i)->name(), outs[i]);
                return OkStatus();
            });
            if (!r.ok()) return std::move(r).take_status();
        }
        for (const auto& t : tensors)
            if (!amax.count(t) || amax[t] <= 0) amax[t] = 1.0f;
        return amax;
    };
}

struct Timing {
    double median = 0, mean = 0, min = 0, p90 = 0;
};

// Appends `iterations` timed runs (ms) after `warmup` untimed ones.
void time_engine(engine::Engine& e, const Tensor& x, int warmup, int iterations, std::vector<double>* samples) {
    std::vector<Tensor> in{x};
    for (int i = 0; i < warmup; ++i) {
        auto r = e.run(in);
        if (!r.ok()) die(r.status().to_string());
    }
    for (int i = 0; i < iterations; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = e.run(in);
        if (!r.ok()) die(r.status().to_string());
        samples->push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
}

Timing summarize(std::vector<double> lat) {
    Timing t;
    if (lat.empty()) return t;
    std::sort(lat.begin(), lat.end());
    t.min = lat.front();
    t.median = lat[lat.size() / 2];
    for (double v : lat) t.mean += v / static_cast<double>(lat.size());
    t.p90 = lat[std::min(lat.size() - 1, static_cast<size_t>(std::ceil(0.9 * static_cast<double>(lat.size()))) - 1)];
    return t;
}

// Conv GOPS of an engine's INT8 convolutions from the plan's per-step profile.
struct ConvStats {
    double int8_conv_ms = 0, int8_conv_gop = 0, steps_ms = 0, fp32_ms = 0, convert_ms = 0;
    int int8_ops = 0, fp32_ops = 0;
};

ConvStats profile_engine(engine::Engine& e, const Tensor& x, int runs) {
    e.plan().set_profiling(true);
    e.plan().reset_profile();
    for (int i = 0; i < runs; ++i) {
        auto r = e.run(std::vector<Tensor>{x});
        if (!r.ok()) die(r.status().to_string());
    }
    ConvStats s;
    for (const auto& p : e.plan().profile()) {
        if (p.runs == 0) continue;
        double ms = p.total_ms / static_cast<double>(p.runs);
        s.steps_ms += ms;
        s.convert_ms += p.convert_ms / static_cast<double>(p.runs);
        const ir::Node& n = *p.node;
        bool q = ir::fused::is_fused_op(n);
        if (q)
            ++s.int8_ops;
        else if (n.op_type() != "QuantizeLinear" && n.op_type() != "DequantizeLinear") {
            bool int_in = false;
            for (auto* v : n.inputs()) int_in = int_in || (v && is_quantized_type(v->dtype()));
            if (!int_in) {
                ++s.fp32_ops;
                s.fp32_ms += ms;
            }
        }
        const int64_t macs = p.out_dims.empty() ? -1 : engine::node_macs(n, p.in_dims, p.out_dims[0]) * p.images;
        if (n.op_type() == ir::fused::kQConv && macs > 0) {
            s.int8_conv_gop += 2.0 * static_cast<double>(macs) / 1e9;
            s.int8_conv_ms += ms;
        }
    }
    e.plan().set_profiling(false);
    return s;
}

std::string ort_bench_script() { return std::string(QAT_SOURCE_DIR) + "/tools/ort_bench.js"; }

// Appends ONNX Runtime's timed runs of `model` (ms) to `samples`; false with a message.
bool run_ort(const std::string& model, int64_t batch, int threads, int warmup, int iterations, std::string* err,
             std::vector<double>* samples) {
    std::string cmd = "node '" + ort_bench_script() + "' '" + model + "' --batch " + std::to_string(batch) +
                      " --threads " + std::to_string(threads) + " --warmup " + std::to_string(warmup) +
                      " --iterations " + std::to_string(iterations) + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) {
        *err = "cannot start node";
        return false;
    }
    std::string text;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) text.append(buf.data(), n);
    int rc = pclose(p);
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (rc != 0 || j.is_discarded() || !j.contains("samples_ms") || !j["samples_ms"].is_array()) {
        *err = text;
        return false;
    }
    for (const auto& v : j["samples_ms"]) samples->push_back(v.get<double>());
    return true;
}

// `v` when it was measured (`have`), JSON null otherwise.
nlohmann::json json_if(bool have, double v) { return have ? nlohmann::json(v) : nlohmann::json(nullptr); }

// Bounds of the agreement check, as max |ours - ORT| / max |ORT| over the logits: the INT8 engine
// fuses what ORT runs op by op (a step of difference per fused op, the contract of ir/fused_ops.h,
// which 50-odd layers of random weights compound), the FP32 engine re-associates float sums
// (Winograd, folded BN).
constexpr double kInt8AgreeRel = 0.1, kFp32AgreeRel = 1e-3;

// How an engine's output compares with ONNX Runtime's on the same file and input.
struct Agreement {
    bool ran = false;
    double rel = 0;     // max |ours - ORT| / max |ORT|
    double top1 = 0;    // share of the batch with the same arg-max, percent
    std::string error;  // why it did not run
};

// Runs `model` in ONNX Runtime on `x` (saved to `dir`) and compares with `ours` (logits [N, K]).
Agreement agree_with_ort(const std::string& model, const std::string& input_name, const Tensor& x, const Tensor& ours,
                         const std::string& dir, int threads) {
    Agreement a;
    const std::string in = dir + "/agree_input.npy", out_dir = dir + "/agree_ort";
    if (auto s = save_npy(in, x); !s.ok()) {
        a.error = s.to_string();
        return a;
    }
    std::filesystem::remove_all(out_dir);
    const std::string cmd = "node '" + std::string(QAT_SOURCE_DIR) + "/tools/ort_run.js' '" + model + "' --input '" +
                            input_name + "=" + in + "' --out-dir '" + out_dir + "' --threads " +
                            std::to_string(threads) + " > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
        a.error = "tools/ort_run.js failed on " + model;
        return a;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& f : std::filesystem::directory_iterator(out_dir)) files.push_back(f.path());
    if (files.size() != 1) {
        a.error = "ONNX Runtime wrote " + std::to_string(files.size()) + " outputs, expected 1";
        return a;
    }
    auto ref = load_npy(files[0].string());
    if (!ref.ok() || ref->numel() != ours.numel() || ours.rank() != 2) {
        a.error = "ONNX Runtime's output does not match ours in size";
        return a;
    }
    const float* r = ref->data<float>();
    const float* o = ours.data<float>();
    double worst = 0, top = 0;
    for (int64_t i = 0; i < ours.numel(); ++i) {
        worst = std::max(worst, static_cast<double>(std::fabs(o[i] - r[i])));
        top = std::max(top, static_cast<double>(std::fabs(r[i])));
    }
    const int64_t n = ours.dim(0), k = ours.dim(1);
    int64_t same = 0;
    for (int64_t b = 0; b < n; ++b)
        same += std::max_element(o + b * k, o + (b + 1) * k) - o - b * k ==
                std::max_element(r + b * k, r + (b + 1) * k) - r - b * k;
    a.ran = true;
    a.rel = top > 0 ? worst / top : worst;
    a.top1 = 100.0 * static_cast<double>(same) / static_cast<double>(n);
    return a;
}

std::string agree_cell(const Agreement& a, double bound) {
    if (!a.ran) return "n/a";
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.2g, top-1 %.0f%% %s", a.rel, a.top1, a.rel <= bound ? "agree" : "DIFFER");
    return buf;
}

// The 1-minute load average: benchmarks on a shared machine are only as good as this is low.
double load_average() {
    std::ifstream f("/proc/loadavg");
    double l = -1;
    f >> l;
    return l;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// One measured configuration: the numbers of a table row.
struct Row {
    std::string model;
    int64_t batch = 0;
    double int8 = 0, fp32 = 0, ort_fp32 = -1, ort_qdq = -1, conv_gops = 0, peak = 0;
};

double ratio(double num, double den) { return num > 0 && den > 0 ? num / den : 0.0; }
std::string ms_cell(double v) { return v > 0 ? fmt("%.2f", v) : "n/a"; }
std::string x_cell(double v) { return v > 0 ? fmt("%.2fx", v) : "n/a"; }

const char* kTableHeader =
    "| model | batch | ours INT8 ms | ours FP32 ms | ORT INT8 (Q/DQ file) ms | ORT FP32 ms | INT8 vs ORT FP32 | "
    "INT8 vs ORT Q/DQ | INT8 vs our FP32 | our FP32 vs ORT FP32 | INT8 conv GOPS | % of VNNI peak |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n";

std::string table_row(const Row& r) {
    return "| " + r.model + " | " + std::to_string(r.batch) + " | " + ms_cell(r.int8) + " | " + ms_cell(r.fp32) +
           " | " + ms_cell(r.ort_qdq) + " | " + ms_cell(r.ort_fp32) + " | " + x_cell(ratio(r.ort_fp32, r.int8)) +
           " | " + x_cell(ratio(r.ort_qdq, r.int8)) + " | " + x_cell(ratio(r.fp32, r.int8)) + " | " +
           x_cell(ratio(r.ort_fp32, r.fp32)) + " | " + fmt("%.0f", r.conv_gops) + " | " +
           (r.peak > 0 ? fmt("%.0f%%", 100.0 * r.conv_gops / r.peak) : std::string("n/a")) + " |\n";
}

// The goals of issue 6, checked row by row ("met" / "MISSED" / "n/a"; "(no goal)" where the goal
// is another model's).
std::string goal_table(const std::vector<Row>& rows) {
    struct Goal {
        const char* name;
        double target;
        double (*value)(const Row&);
        const char* unit;
        const char* only_model = nullptr;  // the goal is this model's (others: the value, no verdict)
    };
    const Goal goals[] = {
        {"INT8 vs ORT FP32 >= 3.0x", 3.0, [](const Row& r) { return ratio(r.ort_fp32, r.int8); }, "x"},
        {"INT8 vs ORT Q/DQ >= 4.0x", 4.0, [](const Row& r) { return ratio(r.ort_qdq, r.int8); }, "x"},
        {"INT8 vs our FP32 >= 3.0x", 3.0, [](const Row& r) { return ratio(r.fp32, r.int8); }, "x"},
        {"our FP32 vs ORT FP32 >= 1.0x", 1.0, [](const Row& r) { return ratio(r.ort_fp32, r.fp32); }, "x"},
        // Issue 6 sets this one for ResNet-50's convolutions only.
        {"ResNet-50's INT8 convs >= 70% of VNNI peak", 70.0,
         [](const Row& r) { return r.peak > 0 ? 100.0 * r.conv_gops / r.peak : 0.0; }, "%", "resnet_v1"},
    };
    std::string out = "| goal |";
    for (const auto& r : rows) out += " " + r.model + " b" + std::to_string(r.batch) + " |";
    out += "\n|---|";
    for (size_t i = 0; i < rows.size(); ++i) out += "---|";
    out += "\n";
    for (const auto& g : goals) {
        out += std::string("| ") + g.name + " |";
        for (const auto& r : rows) {
            double v = g.value(r);
            if (v <= 0)
                out += " n/a |";
            else if (g.only_model && r.model != g.only_model)
                out += " " + fmt(g.unit[0] == '%' ? "%.0f" : "%.2f", v) + g.unit + " (no goal) |";
            else
                out += " " + fmt(g.unit[0] == '%' ? "%.0f" : "%.2f", v) + g.unit +
                       (v >= g.target ? " met" : " MISSED") + " |";
        }
        out += "\n";
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    Args a = parse(argc, argv);
    std::string command = "qat_model_bench";
    for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
    std::string dir = a.out_dir;
    if (dir.empty()) dir = (std::filesystem::temp_directory_path() / "qat_model_bench").string();
    std::filesystem::create_directories(dir);

    const std::string date = utc_now(), machine = cpu_model();
    const double load_start = load_average();
    double peak = qat::bench::vnni_peak_gops(a.threads, 1.0);
    std::printf("%s; machine: %s, %d threads; VNNI loop peak %.0f GOPS; load average %.1f\n", date.c_str(),
                machine.c_str(), a.threads, peak, load_start);
    std::printf("%s", kTableHeader);
    std::fflush(stdout);
    std::vector<Row> rows, min_rows;
    std::string layouts;  // the FP32 engines' layout choice (EngineOptions::fp32_layout = auto)
    std::string images;   // the steps each engine runs one image at a time (EngineOptions::image_steps = auto)
    std::string agreement =
        "| model | batch | our INT8 vs ORT on the Q/DQ file: max diff / max, top-1 | our FP32 vs ORT FP32: max diff / "
        "max, top-1 |\n|---|---|---|---|\n";
    nlohmann::json results = nlohmann::json::array();
    for (const auto& name : a.models) {
        models::ZooOptions zo;
        zo.channels = 3;
        zo.height = zo.width = 224;
        zo.classes = 1000;
        zo.variant = models::ZooVariant::kFull;
        zo.seed = 1;
        auto g = models::build_zoo_model(name, zo);
        if (!g.ok()) die(g.status().to_string());
        std::string fp32_path = dir + "/" + name + "_fp32.onnx", qdq_path = dir + "/" + name + "_qdq.onnx";
        if (auto s = onnx::save_model(**g, fp32_path); !s.ok()) die(s.to_string());
        auto q = (*g)->clone();
        quant::QuantizeOptions qo;
        qo.activation_ranges = random_calibration(a.threads);
        auto qs = quant::quantize_graph(*q, qo);
        if (!qs.ok()) die("quantize " + name + ": " + qs.status().to_string());
        if (auto s = onnx::save_model(*q, qdq_path); !s.ok()) die(s.to_string());

        for (int64_t b : a.batches) {
            Tensor x = random_input({b, 3, 224, 224}, 7);
            auto e8 = engine::build_engine(*q, {.threads = a.threads, .batch = b});
            if (!e8.ok()) die("INT8 engine of " + name + ": " + e8.status().to_string());
            auto e32 = engine::build_engine(**g, {.threads = a.threads, .batch = b, .fuse_int8 = false});
            if (!e32.ok()) die("FP32 engine of " + name + ": " + e32.status().to_string());
            // Alternating rounds (see the header): every round warms each one up again.
            std::vector<double> s8, s32, so32, soq;
            bool ort32_ok = a.ort, ortq_ok = a.ort;
            std::string err;
            for (int round = 0; round < a.rounds; ++round) {
                const int it = a.iterations / a.rounds + (round < a.iterations % a.rounds ? 1 : 0);
                time_engine(*e8, x, a.warmup, it, &s8);
                time_engine(*e32, x, a.warmup, it, &s32);
                if (ort32_ok && !run_ort(fp32_path, b, a.threads, a.warmup, it, &err, &so32)) {
                    std::fprintf(stderr, "ORT FP32 %s: %s\n", name.c_str(), err.c_str());
                    ort32_ok = false;
                }
                if (ortq_ok && !run_ort(qdq_path, b, a.threads, a.warmup, it, &err, &soq)) {
                    std::fprintf(stderr, "ORT Q/DQ %s: %s\n", name.c_str(), err.c_str());
                    ortq_ok = false;
                }
            }
            const Timing t8 = summarize(s8), t32 = summarize(s32), o32 = summarize(so32), oq = summarize(soq);
            const double ort32 = ort32_ok ? o32.median : -1, ortq = ortq_ok ? oq.median : -1;
            const double ort32_min = ort32_ok ? o32.min : -1, ortq_min = ortq_ok ? oq.min : -1;
            ConvStats cs = profile_engine(*e8, x, std::max(3, a.iterations / 3));
            // The numbers of what was timed, against ONNX Runtime on the same files.
            Agreement ag8, ag32;
            if (a.ort) {
                const std::string in_name = q->inputs()[0]->name();
                auto y8 = e8->run(std::vector<Tensor>{x});
                auto y32 = e32->run(std::vector<Tensor>{x});
                if (!y8.ok() || !y32.ok()) die("engine run of " + name + " failed");
                ag8 = agree_with_ort(qdq_path, in_name, x, (*y8)[0], dir, a.threads);
                ag32 = agree_with_ort(fp32_path, in_name, x, (*y32)[0], dir, a.threads);
                for (const auto* g : {&ag8, &ag32})
                    if (!g->ran) std::fprintf(stderr, "agreement check of %s: %s\n", name.c_str(), g->error.c_str());
                agreement += "| " + name + " | " + std::to_string(b) + " | " + agree_cell(ag8, kInt8AgreeRel) + " | " +
                             agree_cell(ag32, kFp32AgreeRel) + " |\n";
            }
            const std::string layout = engine::fp32_layout_name(e32->options().fp32_layout);
            layouts += (layouts.empty() ? "" : ", ") + name + " b" + std::to_string(b) + " " + layout;
            if (b > 1) {
                auto through = [](const engine::Engine& e) {
                    const std::string& t = e.options().image_through;
                    return t.empty() ? std::string("none") : "through " + t;
                };
                images += (images.empty() ? "" : ", ") + name + " b" + std::to_string(b) + " INT8 " + through(*e8) +
                          ", FP32 " + through(*e32);
            }
            e8 = Status(StatusCode::kCancelled, "freed");
            e32 = Status(StatusCode::kCancelled, "freed");
            Row r;
            r.model = name;
            r.batch = b;
            r.int8 = t8.median;
            r.fp32 = t32.median;
            r.ort_fp32 = ort32;
            r.ort_qdq = ortq;
            r.conv_gops = cs.int8_conv_ms > 0 ? cs.int8_conv_gop / (cs.int8_conv_ms / 1e3) : 0;
            r.peak = peak;
            rows.push_back(r);
            // The same row from the fastest run of each: less sensitive to other work on the machine.
            Row m = r;
            m.int8 = t8.min;
            m.fp32 = t32.min;
            m.ort_fp32 = ort32 > 0 ? ort32_min : -1;
            m.ort_qdq = ortq > 0 ? ortq_min : -1;
            min_rows.push_back(m);
            std::printf("%s", table_row(r).c_str());
            std::fflush(stdout);
            results.push_back({{"model", name},
                               {"batch", b},
                               {"threads", a.threads},
                               {"ours_int8_ms", t8.median},
                               {"ours_int8_min_ms", t8.min},
                               {"ours_int8_p90_ms", t8.p90},
                               {"ours_fp32_ms", t32.median},
                               {"ours_fp32_min_ms", t32.min},
                               {"ort_fp32_ms", json_if(ort32 > 0, ort32)},
                               {"ort_qdq_ms", json_if(ortq > 0, ortq)},
                               {"ort_fp32_min_ms", json_if(ort32 > 0, ort32_min)},
                               {"ort_qdq_min_ms", json_if(ortq > 0, ortq_min)},
                               {"int8_vs_ort_fp32", ratio(ort32, t8.median)},
                               {"int8_vs_ort_qdq", ratio(ortq, t8.median)},
                               {"int8_vs_our_fp32", ratio(t32.median, t8.median)},
                               {"our_fp32_vs_ort_fp32", ratio(ort32, t32.median)},
                               {"int8_conv_gops", r.conv_gops},
                               {"int8_conv_percent_of_peak", peak > 0 ? 100.0 * r.conv_gops / peak : 0.0},
                               {"int8_fused_ops", cs.int8_ops},
                               {"fp32_ops", cs.fp32_ops},
                               {"fp32_ms", cs.fp32_ms},
                               {"layout_convert_ms", cs.convert_ms},
                               {"fp32_layout", layout},
                               {"int8_vs_ort_qdq_rel_diff", json_if(ag8.ran, ag8.rel)},
                               {"int8_vs_ort_qdq_top1_agree_percent", json_if(ag8.ran, ag8.top1)},
                               {"fp32_vs_ort_fp32_rel_diff", json_if(ag32.ran, ag32.rel)}});
        }
    }
    std::string goals = goal_table(rows);
    std::string min_table = kTableHeader;
    for (const auto& r : min_rows) min_table += table_row(r);
    std::printf("\nfastest run of each (min latency):\n%s", min_table.c_str());
    const double load_end = load_average();
    std::printf("\n%s", goals.c_str());
    if (a.ort)
        std::printf("\nnumbers (the timed input, against ONNX Runtime on the same files):\n%s", agreement.c_str());
    if (!a.json_path.empty()) {
        nlohmann::json j = {{"date", date},
                            {"machine", machine},
                            {"command", command},
                            {"threads", a.threads},
                            {"warmup", a.warmup},
                            {"iterations", a.iterations},
                            {"rounds", a.rounds},
                            {"vnni_peak_gops", peak},
                            {"load_average_start", load_start},
                            {"load_average_end", load_end},
                            {"results", results}};
        if (auto s = write_file_atomic(a.json_path, j.dump(2) + "\n"); !s.ok()) die(s.to_string());
    }
    if (!a.markdown_path.empty()) {
        std::string md = "Measured " + date + " on " + machine + ", " + std::to_string(a.threads) +
                         " threads, median of " + std::to_string(a.iterations) + " runs in " +
                         std::to_string(a.rounds) + " alternating rounds (each after " + std::to_string(a.warmup) +
                         " warm-up runs); VNNI loop peak " + fmt("%.0f", peak) + " GOPS; 1-minute load average " +
                         fmt("%.1f", load_start) + " at the start, " + fmt("%.1f", load_end) +
                         " at the end (other work on the machine: the higher, the noisier).\n\n    " + command +
                         "\n\n" + kTableHeader;
        for (const auto& r : rows) md += table_row(r);
        md += "\nOur FP32 engines' convolution layout, timed at build (`--fp32-layout auto`): " + layouts + ".\n";
        if (!images.empty())
            md += "\nSteps run one image at a time at batch > 1, timed at build (`--image-steps auto`): " + images +
                  ".\n";
        md += "\nGoal check (medians):\n\n" + goals;
        if (a.ort)
            md +=
                "\nNumbers: the engines' outputs on the timed input against ONNX Runtime's on the same files "
                "(agree: max diff / max within " +
                fmt("%.2g", kInt8AgreeRel) + " for INT8, " + fmt("%.2g", kFp32AgreeRel) + " for FP32):\n\n" + agreement;
        md +=
            "\nThe same from the fastest run of each (min latency; less sensitive to other work on the machine):\n\n" +
            min_table + "\n" + goal_table(min_rows);
        if (auto s = write_file_atomic(a.markdown_path, md); !s.ok()) die(s.to_string());
    }
    return 0;
}
