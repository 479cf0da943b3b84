// The trainer behind `qat train` (FP32) and `qat finetune` (quantization-aware training): an
// ONNX graph trained with libtorch, its result written back into the same graph (write_back.h).
// Plain C++: libtorch stays inside src/train.
//
//   train::TrainOptions o;
//   o.finetune = true;                       // the graph holds Q/DQ nodes (qat quantize)
//   o.data = "fashion-mnist";
//   o.epochs = 2;
//   o.lr = 1e-3;
//   o.checkpoint = "model_qat.ckpt";
//   QAT_ASSIGN_OR_RETURN(train::TrainSummary s, train::run_training(graph, o));
//   QAT_RETURN_IF_ERROR(onnx::save_model(graph, "model_qat.onnx"));
//
// What one step does: a batch from data::Loader (shuffled per epoch from the seed, augmented),
// forward through the module (BatchNormalization with batch statistics unless frozen, fake
// quantization with each quantizer's range mode), cross-entropy on the first output, backward,
// optional gradient clipping, an SGD (momentum, weight decay) or Adam update at the schedule's rate
// for that step. Validation at the end of every epoch; the best validation top-1 is tracked.
//
// Determinism: with one intra-op thread, the same options give bitwise the same weights. All
// randomness derives from (seed, epoch) (data order, augmentation) or (seed, step) (dropout), and a
// checkpoint holds everything else (weights, BN statistics, optimizer state, quantizer ranges, the
// position in the epoch), so `resume` continues exactly where the checkpoint was taken.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "train/module_options.h"
#include "train/schedule.h"

namespace qat::train {

enum class OptimizerKind { kSgd, kAdam };
const char* optimizer_name(OptimizerKind k);
Result<OptimizerKind> parse_optimizer(const std::string& s);

struct TrainOptions {
    bool finetune = false;   // QAT: the graph must hold Q/DQ nodes; FP32 training refuses them
    std::string model_name;  // the model file, for messages and the log

    // ---- data ----
    std::string data;  // --data spec (data/dataset.h)
    std::string train_split = "train";
    std::string val_split = "test";
    int64_t train_limit = 0;  // > 0: a seeded subset of that many training samples
    int64_t val_limit = 0;    // > 0: the first that many validation samples
    bool validate = true;
    float scale = -1.0f;  // < 0: the data set's default (1/255 for pixels)
    std::vector<float> mean, std;
    bool random_crop = false;
    int64_t crop_padding = 4;
    bool hflip = false;

    // ---- schedule and optimizer ----
    int64_t batch_size = 64;
    int64_t epochs = 1;
    int64_t steps = 0;  // > 0: exactly this many steps (epochs then only bounds the data passes)
    double lr = 0.1;
    OptimizerKind optimizer = OptimizerKind::kSgd;
    double momentum = 0.9;
    double weight_decay = 1e-4;  // Conv / Gemm / MatMul weights only
    double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
    ScheduleKind schedule = ScheduleKind::kPiecewise;
    std::vector<PiecewisePoint> piecewise;  // empty: default_piecewise(run length in epochs)
    int64_t warmup_steps = 0;               // cosine
    double step_epochs = 0;                 // step: 0 means a third of the run
    double gamma = 0.1;                     // step
    double clip_grad_norm = 0;              // > 0: clip the global gradient norm

    // ---- model ----
    ModuleOptions module;
    int64_t freeze_bn_after = -1;  // >= 0: BN running statistics freeze from that step on
    bool fold_bn = false;          // fold BN into the preceding Conv before training
    int64_t calib_batches = 8;     // batches that give quantizers without a range their first one
    bool keep_best = false;        // write back the best-validation weights instead of the last

    // ---- run ----
    uint64_t seed = 0;
    int threads = 0;         // intra-op threads; 0: every core of the machine
    std::string checkpoint;  // written at each epoch end, every checkpoint_every steps, on signals
    int64_t checkpoint_every = 0;
    std::string resume;    // checkpoint to continue from
    std::string log_path;  // JSON log, rewritten after every epoch
    bool quiet = false;
    // Tests: stop (as if interrupted) after this many steps of this run, writing the checkpoint.
    int64_t stop_after_steps = -1;
};

struct EpochRecord {
    int64_t epoch = 0;  // 1-based
    int64_t steps = 0;  // total steps at the end of the epoch
    double lr = 0;      // rate of the epoch's last step
    double train_loss = 0, train_top1 = 0;
    double val_loss = 0, val_top1 = -1;  // -1: not validated
    double seconds = 0, samples_per_second = 0;
    bool best = false;
};

struct TrainSummary {
    std::vector<EpochRecord> epochs;
    std::vector<double> step_losses;  // loss of each step this run executed (resumed runs: from the resume)
    int64_t steps = 0;                // total steps at the end (resumed runs: counting the earlier ones)
    int64_t first_step = 0;           // first step this run executed
    double final_val_top1 = -1;       // of the weights written back
    double best_val_top1 = -1;
    int64_t best_epoch = 0;
    bool interrupted = false;  // stopped by a signal or stop_after_steps; the checkpoint holds the state
    std::string checkpoint_written;
    std::vector<std::string> notes;  // quantizer notes, calibration of unranged quantizers, ...
    int64_t quantizers = 0;
    int threads = 0;
};

// Trains `graph` in place: on success (and not interrupted) the trained weights, statistics and
// scales are in `graph`. Checks every input before the first step (data against the model's input
// and output, labels against the class count, output / checkpoint / log paths writable, the
// resume checkpoint against the model and options). Interrupted runs return the summary with
// `interrupted` set (the caller decides whether that is an error).
Result<TrainSummary> run_training(ir::Graph& graph, const TrainOptions& options);

// Intra-op threads for libtorch (libtorch here defaults to one core): n, or every core for 0.
// Returns the count in effect.
int set_training_threads(int n);

// The OpenBLAS core type this CPU should use ("SkylakeX" for AVX-512, "Haswell" for AVX2, empty
// when OpenBLAS's own detection is fine or no BLAS is loaded), and the one OpenBLAS picked.
std::string preferred_openblas_coretype();
std::string openblas_coretype();

}  // namespace qat::train
