// qat quantize MODEL -o OUT [placement options] [--calib-table T] [--weights int8|float]
//
// FP32 ONNX model -> Q/DQ ONNX model, TensorRT style (quant/quantize.h does the work). The
// command loads (upgrading opsets < 13 with ONNX's version converter), infers shapes so the
// placement knows every tensor's dtype, quantizes, and writes the result atomically after
// ONNX's checker and strict shape inference accepted it. Nothing is written on any error.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/calib_options.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/quantize_options.h"
#include "core/file_util.h"
#include "onnx/onnx_export.h"
#include "onnx/shape_inference.h"
#include "onnx/version_convert.h"
#include "passes/quant/presets.h"
#include "quant/calib_table.h"
#include "quant/name_match.h"
#include "quant/placement_report.h"

namespace qat::cli {

void add_placement_options(CLI::App* sub, PlacementCliOptions* o) {
    sub->add_option("--spec", o->spec, "QuantSpec JSON file: per node name (glob) or op type overrides");
    sub->add_option("--mode", o->mode,
                    "full (default placement, spec revises it) or partial (only what the spec/--include names)");
    sub->add_option("--preset", o->preset,
                    "pattern cases: auto (default in full mode), none (default in partial mode), resnet_v1, "
                    "resnet_v2, efficientnet, mobilenet, inception");
    sub->add_option("--case", o->cases,
                    "turn on one pattern case (repeatable): residual_add, bn_input, maxpool_input, se_mul, "
                    "concat_shared_scale")
        ->allow_extra_args(false);
    sub->add_option("--include", o->include,
                    "quantize these nodes (repeatable): a node-name glob, or op:TYPE (e.g. op:Add)")
        ->allow_extra_args(false);
    sub->add_option("--exclude", o->exclude,
                    "keep these nodes float (repeatable): a node-name glob, or op:TYPE (e.g. op:Gemm)")
        ->allow_extra_args(false);
    sub->add_flag("--fold-bn", o->fold_bn, "fold BatchNormalization into the preceding Conv first");
    sub->add_flag("--requantize", o->requantize, "strip the model's existing Q/DQ nodes and place them again");
    sub->add_option("--weights", o->weights,
                    "int8 (int8 initializer -> DequantizeLinear, default) or float (float -> Q -> DQ)");
}

Result<quant::QuantizeOptions> make_quantize_options(const PlacementCliOptions& o) {
    quant::PlacementChoices c{o.spec,    o.mode,    o.preset,  o.cases,     o.include,
                              o.exclude, o.weights, o.fold_bn, o.requantize};
    return quant::make_quantize_options(c, {"--mode", "--preset", "--case", "--weights", "--include", "--exclude",
                                            "--spec / --include / --preset / --case"});
}

namespace {

struct QuantizeCmdOptions {
    std::string model;
    std::string output;
    PlacementCliOptions placement;
    std::string calib_table;
    std::string calib_data;
    CalibDataFlags calib_data_flags;
    bool report = false;
    bool json = false;
    bool list = false;
};

void print_lists() {
    std::printf("presets:\n");
    for (const auto& p : passes::quant::preset_names()) {
        auto cases = passes::quant::make_preset(p);
        std::string names;
        for (const auto& c : *cases) names += (names.empty() ? "" : ", ") + c->name();
        std::printf("  %-13s %s\n", p.c_str(), names.empty() ? "(default placement only)" : names.c_str());
    }
    std::printf("cases:\n");
    for (const auto& c : passes::quant::case_names()) {
        auto k = passes::quant::make_case(c);
        std::printf("  %-20s %s\n", c.c_str(), (*k)->reason().c_str());
    }
}

Status run_quantize(const QuantizeCmdOptions& o) {
    if (o.list) {
        print_lists();
        return OkStatus();
    }
    if (o.model.empty()) return invalid_argument("missing the model argument (qat quantize MODEL -o OUT)");
    if (o.output.empty()) return invalid_argument("missing -o/--output (where to write the quantized model)");
    // Everything the user gave is checked before the model is touched.
    QAT_ASSIGN_OR_RETURN(quant::QuantizeOptions q, make_quantize_options(o.placement));
    if (!o.calib_data.empty() && !o.calib_table.empty())
        return invalid_argument("--calib-table and --calib-data exclude each other");
    if (!o.calib_data.empty()) {
        // Ranges seen on the data set (cli/calib_options.h): checked here, read when the
        // placement asks for them.
        QAT_ASSIGN_OR_RETURN(q.activation_ranges, make_calib_data_ranges(o.calib_data, o.calib_data_flags, o.json));
    }
    if (!o.calib_table.empty()) {
        QAT_ASSIGN_OR_RETURN(q.calib_table, quant::load_calib_table(o.calib_table));
        q.calib_table_name = "calibration table " + o.calib_table;
    }
    QAT_RETURN_IF_ERROR(check_writable_file(o.output));

    int64_t from_opset = 0;
    QAT_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, onnx::load_model_min_opset(o.model, 13, &from_opset));
    if (from_opset != 0 && from_opset < 13)
        std::fprintf(stderr, "qat quantize: upgraded %s from opset %lld to 13 (Q/DQ per-channel needs 13)\n",
                     o.model.c_str(), static_cast<long long>(from_opset));
    Status si = onnx::infer_shapes(*g);
    if (!si.ok())
        std::fprintf(stderr,
                     "qat quantize: warning: shape inference failed (%s); tensors of unknown dtype count as "
                     "float\n",
                     si.to_string().c_str());
    auto summary = quant::quantize_graph(*g, q);
    if (!summary.ok()) return std::move(summary).take_status().with_context("while quantizing " + o.model);
    onnx::ExportOptions eo;
    eo.check = true;
    QAT_RETURN_IF_ERROR(onnx::save_model(*g, o.output, eo));

    if (o.json) {
        std::printf("%s\n", quant::quantize_summary_json(*summary).c_str());
    } else {
        std::printf("wrote %s\n%s", o.output.c_str(), quant::format_quantize_summary(*summary).c_str());
        if (o.report) std::printf("\n%s", quant::format_placement_report(quant::analyze_placement(*g)).c_str());
    }
    return OkStatus();
}

}  // namespace

void add_quantize_command(CLI::App& app) {
    auto o = std::make_shared<QuantizeCmdOptions>();
    auto* sub = app.add_subcommand("quantize", "Place Q/DQ nodes (TensorRT style) in an FP32 ONNX model");
    sub->add_option("model", o->model, "FP32 ONNX model");
    sub->add_option("-o,--output", o->output, "where to write the Q/DQ model");
    add_placement_options(sub, &o->placement);
    sub->add_option("--calib-table", o->calib_table,
                    "calibration table (JSON: tensor -> amax/scale) from `qat calibrate`; without it the "
                    "model is marked uncalibrated");
    sub->add_option("--calib-data", o->calib_data,
                    "compute activation ranges on this data set (fashion-mnist, idx:DIR, cifar:DIR, folder:DIR, "
                    "npy:FILE); method --calib-method (default max)");
    add_calib_data_flags(sub, &o->calib_data_flags);
    sub->add_flag("--report", o->report, "print the placement report of the result (as `qat inspect --quant`)");
    sub->add_flag("--json", o->json, "print the summary as one JSON object");
    sub->add_flag("--list", o->list, "list the presets and pattern cases, then exit");
    sub->callback([o] { run_command("quantize", [o] { return run_quantize(*o); }); });
}

}  // namespace qat::cli
