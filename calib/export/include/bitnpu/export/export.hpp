// Export of a calibrated model to ONNX that other runtimes run
// (docs/export.md): the graph, the CTable and the integer program built from
// them (compile/program.hpp) become
//  - QOperator form: QLinearConv, QGemm, QLinearAdd, ... and integer
//    data-movement ops, for arches whose arithmetic ONNX Runtime's CPU
//    kernels implement (configs/ort_cpu.yaml): ONNX Runtime then computes the
//    integers npusim computes;
//  - QDQ form: QuantizeLinear/DequantizeLinear pairs around float ops, per-
//    channel int weights and int32 biases, the interchange form ONNX Runtime,
//    TensorRT and other toolchains import.
// Both keep the model's input and output names and shapes (float in, float
// out) and carry the whole program (the CTable with every register value)
// in the model's metadata_props, so one file holds all a compiler needs.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib {

enum class ExportFormat : std::uint8_t { qdq, qoperator };
ExportFormat parse_export_format(const std::string& text);   // "qdq" | "qoperator"; UserError otherwise
const char* to_string(ExportFormat f);

// metadata_props keys of an exported model.
inline constexpr const char* kMetaCTable = "bitnpu.ctable";    // the CTable, YAML (docs/ctable.md)
inline constexpr const char* kMetaArch = "bitnpu.arch";        // the arch's name and content hash
inline constexpr const char* kMetaFormat = "bitnpu.format";    // "qdq" or "qoperator"

// How one layer was exported, for the report and docs/export.md's table.
struct ExportedLayer {
    std::string node;
    std::string op;
    std::string form;    // "QLinearConv", "QGemm", "Gather (lookup table)", "DQ -> Sigmoid -> Q", ...
    bool exact = true;   // ONNX Runtime's integers equal npusim's by construction of the form
    std::string why;     // when not exact: what differs
};

struct ExportResult {
    onnx::ModelProto model;
    std::vector<ExportedLayer> layers;
};

// graph: after run_standard_passes (build_program infers its shapes);
// program: build_program(graph, arch, table, ...). QOperator form throws
// UserError naming the first layer whose arithmetic ONNX Runtime does not
// implement (requant kind, rounding, accumulator width), with the fix.
ExportResult export_model(const Graph& graph, const arch::ArchSpec& arch, const CTable& table, const Program& program,
                          ExportFormat format);

// onnx::checker with full_check (shape inference in strict mode) on the
// exported model: UserError with the checker's message when it fails.
void check_exported_model(const onnx::ModelProto& model);

}  // namespace bitnpu::calib
