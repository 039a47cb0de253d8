// Random layer and tensor generators shared by the functional-model tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim::testutil {

inline std::int64_t uniform(std::mt19937& rng, std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

// A legal value of type t (int1: -1/+1; int2: -1/0/+1).
inline std::int32_t random_value(std::mt19937& rng, arch::ValueType t) {
    if (t == arch::ValueType::int1) return uniform(rng, 0, 1) ? 1 : -1;
    const arch::ValueRange r = arch::value_range(t);
    return static_cast<std::int32_t>(uniform(rng, r.min, r.max));
}

inline QTensor random_tensor(std::mt19937& rng, const Shape& shape, arch::ValueType t, std::int64_t zp) {
    QTensor q(shape, per_tensor(t, 0.05f, zp));
    for (auto& v : q.values) v = random_value(rng, t);
    return q;
}

// A random register set of any kind, valid for an accumulator of acc_bits.
inline RequantRegisters random_registers(std::mt19937& rng, int acc_bits) {
    RequantRegisters r;
    r.kind = static_cast<arch::RequantKind>(uniform(rng, 0, 3));
    r.rounding = static_cast<arch::RoundingMode>(uniform(rng, 0, 4));
    r.dst_bits = acc_bits;
    switch (r.kind) {
        case arch::RequantKind::shifter: r.shift = static_cast<int>(uniform(rng, 0, 12)); break;
        case arch::RequantKind::multiplier:
            r.multiplier = uniform(rng, 1, 65535);
            r.shift = static_cast<int>(uniform(rng, 10, 28));
            break;
        case arch::RequantKind::gemmlowp:
            r.multiplier = uniform(rng, std::int64_t{1} << 30, (std::int64_t{1} << 31) - 1);
            r.shift = static_cast<int>(uniform(rng, -12, 0));
            r.rounding = arch::RoundingMode::half_away;
            break;
        case arch::RequantKind::float32:
            r.float_scale = static_cast<float>(std::ldexp(uniform(rng, 1, 1000), -static_cast<int>(uniform(rng, 8, 18))));
            r.rounding = arch::RoundingMode::half_even;
            break;
    }
    return r;
}

inline arch::ValueType random_type(std::mt19937& rng, bool allow_int16 = true) {
    static const arch::ValueType all[] = {arch::ValueType::int1, arch::ValueType::uint1, arch::ValueType::int2,
                                          arch::ValueType::int4, arch::ValueType::uint4, arch::ValueType::int8,
                                          arch::ValueType::uint8, arch::ValueType::int16};
    return all[uniform(rng, 0, allow_int16 ? 7 : 6)];
}

// A zero-point inside the type's range (0 for types without one).
inline std::int64_t random_zero_point(std::mt19937& rng, arch::ValueType t) {
    if (t == arch::ValueType::int1 || t == arch::ValueType::int2 || t == arch::ValueType::uint1) return 0;
    const arch::ValueRange r = arch::value_range(t);
    return uniform(rng, 0, 1) ? 0 : uniform(rng, r.min, r.max);
}

}  // namespace bitnpu::sim::testutil
