// Text form of the IR: print a Graph as readable, line-oriented text, and parse it back.
//
// Pass tests state their "before" and "after" graphs in this form (pnnx's patterns, ncnn's
// .param), and debug dumps print it. Example:
//
//   opset com.qat 1                          # only when the opsets differ from ONNX 13 alone
//   graph main(%x: f32[N,3,32,32]) -> (%y) {
//     %w = init f32[8,3,3,3]                 # large payloads are not printed; parse fills them
//     %s = init f32[] {0.0235}               # small payloads (<= 16 elements) are printed inline
//     %c: f32[N,8,32,32] = Conv[pads=[1,1,1,1], strides=[1,1]](%x, %w, _) @conv1
//     %a, %b = Split[axis=1](%c) @split
//     %q = com.qat::QRelu(%a) @qr
//     %y = Add(%q, %b) @add
//   }
//
// Grammar (whitespace and newlines are not significant; `#` starts a comment to end of line):
//   value      %name or %"any text"   (bare names use [A-Za-z0-9_.-/]; others are quoted)
//   node name  @name or @"any text"   (optional)
//   type       dtype shape: f32 f16 f64 i8 u8 i16 i32 i64 bool, or ? when unknown; shape [d,...]
//              with d an integer, a symbol (N, batch) or ?; [] is a scalar, [*] an unknown rank
//   statement  %out[: type], ... = [domain::]Op[attr=value, ...](%in | _, ...) [@name]
//              %v = init type [{payload}]     an initializer (a graph input when in the header)
//              %v = dangling type             a value nobody produces (only for broken graphs)
//   attribute  3 | 1.5 | "text" | [1,2] | [0.5,1.0] | ["a","b"] | ints[] | floats[] | strings[]
//              | tensor type [{payload}] | opaque "hex bytes of the AttributeProto"
//   payload    {v, v, ...}: exactly numel values (floats print in shortest round-trip form)
// Floats always carry a '.' or an exponent (1.0, 1e-05, inf, nan) so they never read as ints.
// Values may be referenced before their definition (so a cycle can be written for verifier tests).
//
// Printing is deterministic and depends only on the graph's structure: nodes come in a
// canonical topological order (depth-first from the graph outputs, inputs left to right; nodes
// that do not reach an output follow in insertion-stable topological order), and each
// initializer is printed just before its first reader.
//
//   std::string text = ir::print_graph(g);
//   QAT_ASSIGN_OR_RETURN(auto g2, ir::parse_graph(text));
//   std::string diff;
//   EXPECT_TRUE(ir::same_structure(*expected, *actual, &diff)) << diff;
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::ir {

struct PrintOptions {
    // Print dtype/shape of node outputs ("%c: f32[N,8,32,32] = Conv(...)").
    bool types = true;
    // Print node names ("@conv1").
    bool node_names = true;
    // Payloads (initializers, Constant/tensor attributes) with at most this many elements are
    // printed inline; larger ones are omitted. -1 prints every payload.
    int64_t max_inline_elements = 16;
    // For omitted payloads, a comment with a 64-bit FNV-1a digest of the bytes ("# fnv=...").
    bool payload_digest = false;
    // Rename every value except graph inputs and outputs to %_0, %_1, ... in print order, so two
    // graphs that differ only in intermediate names print the same (used by same_structure).
    bool canonical_names = false;
    // Print the `opset` lines even when the opsets are the default (ONNX 13 only).
    bool always_print_opsets = false;
};

std::string print_graph(const Graph& g, const PrintOptions& options = {});

struct ParseOptions {
    // How omitted payloads are filled: zeros, or a deterministic pseudo-random pattern in
    // [-1, 1) (integer types: small values in their range) from `seed`, so numerical tests have
    // non-trivial weights.
    enum class Fill { kZeros, kSeeded };
    Fill fill = Fill::kZeros;
    uint64_t seed = 0;
};

// Parses the text form. Errors read "line L:C: expected ..., got ..." (kInvalidArgument).
// The graph is not verified: call ir::verify() when the text is meant to be a valid graph.
Result<std::unique_ptr<Graph>> parse_graph(std::string_view text, const ParseOptions& options = {});

struct CompareOptions {
    // Compare initializer and tensor-attribute payloads bit for bit (by digest).
    bool payloads = true;
    // Compare node output dtypes and shapes.
    bool types = true;
    // Compare intermediate value names and node names too.
    bool names = false;
};

// True when the graphs have the same structure: same inputs and outputs (names, types), and
// the same nodes (op, domain, attributes, wiring, initializer types) in canonical order. By
// default intermediate value names and node names are ignored. On a difference, *diff (when
// given) gets the first differing line of both canonical prints, with its line number.
bool same_structure(const Graph& a, const Graph& b, std::string* diff = nullptr, const CompareOptions& options = {});

// Quotes a name for the text form when it is not a bare name ("conv1" stays, "a b" -> "\"a b\"").
std::string text_form_name(const std::string& name);

}  // namespace qat::ir
