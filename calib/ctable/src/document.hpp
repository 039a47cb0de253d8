// The CTable's serialized form as a small ordered tree. schema_write.cpp
// builds it from a CTable (the only place that knows the field layout);
// emit_yaml.cpp and emit_json.cpp print it, so YAML and JSON cannot drift.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bitnpu::calib {
struct CTable;
}

namespace bitnpu::calib::ctable_detail {

struct Doc {
    enum class Kind : std::uint8_t { map, seq, text, integer, real, boolean };
    Kind kind = Kind::map;
    bool flow = false;                               // YAML: print map/seq on one line
    std::vector<std::pair<std::string, Doc>> items;  // map entries, in order
    std::vector<Doc> elements;                       // seq elements
    std::string text;                                // text; YAML spelling of numbers
    std::int64_t integer = 0;
    double real = 0.0;                               // JSON value of a real (finite)
    bool boolean = false;

    static Doc map_of(bool flow = false) { Doc d; d.kind = Kind::map; d.flow = flow; return d; }
    static Doc seq_of(bool flow = false) { Doc d; d.kind = Kind::seq; d.flow = flow; return d; }
    static Doc of_text(std::string s) { Doc d; d.kind = Kind::text; d.text = std::move(s); return d; }
    static Doc of_int(std::int64_t v) { Doc d; d.kind = Kind::integer; d.integer = v; d.text = std::to_string(v); return d; }
    static Doc of_bool(bool v) { Doc d; d.kind = Kind::boolean; d.boolean = v; d.text = v ? "true" : "false"; return d; }
    static Doc of_float(float v);    // fp32 value (scales)
    static Doc of_double(double v);  // fp64 value (multipliers, SQNR)

    Doc& add(std::string key, Doc value) { items.emplace_back(std::move(key), std::move(value)); return *this; }
    Doc& push(Doc value) { elements.push_back(std::move(value)); return *this; }
};

// Validates (ctable_problem; std::invalid_argument) and lays the table out.
Doc to_document(const CTable& table);
std::string emit_yaml(const Doc& doc);
std::string emit_json(const Doc& doc);

}  // namespace bitnpu::calib::ctable_detail
