#include "train/trainable_graph.h"

#include "train/graph_module.h"
#include "train/torch_util.h"

namespace qat::train {

TrainableGraph::TrainableGraph(std::unique_ptr<detail::GraphModule> m) : module_(std::move(m)) {}
TrainableGraph::~TrainableGraph() = default;

Result<std::unique_ptr<TrainableGraph>> TrainableGraph::create(const ir::Graph& graph, const ModuleOptions& options) {
    QAT_ASSIGN_OR_RETURN(auto m, detail::GraphModule::build(graph, options));
    return std::unique_ptr<TrainableGraph>(new TrainableGraph(std::move(m)));
}

Result<std::vector<Tensor>> TrainableGraph::forward(const std::vector<Tensor>& inputs, bool training) {
    std::vector<Tensor> result;
    Status s = detail::guard_torch("forward", [&]() -> Status {
        at::NoGradGuard no_grad;
        std::vector<at::Tensor> ins;
        for (const Tensor& t : inputs) {
            QAT_ASSIGN_OR_RETURN(at::Tensor a, detail::to_torch(t));
            ins.push_back(a);
        }
        module_->set_training(training);
        QAT_ASSIGN_OR_RETURN(std::vector<at::Tensor> outs, module_->forward(ins));
        for (const at::Tensor& o : outs) {
            QAT_ASSIGN_OR_RETURN(Tensor t, detail::from_torch(o));
            result.push_back(std::move(t));
        }
        return OkStatus();
    });
    if (!s.ok()) return s;
    return result;
}

const std::vector<std::string>& TrainableGraph::input_names() const { return module_->input_names(); }
const std::vector<std::string>& TrainableGraph::output_names() const { return module_->output_names(); }
const std::vector<std::string>& TrainableGraph::notes() const { return module_->notes(); }

std::vector<ParamInfo> TrainableGraph::params() const {
    std::vector<ParamInfo> out;
    for (const detail::Param& p : module_->params())
        out.push_back({p.name, detail::param_kind_name(p.kind), p.tensor.sizes().vec(), !p.dq_node.empty()});
    return out;
}

std::vector<QuantizerInfo> TrainableGraph::quantizers() const {
    std::vector<QuantizerInfo> out;
    for (const auto& q : module_->quantizers()) {
        QuantizerInfo i;
        i.name = q->cfg.name;
        i.tensor = q->cfg.tensor;
        i.weight = q->cfg.weight;
        i.axis = q->cfg.axis;
        i.mode = q->cfg.weight && !q->learned() ? "follow" : range_mode_name(q->cfg.mode);
        i.state = quantizer_state_name(q->cfg.state);
        if (q->learned() || q->initialized) i.scale = q->current_scale();
        out.push_back(std::move(i));
    }
    return out;
}

void TrainableGraph::set_quantizer_state(QuantizerState state) {
    for (auto& q : module_->quantizers()) q->cfg.state = state;
}

}  // namespace qat::train
