// qat compare FP32.onnx INT8.onnx --data SPEC [--split test] [--samples N] [--top K] [--json]
//
// Per-layer error of a QDQ model against its FP32 original (quant/compare.h): for each quantized
// layer, matched by output tensor name, the SQNR of the layer alone on FP32 inputs ("own") and
// as the quantized model runs ("cum"), cosine similarity and max-abs error, worst first; then the
// final output's top-1 agreement and SQNR.
#include <cstdio>
#include <memory>

#include "cli/calib_options.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "onnx/onnx_import.h"
#include "onnx/version_convert.h"
#include "passes/quant/strip_qdq.h"
#include "quant/calibrated.h"
#include "quant/compare.h"

namespace qat::cli {
namespace {

struct CompareCmdOptions {
    std::string fp32;
    std::string int8;
    DataFlags data{.split = "test", .samples = 256};
    PreprocessFlags pre;
    RunFlags run;
    size_t top = 20;
    bool no_own = false;
    bool json = false;
    bool quiet = false;
};

Status run_compare(const CompareCmdOptions& o) {
    QAT_RETURN_IF_ERROR(check_readable_file(o.fp32, "FP32 model"));
    QAT_RETURN_IF_ERROR(check_readable_file(o.int8, "quantized model"));
    QAT_ASSIGN_OR_RETURN(quant::RunOptions run, make_run_options(o.run));
    auto fp = onnx::load_model(o.fp32);
    if (!fp.ok()) return std::move(fp).take_status();
    auto q = onnx::load_model(o.int8);
    if (!q.ok()) return std::move(q).take_status();
    std::unique_ptr<ir::Graph> fp32 = std::move(fp).value(), qdq = std::move(q).value();
    if (!passes::quant::find_quantization_nodes(*fp32).empty())
        return invalid_argument(o.fp32, " holds Q/DQ nodes: the first model must be the FP32 original");
    if (passes::quant::find_quantization_nodes(*qdq).empty())
        return invalid_argument(o.int8, " holds no Q/DQ nodes: nothing is quantized");
    Status cal = quant::check_calibrated(*qdq);
    if (!cal.ok()) return std::move(cal).with_context("in " + o.int8);
    QAT_ASSIGN_OR_RETURN(const ir::Value* in_f, quant::single_input(*fp32, o.fp32));
    QAT_ASSIGN_OR_RETURN(const ir::Value* in_q, quant::single_input(*qdq, o.int8));
    QAT_ASSIGN_OR_RETURN(OpenedData d, open_data(o.data, kCompareDataNames, o.pre, *in_f, o.run.batch));
    // The same batches feed both models: the quantized one must accept them too.
    if (in_q->shape().rank_known() && in_f->shape().rank_known() && in_q->shape().rank() == in_f->shape().rank()) {
        for (size_t i = 1; i < in_q->shape().rank(); ++i) {
            const Dim& a = in_f->shape()[i];
            const Dim& b = in_q->shape()[i];
            if (a.is_static() && b.is_static() && a.value != b.value)
                return invalid_argument("input '", in_f->name(), "' of ", o.fp32, " has shape ",
                                        in_f->shape().to_string(), ", input '", in_q->name(), "' of ", o.int8,
                                        " has shape ", in_q->shape().to_string());
        }
    }
    quant::CompareOptions co;
    co.run = run;
    co.own = !o.no_own;
    co.quiet = o.quiet;
    QAT_ASSIGN_OR_RETURN(quant::CompareReport r, quant::compare_models(*fp32, *qdq, *d.source, co));
    if (o.json) {
        std::printf("%s\n", quant::compare_report_json(r).c_str());
    } else {
        std::printf("%s vs %s on %s\n", o.int8.c_str(), o.fp32.c_str(), d.source->description().c_str());
        std::printf("%s", quant::format_compare_report(r, o.top).c_str());
    }
    return OkStatus();
}

}  // namespace

void add_compare_command(CLI::App& app) {
    auto o = std::make_shared<CompareCmdOptions>();
    auto* sub = app.add_subcommand("compare", "Per-layer error of a quantized model against its FP32 original");
    sub->add_option("fp32", o->fp32, "FP32 ONNX model");
    sub->add_option("int8", o->int8, "QDQ ONNX model of the same network (qat quantize / calibrate output)");
    add_data_flags(sub, &o->data, kCompareDataNames);
    add_preprocess_flags(sub, &o->pre);
    add_run_flags(sub, &o->run);
    sub->add_option("--top", o->top, "show the K worst layers (0: all)")->capture_default_str();
    sub->add_flag("--no-own", o->no_own, "skip the per-layer own error (one run less per batch)");
    sub->add_flag("--json", o->json, "print one JSON object");
    sub->add_flag("-q,--quiet", o->quiet, "no progress bar");
    sub->callback([o] { run_command("compare", [o] { return run_compare(*o); }); });
}

}  // namespace qat::cli
