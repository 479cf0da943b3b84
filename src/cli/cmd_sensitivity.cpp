// qat sensitivity MODEL --data SPEC [--metric accuracy|sqnr] [--method entropy] [--calib-samples N]
//                 [--eval-data SPEC --eval-split test --eval-samples N] [placement options]
//
// Quantizes one layer at a time, and everything but one layer at a time, of an FP32 model
// (calibrated on --data, evaluated on a held-out set) and ranks the layers by the damage they
// do (quant/sensitivity.h). The ranking is what `qat calibrate --accuracy-budget` returns to
// float first.
#include <cstdio>
#include <memory>

#include "cli/calib_options.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/quantize_options.h"
#include "onnx/shape_inference.h"
#include "onnx/version_convert.h"
#include "passes/quant/strip_qdq.h"
#include "quant/sensitivity.h"

namespace qat::cli {
namespace {

struct SensitivityCmdOptions {
    std::string model;
    DataFlags data;
    DataFlags eval{.split = "test", .samples = 1000};
    PreprocessFlags pre;
    RunFlags run;
    CalibFlags calib;
    PlacementCliOptions placement;
    std::string metric = "accuracy";
    bool no_only = false;
    bool no_all_but = false;
    bool json = false;
    bool quiet = false;
};

Status run_sensitivity(const SensitivityCmdOptions& o) {
    QAT_RETURN_IF_ERROR(check_readable_file(o.model, "model"));
    QAT_ASSIGN_OR_RETURN(quant::Metric metric, quant::parse_metric(o.metric));
    QAT_ASSIGN_OR_RETURN(quant::CalibratorOptions calib, make_calibrator_options(o.calib));
    QAT_ASSIGN_OR_RETURN(quant::RunOptions run, make_run_options(o.run));
    if (o.no_only && o.no_all_but) return invalid_argument("--no-only and --no-all-but leave nothing to measure");
    quant::QuantizeOptionsFactory factory = [po = o.placement]() { return make_quantize_options(po); };
    {
        auto probe = factory();
        if (!probe.ok()) return std::move(probe).take_status();
    }
    int64_t from_opset = 0;
    QAT_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, onnx::load_model_min_opset(o.model, 13, &from_opset));
    Status si = onnx::infer_shapes(*g);
    if (!si.ok() && !o.quiet)
        std::fprintf(stderr, "qat sensitivity: warning: shape inference failed (%s)\n", si.to_string().c_str());
    if (!passes::quant::find_quantization_nodes(*g).empty() && !o.placement.requantize)
        return invalid_argument(o.model, " already holds Q/DQ nodes: give the FP32 model, or add --requantize");
    std::unique_ptr<ir::Graph> fp32;
    if (o.placement.requantize) {
        QAT_ASSIGN_OR_RETURN(fp32, quant::strip_qdq_copy(*g));
    } else {
        fp32 = g->clone();
    }
    QAT_ASSIGN_OR_RETURN(const ir::Value* input, quant::single_input(*fp32, o.model));
    QAT_ASSIGN_OR_RETURN(OpenedData cd, open_data(o.data, kCalibDataNames, o.pre, *input, o.run.batch));
    QAT_ASSIGN_OR_RETURN(OpenedData ed, open_eval_data(o.eval, &cd, o.data, o.pre, *input, o.run.batch));
    data::DatasetPtr eds = ed.dataset;
    auto check = [eds, metric](int64_t classes) -> Status {
        if (metric != quant::Metric::kAccuracy) return OkStatus();
        return data::check_labels(*eds, classes).with_context("in the evaluation set");
    };
    QAT_ASSIGN_OR_RETURN(auto ev, quant::Evaluator::create(*fp32, ed.source.get(), run, o.quiet, check));
    quant::CollectOptions co;
    co.run = run;
    co.observer = make_observer_options(o.calib);
    co.quiet = o.quiet;
    quant::CalibrationSession session(cd.source.get(), co);
    quant::SensitivityOptions so;
    so.metric = metric;
    so.only = !o.no_only;
    so.all_but = !o.no_all_but;
    so.quiet = o.quiet;
    auto rep = quant::analyze_sensitivity(*g, factory, session, calib, *ev, so);
    if (!rep.ok()) return std::move(rep).take_status().with_context("while measuring sensitivity");
    if (o.json) {
        std::printf("%s\n", quant::sensitivity_report_json(*rep).c_str());
        return OkStatus();
    }
    std::printf("%s: calibrated (%s) on %s, evaluated on %s\n", o.model.c_str(),
                quant::calibrator_key(calib, co.observer).c_str(), cd.source->description().c_str(),
                ed.source->description().c_str());
    std::printf("%s", quant::format_sensitivity_report(*rep).c_str());
    return OkStatus();
}

}  // namespace

void add_sensitivity_command(CLI::App& app) {
    auto o = std::make_shared<SensitivityCmdOptions>();
    auto* sub = app.add_subcommand("sensitivity", "Rank layers by the damage INT8 does to them (one at a time)");
    sub->add_option("model", o->model, "FP32 ONNX model");
    add_data_flags(sub, &o->data, kCalibDataNames);
    add_data_flags(sub, &o->eval, kEvalDataNames, false);
    sub->add_option("--metric", o->metric, "accuracy (top-1, needs labels) or sqnr (output SQNR against FP32)")
        ->capture_default_str();
    sub->add_flag("--no-only", o->no_only, "skip quantizing one layer at a time");
    sub->add_flag("--no-all-but", o->no_all_but, "skip leaving one layer out at a time");
    add_calib_flags(sub, &o->calib);
    add_preprocess_flags(sub, &o->pre);
    add_run_flags(sub, &o->run);
    add_placement_options(sub, &o->placement);
    sub->add_flag("--json", o->json, "print one JSON object");
    sub->add_flag("-q,--quiet", o->quiet, "no progress bars");
    sub->callback([o] { run_command("sensitivity", [o] { return run_sensitivity(*o); }); });
}

}  // namespace qat::cli
