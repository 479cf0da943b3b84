// qat explain model.{onnx,engine} [--backend B] [--threads T] [--batch N] [--json]
//
// The engine's plan as a table: each step (fused INT8 op or remaining node), its precision, the
// nodes a fused op absorbed, the backend, and for everything left in FP32 the reasons (the
// passes' reason for not fusing, the backends' supports() refusals), then INT8 coverage (share of
// MACs in INT8 ops). --json prints one object (engine/explain.h).
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/engine_options.h"
#include "engine/engine_file.h"
#include "engine/explain.h"

namespace qat::cli {
namespace {

struct ExplainOptions {
    std::string model;
    EngineFlags engine;
    bool json = false;
};

Status run_explain(const ExplainOptions& o) {
    QAT_RETURN_IF_ERROR(check_engine_flags(o.engine));
    QAT_ASSIGN_OR_RETURN(engine::OpenedModel m, engine::open_model_or_engine(o.model, to_engine_options(o.engine)));
    QAT_ASSIGN_OR_RETURN(engine::ExplainReport r, engine::explain(m.engine));
    if (o.json) {
        std::printf("%s\n", engine::explain_to_json(r).c_str());
    } else {
        std::printf("%s (%s)\nFP32 convolution layout: %s\nstep threads: %s\nimage steps: %s\n\n", o.model.c_str(),
                    m.source == engine::ModelSource::kEngineFile ? "engine file" : "ONNX, built on the fly",
                    m.engine.fp32_layout_note().c_str(), m.engine.step_threads_note().c_str(),
                    m.engine.image_steps_note().c_str());
        std::fputs(engine::format_explain_table(r).c_str(), stdout);
    }
    return OkStatus();
}

}  // namespace

void add_explain_command(CLI::App& app) {
    auto opts = std::make_shared<ExplainOptions>();
    auto* sub =
        app.add_subcommand("explain", "Show the engine plan: fused INT8 ops, precisions, FP32 fallbacks and why");
    sub->add_option("model", opts->model, "ONNX model (built on the fly) or engine file")->required();
    add_engine_flags(sub, &opts->engine, true);
    sub->add_flag("--json", opts->json, "Print one JSON object instead of the table");
    sub->callback([opts] { run_command("explain", [&] { return run_explain(*opts); }); });
}

}  // namespace qat::cli
