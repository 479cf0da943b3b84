// qat zoo NAME [--input CxHxW] [--classes K] [--width-mult M] [--seed S] [--variant V] -o model.onnx
// qat zoo --list
//
// Builds a model of the zoo (src/models/) with He-normal weights from the seed and writes it as
// ONNX (opset 13, IR 8), checked by the ONNX checker before it is written. The output path is
// checked before anything is built, and the file is written atomically.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_util.h"
#include "models/zoo.h"
#include "onnx/onnx_export.h"

namespace qat::cli {
namespace {

struct ZooCliOptions {
    std::string name;
    bool list = false;
    std::string input = "1x28x28";
    int64_t classes = 10;
    double width_mult = 1.0;
    uint64_t seed = 0;
    std::string variant = "auto";
    std::string output;
};

std::string with_thousands(int64_t v) {
    std::string s = std::to_string(v);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
}

Status list_models() {
    std::printf("%-16s %-14s  %s\n", "model", "params 1x28x28", "description");
    for (const auto& name : models::zoo_names()) {
        models::ZooOptions small;
        QAT_ASSIGN_OR_RETURN(auto gs, models::build_zoo_model(name, small));
        std::printf("%-16s %-14s  %s\n", name.c_str(), with_thousands(models::count_parameters(*gs)).c_str(),
                    models::zoo_description(name).c_str());
    }
    std::printf("\nsmall variant below 112x112 input, full (ImageNet layout) from 112x112 (override with --variant)\n");
    return OkStatus();
}

Status run_zoo(const ZooCliOptions& o) {
    if (o.list) return list_models();
    QAT_CHECK(
        !o.name.empty(), "missing model NAME (one of: ",
        [] {
            std::string s;
            for (const auto& n : models::zoo_names()) s += (s.empty() ? "" : ", ") + n;
            return s;
        }(),
        "); see 'qat zoo --list'");
    QAT_CHECK(!o.output.empty(), "missing output file: -o model.onnx");
    models::ZooOptions zo;
    QAT_RETURN_IF_ERROR(models::parse_input_chw(o.input, &zo));
    zo.classes = o.classes;
    zo.width_mult = o.width_mult;
    zo.seed = o.seed;
    if (o.variant == "auto")
        zo.variant = models::ZooVariant::kAuto;
    else if (o.variant == "small")
        zo.variant = models::ZooVariant::kSmall;
    else if (o.variant == "full")
        zo.variant = models::ZooVariant::kFull;
    else
        return invalid_argument("--variant must be auto, small or full, got '", o.variant, "'");
    // Fail on a bad output path before building anything.
    QAT_RETURN_IF_ERROR(check_writable_file(o.output));
    QAT_ASSIGN_OR_RETURN(auto graph, models::build_zoo_model(o.name, zo));
    onnx::ExportOptions eo;
    eo.check = true;
    QAT_RETURN_IF_ERROR(onnx::save_model(*graph, o.output, eo).with_context("while writing " + o.output));
    bool full = models::resolve_variant(zo) == models::ZooVariant::kFull;
    std::printf("%s (%s, input %lldx%lldx%lld, %lld classes, width %g, seed %llu): %s params, %zu nodes -> %s\n",
                o.name.c_str(), full ? "full" : "small", static_cast<long long>(zo.channels),
                static_cast<long long>(zo.height), static_cast<long long>(zo.width), static_cast<long long>(zo.classes),
                zo.width_mult, static_cast<unsigned long long>(zo.seed),
                with_thousands(models::count_parameters(*graph)).c_str(), graph->num_nodes(), o.output.c_str());
    return OkStatus();
}

}  // namespace

void add_zoo_command(CLI::App& app) {
    auto o = std::make_shared<ZooCliOptions>();
    auto* sub = app.add_subcommand("zoo",
                                   "Build a model of the zoo (ResNet v1/v2, MobileNetV2, EfficientNet-B0, "
                                   "Inception) with seeded weights and write it as ONNX");
    std::string names;
    for (const auto& n : models::zoo_names()) names += (names.empty() ? "" : ", ") + n;
    sub->add_option("name", o->name, "Model: " + names);
    sub->add_flag("--list", o->list, "List the models with their parameter counts");
    sub->add_option("--input", o->input, "Input size CxHxW (default 1x28x28)");
    sub->add_option("--classes", o->classes, "Number of classes (default 10)");
    sub->add_option("--width-mult", o->width_mult, "Channel width multiplier (default 1.0)");
    sub->add_option("--seed", o->seed, "Seed of the weight init (default 0)");
    sub->add_option("--variant", o->variant,
                    "auto (full ImageNet layout from 112x112 input), small (28x28-style) or full (default auto)");
    sub->add_option("-o,--output", o->output, "Output ONNX file");
    sub->callback([o] { run_command("zoo", [o] { return run_zoo(*o); }); });
}

}  // namespace qat::cli
