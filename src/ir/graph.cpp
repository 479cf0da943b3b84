#include "ir/graph.h"

#include <algorithm>
#include <queue>
#include <unordered_set>

namespace qat::ir {

// ---- Value ----

void Value::set_constant(Tensor t) {
    dtype_ = t.dtype();
    shape_ = t.shape();
    constant_ = std::move(t);
}

// ---- Node ----

const Attribute* Node::attr(const std::string& name) const {
    auto it = attrs_.find(name);
    return it == attrs_.end() ? nullptr : &it->second;
}

int64_t Node::attr_int(const std::string& name, int64_t fallback) const {
    const Attribute* a = attr(name);
    return a && a->kind == Attribute::Kind::kInt ? a->i : fallback;
}
float Node::attr_float(const std::string& name, float fallback) const {
    const Attribute* a = attr(name);
    if (!a) return fallback;
    if (a->kind == Attribute::Kind::kFloat) return a->f;
    if (a->kind == Attribute::Kind::kInt) return static_cast<float>(a->i);
    return fallback;
}
std::string Node::attr_string(const std::string& name, const std::string& fallback) const {
    const Attribute* a = attr(name);
    return a && a->kind == Attribute::Kind::kString ? a->s : fallback;
}
std::vector<int64_t> Node::attr_ints(const std::string& name, std::vector<int64_t> fallback) const {
    const Attribute* a = attr(name);
    return a && a->kind == Attribute::Kind::kInts ? a->ints : fallback;
}
std::vector<float> Node::attr_floats(const std::string& name, std::vector<float> fallback) const {
    const Attribute* a = attr(name);
    return a && a->kind == Attribute::Kind::kFloats ? a->floats : fallback;
}

std::string Node::desc() const {
    std::string d = op_type_;
    if (!name_.empty()) d += " '" + name_ + "'";
    return d;
}

int64_t Node::opset() const { return graph_ ? graph_->info().opset(domain_) : 0; }

// ---- ModelInfo ----

int64_t ModelInfo::opset(const std::string& d) const {
    for (const auto& o : opsets)
        if (o.domain == d || (d.empty() && o.domain == "ai.onnx")) return o.version;
    return 0;
}

void ModelInfo::set_opset(const std::string& d, int64_t version) {
    for (auto& o : opsets)
        if (o.domain == d) {
            o.version = version;
            return;
        }
    opsets.push_back({d, version});
}

std::optional<std::string> ModelInfo::metadata(const std::string& key) const {
    for (const auto& [k, v] : metadata_props)
        if (k == key) return v;
    return std::nullopt;
}

void ModelInfo::set_metadata(const std::string& key, std::string value) {
    for (auto& [k, v] : metadata_props)
        if (k == key) {
            v = std::move(value);
            return;
        }
    metadata_props.emplace_back(key, std::move(value));
}

// ---- Graph ----

Graph::Graph() = default;
Graph::~Graph() = default;

Value* Graph::new_value(const std::string& name) {
    QAT_ASSERT(!name.empty(), "values need a name");
    QAT_ASSERT(value_by_name_.count(name) == 0, "duplicate value name '", name, "'");
    values_.push_back(std::make_unique<Value>());
    Value* v = values_.back().get();
    v->name_ = name;
    value_by_name_[name] = v;
    return v;
}

Value* Graph::add_input(const std::string& name, DataType dtype, Shape shape) {
    Value* v = new_value(name);
    v->dtype_ = dtype;
    v->shape_ = std::move(shape);
    v->is_input_ = true;
    inputs_.push_back(v);
    return v;
}

Value* Graph::add_initializer(const std::string& name, Tensor payload) {
    Value* v = new_value(name);
    v->set_constant(std::move(payload));
    return v;
}

Value* Graph::add_value(const std::string& name, DataType dtype, Shape shape) {
    Value* v = new_value(name);
    v->dtype_ = dtype;
    v->shape_ = std::move(shape);
    return v;
}

void Graph::add_output(Value* v) {
    outputs_.push_back(v);
    v->is_output_ = true;
}

void Graph::set_outputs(std::vector<Value*> outs) {
    for (Value* v : outputs_) v->is_output_ = false;
    outputs_ = std::move(outs);
    for (Value* v : outputs_) v->is_output_ = true;
}

void Graph::replace_output(size_t i, Value* v) {
    QAT_ASSERT(i < outputs_.size());
    Value* old = outputs_[i];
    outputs_[i] = v;
    old->is_output_ = std::find(outputs_.begin(), outputs_.end(), old) != outputs_.end();
    v->is_output_ = true;
}

void Graph::mark_input(Value* v) {
    if (v->is_input_) return;
    v->is_input_ = true;
    inputs_.push_back(v);
}

void Graph::unmark_input(Value* v) {
    if (!v->is_input_) return;
    v->is_input_ = false;
    inputs_.erase(std::remove(inputs_.begin(), inputs_.end(), v), inputs_.end());
}

std::vector<Value*> Graph::initializers() const {
    std::vector<Value*> out;
    for (const auto& v : values_)
        if (v->is_initializer()) out.push_back(v.get());
    return out;
}

std::vector<Value*> Graph::values() const {
    std::vector<Value*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v.get());
    return out;
}

Value* Graph::find_value(const std::string& name) const {
    auto it = value_by_name_.find(name);
    return it == value_by_name_.end() ? nullptr : it->second;
}

Node* Graph::find_node(const std::string& name) const {
    for (const auto& n : nodes_)
        if (n->name_ == name) return n.get();
    return nullptr;
}

std::string Graph::unique_value_name(const std::string& prefix) const {
    if (!value_by_name_.count(prefix)) return prefix;
    for (int i = 1;; ++i) {
        std::string n = prefix + "_" + std::to_string(i);
        if (!value_by_name_.count(n)) return n;
    }
}

std::string Graph::unique_node_name(const std::string& prefix) const {
    std::unordered_set<std::string> taken;
    for (const auto& n : nodes_) taken.insert(n->name_);
    if (!taken.count(prefix)) return prefix;
    for (int i = 1;; ++i) {
        std::string n = prefix + "_" + std::to_string(i);
        if (!taken.count(n)) return n;
    }
}

void Graph::rename_value(Value* v, const std::string& new_name) {
    if (v->name_ == new_name) return;
    QAT_ASSERT(!new_name.empty(), "values need a name");
    QAT_ASSERT(value_by_name_.count(new_name) == 0, "rename: value name '", new_name, "' is taken");
    value_by_name_.erase(v->name_);
    v->name_ = new_name;
    value_by_name_[new_name] = v;
}

Node* Graph::add_node(const std::string& op_type, const std::vector<Value*>& inputs,
                      const std::vector<std::string>& output_names, const std::string& name,
                      const std::string& domain) {
    std::vector<Value*> outs;
    outs.reserve(output_names.size());
    for (const auto& on : output_names) outs.push_back(new_value(unique_value_name(on)));
    return add_node_with_outputs(op_type, inputs, outs, name, domain);
}

Node* Graph::add_node_with_outputs(const std::string& op_type, const std::vector<Value*>& inputs,
                                   const std::vector<Value*>& outputs, const std::string& name,
                                   const std::string& domain) {
    nodes_.push_back(std::make_unique<Node>());
    Node* n = nodes_.back().get();
    n->self_ = std::prev(nodes_.end());
    n->graph_ = this;
    n->op_type_ = op_type;
    n->domain_ = domain;
    n->name_ = name;
    n->inputs_ = inputs;
    for (size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i]) inputs[i]->uses_.push_back({n, static_cast<int>(i)});
    n->outputs_ = outputs;
    for (size_t i = 0; i < outputs.size(); ++i) {
        QAT_ASSERT(outputs[i] != nullptr, "node outputs must be values");
        QAT_ASSERT(outputs[i]->producer_ == nullptr, "value '", outputs[i]->name_, "' already has a producer");
        outputs[i]->producer_ = n;
        outputs[i]->producer_index_ = static_cast<int>(i);
    }
    return n;
}

void Graph::erase_use(Value* v, Node* n, int index) {
    auto& u = v->uses_;
    auto it = std::find(u.begin(), u.end(), Use{n, index});
    QAT_ASSERT(it != u.end(), "use-list of '", v->name_, "' lacks ", n->desc(), " input ", index);
    u.erase(it);
}

void Graph::remove_node(Node* n) {
    for (Value* o : n->outputs_) {
        QAT_ASSERT(o->uses_.empty(), "removing ", n->desc(), " whose output '", o->name_, "' is still used");
        QAT_ASSERT(!o->is_output_, "removing ", n->desc(), " whose output '", o->name_, "' is a graph output");
    }
    for (size_t i = 0; i < n->inputs_.size(); ++i)
        if (n->inputs_[i]) erase_use(n->inputs_[i], n, static_cast<int>(i));
    for (Value* o : n->outputs_) {
        o->producer_ = nullptr;
        remove_value(o);
    }
    nodes_.erase(n->self_);
}

void Graph::remove_value(Value* v) {
    QAT_ASSERT(v->producer_ == nullptr && v->uses_.empty() && !v->is_output_, "removing value '", v->name_,
               "' that is still connected");
    unmark_input(v);
    value_by_name_.erase(v->name_);
    values_.remove_if([v](const std::unique_ptr<Value>& p) { return p.get() == v; });
}

void Graph::set_input(Node* n, size_t index, Value* v) {
    if (index >= n->inputs_.size()) n->inputs_.resize(index + 1, nullptr);
    Value* old = n->inputs_[index];
    if (old == v) return;
    if (old) erase_use(old, n, static_cast<int>(index));
    n->inputs_[index] = v;
    if (v) v->uses_.push_back({n, static_cast<int>(index)});
}

void Graph::append_input(Node* n, Value* v) { set_input(n, n->inputs_.size(), v); }

void Graph::replace_all_uses_with(Value* from, Value* to) {
    if (from == to) return;
    std::vector<Use> uses = from->uses_;
    replace_uses_with(from, uses, to);
    for (size_t i = 0; i < outputs_.size(); ++i)
        if (outputs_[i] == from) replace_output(i, to);
}

void Graph::replace_uses_with(Value* from, const std::vector<Use>& uses, Value* to) {
    for (const Use& u : uses) {
        QAT_ASSERT(u.node->inputs_[u.index] == from, "use does not read '", from->name_, "'");
        set_input(u.node, u.index, to);
    }
}

Node* Graph::insert_after(Value* v, const std::string& op_type, const std::vector<Value*>& extra_inputs,
                          const std::string& node_name, const std::string& output_name,
                          const std::vector<Use>* only_uses) {
    std::vector<Use> uses = only_uses ? *only_uses : v->uses_;
    std::vector<Value*> ins{v};
    ins.insert(ins.end(), extra_inputs.begin(), extra_inputs.end());
    Node* n = add_node(op_type, ins, {output_name}, node_name);
    replace_uses_with(v, uses, n->output(0));
    // Keep the node list close to topological: right after the producer when there is one.
    if (v->producer_) {
        auto it = std::next(v->producer_->self_);
        if (it != nodes_.end() && it->get() != n) move_before(n, it->get());
    } else if (!nodes_.empty() && nodes_.front().get() != n) {
        move_before(n, nodes_.front().get());
    }
    return n;
}

void Graph::move_before(Node* n, Node* before) {
    if (n == before) return;
    nodes_.splice(before->self_, nodes_, n->self_);
}

std::vector<Node*> Graph::nodes() const {
    std::vector<Node*> out;
    out.reserve(nodes_.size());
    for (const auto& n : nodes_) out.push_back(n.get());
    return out;
}

Result<std::vector<Node*>> Graph::topo_order() const {
    // Kahn's algorithm with a priority on insertion position, so an already sorted graph keeps
    // its order exactly.
    std::unordered_map<const Node*, size_t> pos;
    std::vector<Node*> order_in;
    for (const auto& n : nodes_) {
        pos[n.get()] = order_in.size();
        order_in.push_back(n.get());
    }
    std::vector<int> pending(order_in.size(), 0);
    for (size_t i = 0; i < order_in.size(); ++i)
        for (Value* in : order_in[i]->inputs_)
            if (in && in->producer_) ++pending[i];
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t i = 0; i < order_in.size(); ++i)
        if (pending[i] == 0) ready.push(i);
    std::vector<Node*> out;
    out.reserve(order_in.size());
    while (!ready.empty()) {
        size_t i = ready.top();
        ready.pop();
        Node* n = order_in[i];
        out.push_back(n);
        for (Value* o : n->outputs_)
            for (const Use& u : o->uses_) {
                size_t j = pos.at(u.node);
                if (--pending[j] == 0) ready.push(j);
            }
    }
    if (out.size() != order_in.size()) {
        for (size_t i = 0; i < order_in.size(); ++i)
            if (pending[i] > 0) return invalid_model("graph has a cycle through node ", order_in[i]->desc());
    }
    return out;
}

size_t Graph::remove_dead_code() {
    size_t removed = 0;
    bool changed = true;
    while (changed) {
        changed = false;
        for (auto it = nodes_.rbegin(); it != nodes_.rend();) {
            Node* n = it->get();
            ++it;
            bool dead = true;
            for (Value* o : n->outputs_)
                if (!o->uses_.empty() || o->is_output_) dead = false;
            if (dead) {
                remove_node(n);
                ++removed;
                changed = true;
                break;  // iterators are invalid after removal
            }
        }
    }
    std::vector<Value*> dead_values;
    for (const auto& v : values_)
        if (!v->producer_ && v->uses_.empty() && !v->is_output_ && !v->is_input_) dead_values.push_back(v.get());
    for (Value* v : dead_values) remove_value(v);
    return removed;
}

std::unique_ptr<Graph> Graph::clone() const {
    auto g = std::make_unique<Graph>();
    g->info_ = info_;
    std::unordered_map<const Value*, Value*> vmap;
    for (const auto& v : values_) {
        Value* c = g->new_value(v->name_);
        c->dtype_ = v->dtype_;
        c->shape_ = v->shape_;
        c->constant_ = v->constant_;
        c->doc_string = v->doc_string;
        vmap[v.get()] = c;
    }
    for (Value* in : inputs_) g->mark_input(vmap.at(in));
    for (const auto& n : nodes_) {
        std::vector<Value*> ins, outs;
        for (Value* i : n->inputs_) ins.push_back(i ? vmap.at(i) : nullptr);
        for (Value* o : n->outputs_) outs.push_back(vmap.at(o));
        Node* c = g->add_node_with_outputs(n->op_type_, ins, outs, n->name_, n->domain_);
        c->attrs_ = n->attrs_;
        c->doc_string = n->doc_string;
    }
    for (Value* o : outputs_) g->add_output(vmap.at(o));
    return g;
}

}  // namespace qat::ir
