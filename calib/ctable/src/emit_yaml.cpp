// Doc -> YAML text with yaml-cpp's emitter. Numbers arrive preformatted
// (shortest round-trip); strings a reader could mistake for another type
// are double-quoted.
#include <yaml-cpp/yaml.h>

#include "document.hpp"
#include "numbers.hpp"

namespace bitnpu::calib::ctable_detail {

namespace {

void emit(YAML::Emitter& out, const Doc& d) {
    switch (d.kind) {
        case Doc::Kind::map:
            if (d.flow) out << YAML::Flow;
            out << YAML::BeginMap;
            for (const auto& [key, value] : d.items) {
                out << YAML::Key;
                if (needs_quotes(key)) out << YAML::DoubleQuoted;
                out << key << YAML::Value;
                emit(out, value);
            }
            out << YAML::EndMap;
            break;
        case Doc::Kind::seq:
            if (d.flow) out << YAML::Flow;
            out << YAML::BeginSeq;
            for (const auto& e : d.elements) emit(out, e);
            out << YAML::EndSeq;
            break;
        case Doc::Kind::text:
            if (needs_quotes(d.text)) out << YAML::DoubleQuoted;
            out << d.text;
            break;
        case Doc::Kind::integer:
        case Doc::Kind::real:
        case Doc::Kind::boolean:
            out << d.text;  // already in its YAML spelling
            break;
    }
}

}  // namespace

std::string emit_yaml(const Doc& doc) {
    YAML::Emitter out;
    out.SetIndent(2);
    emit(out, doc);
    return std::string(out.c_str()) + "\n";
}

}  // namespace bitnpu::calib::ctable_detail
