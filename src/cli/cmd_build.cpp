// qat build model.onnx -o model.engine [--backend B] [--threads T] [--batch N] [--no-int8]
//
// Runs the engine pipeline (constant folding, BN folding, Q/DQ propagation and fusion into INT8
// ops) and writes an engine file (engine/engine_file.h) that qat run / eval / bench / explain
// load without optimizing again. The output path is checked before the work starts and written
// atomically; an uncalibrated or broken Q/DQ model is refused with the reason.
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/engine_options.h"
#include "core/file_util.h"
#include "engine/engine_file.h"
#include "ir/fused_ops.h"
#include "onnx/onnx_import.h"

namespace qat::cli {
namespace {

struct BuildOptions {
    std::string model;
    std::string output;
    EngineFlags engine;
};

Status run_build(const BuildOptions& o) {
    QAT_RETURN_IF_ERROR(check_engine_flags(o.engine));
    QAT_RETURN_IF_ERROR(check_writable_file(o.output));
    if (engine::is_engine_file(o.model))
        return invalid_argument("'", o.model, "' is already an engine file; build takes an .onnx model");
    QAT_ASSIGN_OR_RETURN(auto graph, onnx::load_model(o.model));
    auto e = engine::build_engine(*graph, to_engine_options(o.engine));
    if (!e.ok()) return std::move(e).take_status().with_context("while building " + o.model);
    QAT_RETURN_IF_ERROR(engine::save_engine(*e, o.output, o.model));

    int fused = 0, steps = 0;
    std::map<std::string, int> per_backend;
    for (const auto& st : e->steps()) {
        ++steps;
        ++per_backend[st.backend];
        if (ir::fused::is_fused_op(*st.node)) ++fused;
    }
    std::printf("wrote %s: %d plan steps, %d fused INT8 ops (", o.output.c_str(), steps, fused);
    bool first = true;
    for (const auto& [b, n] : per_backend) {
        std::printf("%s%s %d", first ? "" : ", ", b.c_str(), n);
        first = false;
    }
    std::printf("), batch %s, %d threads\n", o.engine.batch > 0 ? std::to_string(o.engine.batch).c_str() : "dynamic",
                e->threads());
    std::printf("FP32 convolution layout: %s\n", e->fp32_layout_note().c_str());
    std::printf("step threads: %s\n", e->step_threads_note().c_str());
    std::printf("image steps: %s\n", e->image_steps_note().c_str());
    std::printf("see the plan with: qat explain %s\n", o.output.c_str());
    return OkStatus();
}

}  // namespace

void add_build_command(CLI::App& app) {
    auto opts = std::make_shared<BuildOptions>();
    auto* sub = app.add_subcommand("build", "Optimize a (Q/DQ) ONNX model into an INT8 engine file");
    sub->add_option("model", opts->model, "Input ONNX model (FP32 or with Q/DQ nodes)")->required();
    sub->add_option("-o,--output", opts->output, "Engine file to write (e.g. model.engine)")->required();
    add_engine_flags(sub, &opts->engine, true);
    sub->callback([opts] { run_command("build", [&] { return run_build(*opts); }); });
}

}  // namespace qat::cli
