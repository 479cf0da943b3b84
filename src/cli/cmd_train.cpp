// qat train MODEL.onnx --data SPEC -o TRAINED.onnx [options]      FP32 training
// qat finetune MODEL_Q.onnx --data SPEC -o MODEL_QAT.onnx [options] quantization-aware training
//
// Both run train::run_training (src/train/train.h) on the ONNX graph and write the trained model
// through the normal exporter (weights, BN statistics and, for finetune, the final Q/DQ scales).
// Everything the user gives is checked before the first step: the model (Q/DQ or not, ops with a
// training lowering), the data against the model's input and class count, the output, checkpoint
// and log paths, and a --resume checkpoint. SIGINT / SIGTERM stop after the current step with a
// checkpoint (exit code 130); `--resume CKPT` continues with identical results.
//
// This file holds both commands (they share every option). It is part of the qat-train executable
// (train_main.cpp), not of qat: qat forwards `train` / `finetune` to qat-train (train_forward.cpp)
// so that it never pays libtorch's start-up. No libtorch header here: the trainer is behind
// train/train.h.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "train/train.h"

namespace qat::cli {
namespace {

struct TrainCliOptions {
    std::string model, data, output;
    std::string train_split = "train", val_split = "test";
    int64_t train_limit = 0, val_limit = 0;
    bool no_val = false;
    int64_t batch = 64, epochs = 0, steps = 0;
    double lr = 0;
    std::string optimizer = "sgd";
    double momentum = 0.9, weight_decay = 1e-4;
    std::string schedule = "piecewise", piecewise;
    int64_t warmup_steps = 0;
    double step_epochs = 0, gamma = 0.1, clip = 0;
    float scale = -1.0f;
    std::vector<float> mean, std;
    bool augment = false, random_crop = false, hflip = false;
    int64_t crop_padding = 4;
    uint64_t seed = 0;
    int threads = 0;
    std::string checkpoint, resume, log;
    int64_t checkpoint_every = 0;
    bool keep_best = false, fold_bn = false;
    int64_t freeze_bn_after = -1;
    // finetune
    std::string range_mode;
    bool learned_weights = false;
    std::vector<std::string> quantizer;
    float ema_momentum = 0.01f;
    int64_t calib_batches = 8;
    bool quiet = false, json = false;
};

// OpenBLAS reads OPENBLAS_CORETYPE once, when libtorch loads it (before main): to give it the
// core type of this CPU, the process starts itself again with the variable set. Once only
// (QAT_BLAS_REEXEC guards the loop); set OPENBLAS_CORETYPE yourself to skip it.
void maybe_reexec_for_openblas() {
    if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("QAT_BLAS_REEXEC")) return;
    const std::string want = train::preferred_openblas_coretype();
    if (want.empty()) return;
    auto cmdline = read_file("/proc/self/cmdline");
    if (!cmdline.ok() || cmdline->empty()) return;
    std::vector<std::string> args;
    std::string cur;
    for (char c : *cmdline) {
        if (c == '\0') {
            args.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) args.push_back(cur);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
    setenv("QAT_BLAS_REEXEC", "1", 1);
    QAT_VLOG("train") << "OpenBLAS picked " << train::openblas_coretype()
                      << "; restarting with OPENBLAS_CORETYPE=" << want;
    std::fflush(stdout);
    std::fflush(stderr);
    execv("/proc/self/exe", argv.data());
    // exec failed: carry on with OpenBLAS's own choice.
    unsetenv("OPENBLAS_CORETYPE");
}

Result<train::TrainOptions> to_train_options(const TrainCliOptions& c, bool finetune) {
    train::TrainOptions o;
    o.finetune = finetune;
    o.model_name = c.model;
    o.data = c.data;
    o.train_split = c.train_split;
    o.val_split = c.val_split;
    o.train_limit = c.train_limit;
    o.val_limit = c.val_limit;
    o.validate = !c.no_val;
    o.batch_size = c.batch;
    o.epochs = c.epochs > 0 ? c.epochs : (finetune ? 2 : 10);
    o.steps = c.steps;
    o.lr = c.lr > 0 ? c.lr : (finetune ? 1e-3 : 0.1);
    QAT_ASSIGN_OR_RETURN(o.optimizer, train::parse_optimizer(c.optimizer).with_context("--optimizer"));
    o.momentum = c.momentum;
    o.weight_decay = c.weight_decay;
    QAT_ASSIGN_OR_RETURN(o.schedule, train::parse_schedule(c.schedule).with_context("--schedule"));
    if (!c.piecewise.empty()) {
        if (o.schedule != train::ScheduleKind::kPiecewise)
            return invalid_argument("--piecewise needs --schedule piecewise, got --schedule ", c.schedule);
        QAT_ASSIGN_OR_RETURN(o.piecewise, train::parse_piecewise(c.piecewise));
    }
    o.warmup_steps = c.warmup_steps;
    o.step_epochs = c.step_epochs;
    o.gamma = c.gamma;
    o.clip_grad_norm = c.clip;
    o.scale = c.scale;
    o.mean = c.mean;
    o.std = c.std;
    o.random_crop = c.random_crop || c.augment;
    o.hflip = c.hflip || c.augment;
    o.crop_padding = c.crop_padding;
    o.seed = c.seed;
    o.threads = c.threads;
    o.checkpoint = c.checkpoint.empty() ? c.output + ".ckpt" : c.checkpoint;
    o.checkpoint_every = c.checkpoint_every;
    o.resume = c.resume;
    o.log_path = c.log;
    o.keep_best = c.keep_best;
    o.fold_bn = c.fold_bn;
    o.freeze_bn_after = c.freeze_bn_after;
    o.quiet = c.quiet || c.json;
    if (finetune) {
        if (!c.range_mode.empty()) {
            QAT_ASSIGN_OR_RETURN(train::RangeMode m,
                                 train::parse_range_mode(c.range_mode).with_context("--range-mode"));
            o.module.activation_mode = m;
        }
        o.module.learned_weights = c.learned_weights;
        for (const std::string& s : c.quantizer) {
            QAT_ASSIGN_OR_RETURN(train::QuantizerOverride q,
                                 train::parse_quantizer_override(s).with_context("--quantizer"));
            o.module.overrides.push_back(q);
        }
        o.module.ema_momentum = c.ema_momentum;
        o.calib_batches = c.calib_batches;
    }
    return o;
}

Status run_train(const TrainCliOptions& c, bool finetune, int* exit_code) {
    const char* cmd = finetune ? "finetune" : "train";
    if (c.batch < 1) return invalid_argument("--batch must be >= 1, got ", c.batch);
    QAT_ASSIGN_OR_RETURN(train::TrainOptions o, to_train_options(c, finetune));
    // Paths first: an hour of training must not end on an unwritable output.
    QAT_RETURN_IF_ERROR(check_writable_file(c.output).with_context("-o"));
    if (o.checkpoint == c.output) return invalid_argument("--checkpoint must differ from the output model");
    if (!o.resume.empty() && !file_exists(o.resume))
        return not_found("--resume: checkpoint '", o.resume, "' does not exist");
    QAT_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> graph, onnx::load_model(c.model));
    auto s = train::run_training(*graph, o);
    if (!s.ok()) return std::move(s).take_status();
    const train::TrainSummary& r = *s;
    for (const std::string& n : r.notes) QAT_LOG(kInfo) << n;
    if (r.interrupted) {
        std::fprintf(stderr, "qat %s: interrupted at step %lld; checkpoint %s; continue with --resume %s\n", cmd,
                     static_cast<long long>(r.steps),
                     r.checkpoint_written.empty() ? "(none)" : r.checkpoint_written.c_str(),
                     r.checkpoint_written.c_str());
        *exit_code = 130;
        return OkStatus();
    }
    QAT_RETURN_IF_ERROR(onnx::save_model(*graph, c.output, {.check = true}).with_context("while writing " + c.output));
    if (c.json) {
        nlohmann::json epochs = nlohmann::json::array();
        for (const train::EpochRecord& e : r.epochs) {
            nlohmann::json j = {{"epoch", e.epoch},
                                {"steps", e.steps},
                                {"lr", e.lr},
                                {"train_loss", e.train_loss},
                                {"train_top1", e.train_top1},
                                {"seconds", e.seconds},
                                {"samples_per_second", e.samples_per_second}};
            if (e.val_top1 >= 0) {
                j["val_loss"] = e.val_loss;
                j["val_top1"] = e.val_top1;
            }
            epochs.push_back(j);
        }
        nlohmann::json out = {{"command", cmd},
                              {"model", c.model},
                              {"output", c.output},
                              {"steps", r.steps},
                              {"threads", r.threads},
                              {"quantizers", r.quantizers},
                              {"epochs", epochs},
                              {"final_val_top1", r.final_val_top1},
                              {"best_val_top1", r.best_val_top1},
                              {"best_epoch", r.best_epoch},
                              {"notes", r.notes}};
        std::printf("%s\n", out.dump(2).c_str());
        return OkStatus();
    }
    for (const train::EpochRecord& e : r.epochs) {
        std::printf("epoch %lld: %lld steps, loss %.4f, train top-1 %.2f%%", static_cast<long long>(e.epoch),
                    static_cast<long long>(e.steps), e.train_loss, e.train_top1);
        if (e.val_top1 >= 0) std::printf(", val top-1 %.2f%% (loss %.4f)", e.val_top1, e.val_loss);
        std::printf(", %.1f s, %.0f samples/s%s\n", e.seconds, e.samples_per_second, e.best ? " *" : "");
    }
    std::printf("wrote %s (%s, %lld steps, %d threads%s)", c.output.c_str(), finetune ? "QAT" : "FP32",
                static_cast<long long>(r.steps), r.threads,
                finetune ? (", " + std::to_string(r.quantizers) + " quantizers").c_str() : "");
    if (r.final_val_top1 >= 0) std::printf(", val top-1 %.2f%%", r.final_val_top1);
    std::printf("\n");
    return OkStatus();
}

}  // namespace

void add_training_command(CLI::App& app, bool finetune) {
    auto c = std::make_shared<TrainCliOptions>();
    const char* name = finetune ? "finetune" : "train";
    auto* sub = app.add_subcommand(
        name, finetune ? "Quantization-aware fine-tuning of a Q/DQ model (fake quantization on libtorch)"
                       : "Train an FP32 ONNX model from its initial weights (libtorch)");
    sub->add_option("model", c->model, finetune ? "Q/DQ ONNX model (from qat quantize / calibrate)" : "FP32 ONNX model")
        ->required();
    sub->add_option("--data", c->data, "Data set: fashion-mnist, idx:DIR, cifar:DIR, folder:DIR, npy:FILE[,LABELS]")
        ->required();
    sub->add_option("-o,--output", c->output, "Trained ONNX model")->required();
    sub->add_option("--epochs", c->epochs, finetune ? "Epochs (default 2)" : "Epochs (default 10)");
    sub->add_option("--steps", c->steps, "Train exactly N steps instead of whole epochs");
    sub->add_option("--batch", c->batch, "Batch size")->capture_default_str();
    sub->add_option("--lr", c->lr, finetune ? "Base learning rate (default 1e-3)" : "Base learning rate (default 0.1)");
    auto* g = "Optimizer and schedule";
    sub->add_option("--optimizer", c->optimizer, "sgd (momentum, weight decay) or adam")
        ->capture_default_str()
        ->group(g);
    sub->add_option("--momentum", c->momentum, "SGD momentum")->capture_default_str()->group(g);
    sub->add_option("--weight-decay", c->weight_decay, "L2 weight decay of Conv/Gemm/MatMul weights")
        ->capture_default_str()
        ->group(g);
    sub->add_option("--schedule", c->schedule, "piecewise (warm-up + steps), cosine, step or constant")
        ->capture_default_str()
        ->group(g);
    sub->add_option("--piecewise", c->piecewise,
                    "FACTOR:EPOCH list; the first epoch ends the warm-up (default: 1.0:1,0.1:2,0.01:7 of a 10-epoch "
                    "run, scaled to this run)")
        ->group(g);
    sub->add_option("--warmup-steps", c->warmup_steps, "Linear warm-up steps (cosine)")->group(g);
    sub->add_option("--step-epochs", c->step_epochs, "Epochs between decays (step; default a third of the run)")
        ->group(g);
    sub->add_option("--gamma", c->gamma, "Decay factor (step)")->capture_default_str()->group(g);
    sub->add_option("--clip-grad-norm", c->clip, "Clip the global gradient norm to this value (0: off)")->group(g);
    auto* d = "Data";
    sub->add_option("--train-split", c->train_split, "Training split")->capture_default_str()->group(d);
    sub->add_option("--val-split", c->val_split, "Validation split")->capture_default_str()->group(d);
    sub->add_option("--train-limit", c->train_limit, "Train on a seeded subset of N samples")->group(d);
    sub->add_option("--val-limit", c->val_limit, "Validate on the first N samples")->group(d);
    sub->add_flag("--no-val", c->no_val, "Skip validation")->group(d);
    sub->add_option("--scale", c->scale, "Multiply raw samples by S (default 1/255 for pixels)")->group(d);
    sub->add_option("--mean", c->mean, "Per-channel mean after scale")->delimiter(',')->group(d);
    sub->add_option("--std", c->std, "Per-channel std after scale")->delimiter(',')->group(d);
    sub->add_flag("--augment", c->augment, "Random crop (zero padding) and horizontal flip")->group(d);
    sub->add_flag("--random-crop", c->random_crop, "Random crop from the image padded by --crop-padding")->group(d);
    sub->add_option("--crop-padding", c->crop_padding, "Padding of --random-crop")->capture_default_str()->group(d);
    sub->add_flag("--hflip", c->hflip, "Random horizontal flip (not for digits or text)")->group(d);
    auto* m = "Model";
    sub->add_flag("--fold-bn", c->fold_bn, "Fold BatchNormalization into the preceding Conv before training")->group(m);
    sub->add_option("--freeze-bn-after", c->freeze_bn_after, "Freeze BN running statistics from step N on")->group(m);
    sub->add_flag("--keep-best", c->keep_best, "Write the best-validation weights instead of the last")->group(m);
    if (finetune) {
        auto* q = "Quantizers";
        sub->add_option("--range-mode", c->range_mode,
                        "Activation ranges: fixed (default for calibrated models), ema (default otherwise), "
                        "last-batch, learned")
            ->group(q);
        sub->add_flag("--learned-weights", c->learned_weights,
                      "Learn weight scales (LSQ) instead of following the weights")
            ->group(q);
        sub->add_option("--quantizer", c->quantizer,
                        "PATTERN=MODE for the quantizers whose Q node or tensor matches the glob (repeatable); MODE: "
                        "last-batch, ema, fixed, learned or disabled")
            ->group(q);
        sub->add_option("--ema-momentum", c->ema_momentum, "Weight of each batch in ema ranges")
            ->capture_default_str()
            ->group(q);
        sub->add_option("--calib-batches", c->calib_batches, "Batches that give unranged quantizers a first range")
            ->capture_default_str()
            ->group(q);
    }
    auto* r = "Run";
    sub->add_option("--seed", c->seed, "Seed of data order, augmentation and dropout")->capture_default_str()->group(r);
    sub->add_option("--threads", c->threads, "Intra-op threads (0: every core)")->capture_default_str()->group(r);
    sub->add_option("--checkpoint", c->checkpoint, "Checkpoint file (default: OUTPUT.ckpt)")->group(r);
    sub->add_option("--checkpoint-every", c->checkpoint_every, "Also checkpoint every N steps")->group(r);
    sub->add_option("--resume", c->resume, "Continue from a checkpoint")->group(r);
    sub->add_option("--log", c->log, "JSON log of every epoch")->group(r);
    sub->add_flag("--json", c->json, "Print one JSON summary (no progress bars)")->group(r);
    sub->add_flag("-q,--quiet", c->quiet, "No progress bars")->group(r);
    sub->callback([c, finetune, name] {
        maybe_reexec_for_openblas();
        int code = kExitOk;
        run_command(name, [&] { return run_train(*c, finetune, &code); });
        if (code != kExitOk && exit_code() == kExitOk) set_exit_code(code);
    });
}

}  // namespace qat::cli
