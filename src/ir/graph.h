// ir::Graph: the one graph type of qat (import, passes, quantization, training, export).
//
// A Graph owns its Nodes and Values. A Value has a dtype, a Shape (symbolic dims allowed), at
// most one producer, a use-list and, for weights, a constant payload. Q and DQ are ordinary
// nodes. All mutation goes through Graph methods so use-lists stay consistent; ir::verify()
// checks that they are.
//
//   ir::Graph g;
//   ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3, 32, 32});
//   ir::Value* w = g.add_initializer("w", Tensor::zeros(DataType::kFloat32, {8, 3, 3, 3}));
//   ir::Node* conv = g.add_node("Conv", {x, w}, {"y"}, "conv1");
//   conv->set_attr("pads", ir::Attribute::from_ints({1, 1, 1, 1}));
//   g.add_output(conv->output(0));
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "ir/attribute.h"

namespace qat::ir {

class Graph;
class Node;

// One consumer of a Value: node->input(index) == value.
struct Use {
    Node* node = nullptr;
    int index = 0;
    bool operator==(const Use& o) const { return node == o.node && index == o.index; }
};

class Value {
  public:
    const std::string& name() const { return name_; }
    DataType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    void set_dtype(DataType t) { dtype_ = t; }
    void set_shape(Shape s) { shape_ = std::move(s); }

    Node* producer() const { return producer_; }
    int producer_index() const { return producer_index_; }
    const std::vector<Use>& uses() const { return uses_; }
    bool has_uses() const { return !uses_.empty(); }

    // A weight: an initializer (no producer) or the output of a Constant node.
    bool is_constant() const { return constant_.defined(); }
    const Tensor& constant() const { return constant_; }
    // Replaces the payload; dtype and shape follow it.
    void set_constant(Tensor t);
    // True for an initializer (constant without producer).
    bool is_initializer() const { return is_constant() && producer_ == nullptr; }
    bool is_graph_input() const { return is_input_; }
    bool is_graph_output() const { return is_output_; }

    // Free text that travels with the value (ONNX doc_string of its value_info).
    std::string doc_string;

  private:
    friend class Graph;
    std::string name_;
    DataType dtype_ = DataType::kUndefined;
    Shape shape_;
    Node* producer_ = nullptr;
    int producer_index_ = -1;
    std::vector<Use> uses_;
    Tensor constant_;
    bool is_input_ = false;
    bool is_output_ = false;
};

class Node {
  public:
    const std::string& op_type() const { return op_type_; }
    const std::string& domain() const { return domain_; }
    const std::string& name() const { return name_; }
    void set_name(std::string n) { name_ = std::move(n); }

    // Inputs may hold nullptr for an omitted optional input (ONNX "").
    const std::vector<Value*>& inputs() const { return inputs_; }
    const std::vector<Value*>& outputs() const { return outputs_; }
    size_t num_inputs() const { return inputs_.size(); }
    size_t num_outputs() const { return outputs_.size(); }
    // nullptr when i is past the end or the input is omitted.
    Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
    Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }

    const std::map<std::string, Attribute>& attrs() const { return attrs_; }
    bool has_attr(const std::string& name) const { return attrs_.count(name) > 0; }
    const Attribute* attr(const std::string& name) const;
    void set_attr(const std::string& name, Attribute a) { attrs_[name] = std::move(a); }
    void remove_attr(const std::string& name) { attrs_.erase(name); }
    int64_t attr_int(const std::string& name, int64_t fallback) const;
    float attr_float(const std::string& name, float fallback) const;
    std::string attr_string(const std::string& name, const std::string& fallback) const;
    std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> fallback = {}) const;
    std::vector<float> attr_floats(const std::string& name, std::vector<float> fallback = {}) const;

    // "Conv 'conv1'" for messages.
    std::string desc() const;
    // The graph that owns this node (kernels read e.g. the opset from graph()->info()).
    const Graph* graph() const { return graph_; }
    // Opset of this node's domain in its graph (0 when not imported).
    int64_t opset() const;

    std::string doc_string;

  private:
    friend class Graph;
    std::string op_type_;
    std::string domain_;
    std::string name_;
    std::vector<Value*> inputs_;
    std::vector<Value*> outputs_;
    std::map<std::string, Attribute> attrs_;
    const Graph* graph_ = nullptr;
    std::list<std::unique_ptr<Node>>::iterator self_;
};

struct OpsetImport {
    std::string domain;  // "" is the default ONNX domain
    int64_t version = 0;
};

// Model-level facts that travel with the graph so export reproduces them.
struct ModelInfo {
    int64_t ir_version = 8;
    std::vector<OpsetImport> opsets = {{"", 13}};
    std::string producer_name = "qat";
    std::string producer_version;
    std::string domain;
    int64_t model_version = 0;
    std::string doc_string;
    std::string graph_name = "main";
    std::string graph_doc_string;
    std::vector<std::pair<std::string, std::string>> metadata_props;

    // Opset of a domain, 0 when not imported.
    int64_t opset(const std::string& domain = "") const;
    void set_opset(const std::string& domain, int64_t version);
    // Value of a metadata_props key, or nullopt.
    std::optional<std::string> metadata(const std::string& key) const;
    void set_metadata(const std::string& key, std::string value);
};

class Graph {
  public:
    Graph();
    ~Graph();
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;

    // Deep copy (nodes, values, payloads shared copy-on-nothing: constant buffers are shared,
    // so a pass that edits a weight must set_constant a new tensor, never write in place).
    std::unique_ptr<Graph> clone() const;

    ModelInfo& info() { return info_; }
    const ModelInfo& info() const { return info_; }

    // ---- values ----
    Value* add_input(const std::string& name, DataType dtype, Shape shape);
    Value* add_initializer(const std::string& name, Tensor payload);
    // A value with no producer yet (the importer creates values before their producers).
    Value* add_value(const std::string& name, DataType dtype = DataType::kUndefined, Shape shape = {});
    void add_output(Value* v);
    void set_outputs(std::vector<Value*> outs);
    // Graph output i now refers to v.
    void replace_output(size_t i, Value* v);
    // Appends an existing value to the graph inputs (e.g. an initializer that is also an input).
    void mark_input(Value* v);
    void unmark_input(Value* v);
    const std::vector<Value*>& inputs() const { return inputs_; }
    const std::vector<Value*>& outputs() const { return outputs_; }
    // Initializers in insertion order.
    std::vector<Value*> initializers() const;
    // All values in insertion order.
    std::vector<Value*> values() const;

    Value* find_value(const std::string& name) const;
    Node* find_node(const std::string& name) const;
    // A name not used by any value (or node): prefix, prefix_1, prefix_2, ...
    std::string unique_value_name(const std::string& prefix) const;
    std::string unique_node_name(const std::string& prefix) const;
    // Gives `v` a new name (which must be free). Passes use it so that a value replacing another
    // keeps the old name, e.g. a fused node's output that becomes the graph output "logits".
    void rename_value(Value* v, const std::string& new_name);

    // ---- nodes ----
    // Creates a node whose outputs are new values with the given names (made unique if taken).
    Node* add_node(const std::string& op_type, const std::vector<Value*>& inputs,
                   const std::vector<std::string>& output_names, const std::string& name = "",
                   const std::string& domain = "");
    // Creates a node whose outputs are existing values without a producer (used by the importer).
    Node* add_node_with_outputs(const std::string& op_type, const std::vector<Value*>& inputs,
                                const std::vector<Value*>& outputs, const std::string& name = "",
                                const std::string& domain = "");
    // Removes a node. Its outputs must have no uses and must not be graph outputs; they are
    // removed with it.
    void remove_node(Node* n);
    // Removes a value without producer or uses (e.g. a dead initializer).
    void remove_value(Value* v);
    void set_input(Node* n, size_t index, Value* v);
    void append_input(Node* n, Value* v);
    // Every use of `from` (and graph output slots holding it) now reads `to`.
    void replace_all_uses_with(Value* from, Value* to);
    // Only the given uses of `from` now read `to`.
    void replace_uses_with(Value* from, const std::vector<Use>& uses, Value* to);
    // Inserts `op_type(v, extra_inputs...)` after v, and redirects to its output every use of v
    // (or only `only_uses` when given). Graph outputs keep reading v. Returns the new node.
    Node* insert_after(Value* v, const std::string& op_type, const std::vector<Value*>& extra_inputs,
                       const std::string& node_name, const std::string& output_name,
                       const std::vector<Use>* only_uses = nullptr);
    // Moves a node to just before `before` in the node list (the order export keeps).
    void move_before(Node* n, Node* before);

    // Nodes in insertion order.
    std::vector<Node*> nodes() const;
    size_t num_nodes() const { return nodes_.size(); }
    // Topological order, stable with respect to insertion order; error naming a node on a cycle.
    Result<std::vector<Node*>> topo_order() const;
    // Removes nodes whose outputs are all unused and not graph outputs (repeatedly), and
    // initializers nobody reads (unless they are graph inputs). Returns how many nodes went.
    size_t remove_dead_code();

  private:
    Value* new_value(const std::string& name);
    static void erase_use(Value* v, Node* n, int index);

    ModelInfo info_;
    std::list<std::unique_ptr<Node>> nodes_;
    std::list<std::unique_ptr<Value>> values_;
    std::unordered_map<std::string, Value*> value_by_name_;
    std::vector<Value*> inputs_;
    std::vector<Value*> outputs_;
};

}  // namespace qat::ir
