// Training step benchmark behind docs/BENCHMARKS.md ("Training step"): time per training step of
// the small model-zoo networks (1x28x28, 10 classes) at batch 64, FP32 (`qat train`) against QAT
// (`qat finetune`: every conv / gemm input and weight fake-quantized), through the real trainer
// (train::run_training: data loader, forward, cross-entropy, backward, SGD update), 2 threads.
// Goal of issue 5: QAT step <= 1.3x the FP32 step.
//
//   build-train/bin/train_step_bench [--models resnet_v1,mobilenet_v2,...] [--batch 64]
//       [--threads 2] [--warmup 3] [--steps 12] [--repeats 3] [--modes fixed,ema,learned]
//       [--markdown FILE]
//
// Each configuration runs `warmup` steps (libtorch allocations, first-touch), then runs of 2 and
// `steps` (>= 3) steps; the wall time per step is the trainer's own epoch time of the long run
// (training loop only: no validation, no calibration) divided by its steps, the CPU time per step
// the difference of the two runs' process CPU time (the number to trust on a busy machine). QAT modes: fixed
// (calibrated ranges, the default of a calibrated model), ema, learned (LSQ scales, weights too).
// With --repeats R the FP32 and QAT runs of a model alternate R times and each keeps its fastest
// run: on a shared machine the minimum is the time least disturbed by other tenants, and
// alternating puts FP32 and QAT under the same conditions.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "core/file_util.h"
#include "core/strings.h"
#include "models/zoo.h"
#include "quant/quantize.h"
#include "train/train.h"

namespace {

using namespace qat;

struct Args {
    std::vector<std::string> models{"resnet_v1", "resnet_v2", "mobilenet_v2", "efficientnet_b0", "inception"};
    std::vector<std::string> modes{"fixed", "ema"};
    int64_t batch = 64;
    int threads = 2;
    int64_t warmup = 3;
    int64_t steps = 12;
    int repeats = 3;
    std::string markdown_path;
};

[[noreturn]] void die(const std::string& msg) { bench::fail("train_step_bench", msg); }

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
        if (k == "--models") {
            a.models = split_list(val());
        } else if (k == "--modes") {
            a.modes = split_list(val());
        } else if (k == "--batch") {
            a.batch = std::stoll(val());
        } else if (k == "--threads") {
            a.threads = std::stoi(val());
        } else if (k == "--warmup") {
            a.warmup = std::stoll(val());
        } else if (k == "--steps") {
            a.steps = std::stoll(val());
        } else if (k == "--repeats") {
            a.repeats = std::stoi(val());
        } else if (k == "--markdown") {
            a.markdown_path = val();
        } else {
            die("unknown option " + k);
        }
    }
    if (a.batch < 1 || a.threads < 1 || a.steps < 3 || a.warmup < 0 || a.repeats < 1)
        die("bad --batch / --threads / --steps / --warmup / --repeats");
    for (const std::string& m : a.modes)
        if (m != "fixed" && m != "ema" && m != "learned") die("unknown mode " + m);
    return a;
}

struct StepTime {
    double wall = 0;  // seconds per step (the trainer's epoch time of the training loop)
    double cpu = 0;   // process CPU seconds per step (every thread, data loading included; robust to
                      // a busy machine, where wall time is not)
};

// Time per step of `steps` steps (after a warm-up run) on `graph`.
StepTime time_step(const ir::Graph& graph, const Args& a, bool finetune, const std::string& mode) {
    train::TrainOptions o;
    o.finetune = finetune;
    o.data = "fashion-mnist";
    o.train_limit = a.batch * std::max<int64_t>(a.steps, a.warmup) * 2;
    o.validate = false;
    o.batch_size = a.batch;
    o.lr = finetune ? 1e-3 : 0.05;
    o.threads = a.threads;
    o.quiet = true;
    if (mode == "ema") o.module.activation_mode = train::RangeMode::kEma;
    if (mode == "learned") {
        o.module.activation_mode = train::RangeMode::kLearned;
        o.module.learned_weights = true;
    }
    auto run = [&](int64_t steps) {
        auto g = graph.clone();
        train::TrainOptions r = o;
        r.steps = steps;
        auto s = train::run_training(*g, r);
        if (!s.ok()) die(s.status().to_string());
        double secs = 0;
        for (const auto& e : s->epochs) secs += e.seconds;
        return secs / static_cast<double>(steps);
    };
    // Untimed warm-up (libtorch's lazy set-up, thread pool, page cache), then two timed runs of
    // 2 and `steps` steps: CPU per step is their difference, so the per-run setup (data set,
    // module) cancels.
    if (a.warmup > 0) run(a.warmup);
    const std::clock_t c0 = std::clock();
    run(2);
    const std::clock_t c1 = std::clock();
    StepTime t;
    t.wall = run(a.steps);
    const std::clock_t c2 = std::clock();
    const double short_cpu = static_cast<double>(c1 - c0) / CLOCKS_PER_SEC;
    const double long_cpu = static_cast<double>(c2 - c1) / CLOCKS_PER_SEC;
    t.cpu = a.steps > 2 ? (long_cpu - short_cpu) / static_cast<double>(a.steps - 2)
                        : long_cpu / static_cast<double>(a.steps);
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    Args a = parse(argc, argv);
    std::string command = "train_step_bench";
    for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
    const std::string date = utc_now(), machine = cpu_model();
    std::printf("%s; %s; batch %lld, %d threads\n", date.c_str(), machine.c_str(), static_cast<long long>(a.batch),
                a.threads);
    std::string header = "| model (small, 1x28x28) | FP32 step ms (CPU ms) |";
    std::string rule = "|---|---:|";
    for (const std::string& m : a.modes) {
        header += " QAT " + m + " ms (CPU ms) | ratio (CPU ratio) |";
        rule += "---:|---:|";
    }
    std::string table = header + "\n" + rule + "\n";
    std::printf("%s\n%s\n", header.c_str(), rule.c_str());
    bool goal = true;
    for (const std::string& name : a.models) {
        models::ZooOptions zo;
        zo.variant = models::ZooVariant::kSmall;
        auto g = models::build_zoo_model(name, zo);
        if (!g.ok()) die(g.status().to_string());
        // Calibrated Q/DQ (ranges of 4.0 everywhere: the values do not change the cost).
        auto q = (*g)->clone();
        quant::QuantizeOptions qo;
        qo.activation_ranges = [](const ir::Graph&,
                                  const std::vector<std::string>& tensors) -> Result<std::map<std::string, float>> {
            std::map<std::string, float> m;
            for (const std::string& t : tensors) m[t] = 4.0f;
            return m;
        };
        auto qs = quant::quantize_graph(*q, qo);
        if (!qs.ok()) die(qs.status().to_string());
        auto keep_min = [](StepTime* best, const StepTime& t, bool first) {
            if (first || t.wall < best->wall) best->wall = t.wall;
            if (first || t.cpu < best->cpu) best->cpu = t.cpu;
        };
        StepTime fp32;
        std::vector<StepTime> qat_times(a.modes.size());
        for (int r = 0; r < a.repeats; ++r) {
            keep_min(&fp32, time_step(**g, a, false, ""), r == 0);
            for (size_t m = 0; m < a.modes.size(); ++m)
                keep_min(&qat_times[m], time_step(*q, a, true, a.modes[m]), r == 0);
        }
        char buf[128];
        std::snprintf(buf, sizeof buf, "| %s | %.0f (%.0f) |", name.c_str(), fp32.wall * 1e3, fp32.cpu * 1e3);
        std::string row = buf;
        for (size_t m = 0; m < a.modes.size(); ++m) {
            const StepTime& t = qat_times[m];
            const double ratio = t.wall / fp32.wall, cpu_ratio = t.cpu / fp32.cpu;
            if (a.modes[m] != "learned" && ratio > 1.3) goal = false;
            std::snprintf(buf, sizeof buf, " %.0f (%.0f) | %.2fx (%.2fx) |", t.wall * 1e3, t.cpu * 1e3, ratio,
                          cpu_ratio);
            row += buf;
        }
        std::printf("%s\n", row.c_str());
        std::fflush(stdout);
        table += row + "\n";
    }
    std::printf("goal QAT (fixed, ema) <= 1.3x FP32: %s\n", goal ? "met" : "NOT met");
    if (!a.markdown_path.empty()) {
        std::string md = "Measured " + date + " on " + machine + ", batch " + std::to_string(a.batch) + ", " +
                         std::to_string(a.threads) + " threads.\nCommand: `" + command + "`\n\n" + table +
                         "\nGoal QAT (fixed, ema) <= 1.3x FP32: " + (goal ? "met" : "not met") + ".\n";
        Status s = write_file_atomic(a.markdown_path, md);
        if (!s.ok()) die(s.to_string());
    }
    return 0;
}
