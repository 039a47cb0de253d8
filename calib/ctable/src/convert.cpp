// CTable records <-> QuantParams / ChannelRequant / sim::RequantRegisters.
#include "bitnpu/ctable/ctable.hpp"

namespace bitnpu::calib {

CTableTensor ctable_tensor(const QuantParams& params, const std::string& policy, std::optional<double> sqnr_db) {
    CTableTensor t;
    t.type = params.type;
    t.restricted = params.restricted;
    t.scale = params.scales;
    t.zero_point = params.zero_points;
    if (params.per_channel()) t.axis = params.axis;
    t.exponent = params.exponents;
    t.policy = policy;
    t.sqnr_db = sqnr_db;
    return t;
}

QuantParams quant_params(const CTableTensor& tensor) {
    QuantParams p;
    p.type = tensor.type;
    p.restricted = tensor.restricted;
    p.scales = tensor.scale;
    p.zero_points = tensor.zero_point;
    p.exponents = tensor.exponent;
    p.axis = tensor.axis.value_or(-1);
    return p;
}

CTableRequant ctable_requant(const ChannelRequant& requant) {
    const sim::RequantRegisters& r = requant.derived.registers;
    CTableRequant c;
    c.kind = r.kind;
    c.rounding = r.rounding;
    c.multiplier = r.multiplier;
    c.shift = r.shift;
    c.float_scale = r.float_scale;
    c.dst_bits = r.dst_bits;
    c.ideal = requant.ideal;
    c.realized = requant.derived.realized;
    return c;
}

sim::RequantRegisters requant_registers(const CTableRequant& requant) {
    sim::RequantRegisters r;
    r.kind = requant.kind;
    r.rounding = requant.rounding;
    r.multiplier = requant.multiplier;
    r.shift = requant.shift;
    r.float_scale = requant.float_scale;
    r.dst_bits = requant.dst_bits;
    return r;
}

}  // namespace bitnpu::calib
