// Doc -> JSON text with nlohmann::ordered_json (insertion order kept).
// Non-finite reals (only SQNR can be one) become the strings ".inf",
// "-.inf", ".nan", which the reader accepts.
#include <cmath>

#include <nlohmann/json.hpp>

#include "document.hpp"
#include "numbers.hpp"

namespace bitnpu::calib::ctable_detail {

namespace {

nlohmann::ordered_json to_json_value(const Doc& d) {
    switch (d.kind) {
        case Doc::Kind::map: {
            nlohmann::ordered_json j = nlohmann::ordered_json::object();
            for (const auto& [key, value] : d.items) j[key] = to_json_value(value);
            return j;
        }
        case Doc::Kind::seq: {
            nlohmann::ordered_json j = nlohmann::ordered_json::array();
            for (const auto& e : d.elements) j.push_back(to_json_value(e));
            return j;
        }
        case Doc::Kind::text: return d.text;
        case Doc::Kind::integer: return d.integer;
        case Doc::Kind::boolean: return d.boolean;
        case Doc::Kind::real: return std::isfinite(d.real) ? nlohmann::ordered_json(d.real) : nlohmann::ordered_json(d.text);
    }
    return nullptr;
}

}  // namespace

Doc Doc::of_float(float v) {
    Doc d;
    d.kind = Kind::real;
    d.text = format_float(v);
    d.real = std::isfinite(v) ? float_for_json(v) : static_cast<double>(v);
    return d;
}

Doc Doc::of_double(double v) {
    Doc d;
    d.kind = Kind::real;
    d.text = format_double(v);
    d.real = v;
    return d;
}

// Invalid UTF-8 in a name is replaced (U+FFFD) rather than throwing from dump().
std::string emit_json(const Doc& doc) {
    return to_json_value(doc).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace bitnpu::calib::ctable_detail
