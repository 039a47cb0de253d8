// derived.hpp against definitions computed here by brute force or by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "bitnpu/arch/derived.hpp"

using namespace bitnpu::arch;

namespace {

EngineSpec mac_engine(ValueType weight, ValueType activation, int acc_bits, int bias_bits) {
    EngineSpec e;
    e.name = "mac";
    e.kind = EngineKind::mac_array;
    e.array = {4, 4};
    e.ops = {"Conv"};
    e.precisions = {Precision{weight, activation}};
    e.accumulator.bits = acc_bits;
    e.bias.bits = bias_bits;
    return e;
}

// Every value a stored code of type t can take (int1 is {-1, +1}: no 0).
std::vector<std::int64_t> values_of(ValueType t, bool restricted) {
    switch (t) {
        case ValueType::int1: return {-1, 1};
        case ValueType::uint1: return {0, 1};
        case ValueType::int2: return {-1, 0, 1};
        default: break;
    }
    const int bits = bit_width(t);
    std::int64_t lo = is_signed(t) ? -(std::int64_t{1} << (bits - 1)) : 0;
    const std::int64_t hi = is_signed(t) ? (std::int64_t{1} << (bits - 1)) - 1 : (std::int64_t{1} << bits) - 1;
    if (restricted && is_signed(t)) lo += 1;
    std::vector<std::int64_t> out;
    for (std::int64_t v = lo; v <= hi; ++v) out.push_back(v);
    return out;
}

// Extreme products (w - zw)(x - zx) over every value and every zero-point the
// type allows, by enumeration.
std::pair<std::int64_t, std::int64_t> brute_force_products(ValueType w, ValueType x, bool zw, bool zx, bool restricted) {
    const auto ws = values_of(w, restricted);
    const auto xs = values_of(x, restricted);
    const std::vector<std::int64_t> zws = zw ? ws : std::vector<std::int64_t>{0};
    const std::vector<std::int64_t> zxs = zx ? xs : std::vector<std::int64_t>{0};
    std::int64_t lo = std::numeric_limits<std::int64_t>::max();
    std::int64_t hi = std::numeric_limits<std::int64_t>::min();
    // Extremes of (w - zw) and (x - zx) are reached at the ends, but enumerate
    // the differences fully anyway: it is cheap for these widths.
    std::vector<std::int64_t> wd, xd;
    for (auto v : ws) for (auto z : zws) wd.push_back(v - z);
    for (auto v : xs) for (auto z : zxs) xd.push_back(v - z);
    const auto [wmin, wmax] = std::minmax_element(wd.begin(), wd.end());
    const auto [xmin, xmax] = std::minmax_element(xd.begin(), xd.end());
    for (std::int64_t a : {*wmin, *wmax}) {
        for (std::int64_t b : {*xmin, *xmax}) {
            lo = std::min(lo, a * b);
            hi = std::max(hi, a * b);
        }
    }
    return {lo, hi};
}

}  // namespace

TEST_CASE("signed ranges and widths", "[arch][derived]") {
    CHECK(signed_range(8).min == -128);
    CHECK(signed_range(8).max == 127);
    CHECK(signed_range(24).max == 8388607);
    CHECK(signed_range(64).min == std::numeric_limits<std::int64_t>::min());
    CHECK(signed_range(64).max == std::numeric_limits<std::int64_t>::max());
    CHECK(signed_bits_for({-128, 127}) == 8);
    CHECK(signed_bits_for({-128, 128}) == 9);
    CHECK(signed_bits_for({0, 1}) == 2);
    CHECK(signed_bits_for({-1, 1}) == 2);
    CHECK(signed_bits_for({-16256, 16384}) == 16);
    CHECK(signed_bits_for({-65025, 65025}) == 17);
    CHECK(signed_bits_for({-65536, 65535}) == 17);
    CHECK(signed_bits_for({-65537, 0}) == 18);
}

TEST_CASE("product ranges match enumeration for every type pair", "[arch][derived]") {
    const ValueType types[] = {ValueType::int1, ValueType::uint1, ValueType::int2, ValueType::int4,
                               ValueType::uint4, ValueType::int8, ValueType::uint8};
    for (ValueType w : types) {
        for (ValueType x : types) {
            for (int flags = 0; flags < 8; ++flags) {
                const bool zw = flags & 1, zx = flags & 2, restricted = flags & 4;
                EngineSpec e = mac_engine(w, x, 32, 32);
                e.zero_point = {zx, zw};
                e.restricted_range = restricted;
                const auto [lo, hi] = brute_force_products(w, x, zw, zx, restricted);
                INFO(to_string(w) << " x " << to_string(x) << " zw=" << zw << " zx=" << zx << " restricted=" << restricted);
                const ValueRange r = product_range(e, e.precisions[0]);
                CHECK(r.min == lo);
                CHECK(r.max == hi);
            }
        }
    }
}

TEST_CASE("int8 x int8 into a 24-bit accumulator", "[arch][derived]") {
    // Worked by hand: products lie in [-128*127, (-128)*(-128)] = [-16256, 16384].
    // Without bias the positive side limits K: floor((2^23 - 1) / 16384) = 511
    // (511 * 16384 = 8372224 <= 8388607 < 8388608 = 512 * 16384).
    EngineSpec e = mac_engine(ValueType::int8, ValueType::int8, 24, 16);
    const Precision p = e.precisions[0];
    CHECK(product_range(e, p).min == -16256);
    CHECK(product_range(e, p).max == 16384);
    CHECK(product_bits(e, p) == 16);
    CHECK(max_safe_k_without_bias(e, p) == 511);
    // With a 16-bit bias up to 32767: floor((8388607 - 32767) / 16384) = 510;
    // negative side floor((-32768 + 8388608) / 16256) = 514; the smaller wins.
    CHECK(max_safe_k(e, p) == 510);
    // The check the formula stands for: K products at the extremes plus the
    // extreme bias fit, one more product does not.
    const std::int64_t k = max_safe_k(e, p);
    CHECK(32767 + k * 16384 <= 8388607);
    CHECK(32767 + (k + 1) * 16384 > 8388607);

    // A bias as wide as the accumulator leaves no room at all.
    EngineSpec full_bias = mac_engine(ValueType::int8, ValueType::int8, 24, 24);
    CHECK(max_safe_k(full_bias, p) == 0);

    // Restricted range: products in [-16129, 16129].
    e.restricted_range = true;
    CHECK(product_range(e, p).min == -16129);
    CHECK(max_safe_k_without_bias(e, p) == 8388607 / 16129);
}

TEST_CASE("max safe K is the exact overflow boundary for small widths", "[arch][derived]") {
    // Exhaustive check on narrow accumulators: at K every all-max and all-min
    // sequence (the worst cases) plus the extreme bias fits; at K+1 one leaves.
    for (int acc_bits = 10; acc_bits <= 14; ++acc_bits) {
        for (int bias_bits = 2; bias_bits <= 6; ++bias_bits) {
            for (bool zx : {false, true}) {
                EngineSpec e = mac_engine(ValueType::int4, ValueType::uint4, acc_bits, bias_bits);
                e.zero_point.activation = zx;
                const Precision p = e.precisions[0];
                const auto [pmin, pmax] = brute_force_products(ValueType::int4, ValueType::uint4, false, zx, false);
                const std::int64_t amax = (std::int64_t{1} << (acc_bits - 1)) - 1, amin = -amax - 1;
                const std::int64_t bmax = (std::int64_t{1} << (bias_bits - 1)) - 1, bmin = -bmax - 1;
                const std::int64_t k = max_safe_k(e, p);
                INFO("acc " << acc_bits << " bias " << bias_bits << " zx " << zx);
                auto fits = [&](std::int64_t n) { return bmax + n * pmax <= amax && bmin + n * pmin >= amin; };
                CHECK(fits(k));
                CHECK_FALSE(fits(k + 1));
            }
        }
    }
}

TEST_CASE("binary and vector engines", "[arch][derived]") {
    EngineSpec bnn = mac_engine(ValueType::int1, ValueType::int1, 16, 16);
    CHECK(product_range(bnn, bnn.precisions[0]).min == -1);
    CHECK(product_range(bnn, bnn.precisions[0]).max == 1);
    CHECK(max_safe_k_without_bias(bnn, bnn.precisions[0]) == 32767);

    EngineSpec vec;
    vec.kind = EngineKind::vector;
    vec.lanes = 8;
    vec.precisions = {Precision{std::nullopt, ValueType::int8}};
    vec.accumulator.bits = 16;
    vec.zero_point.activation = true;
    // Operand x - z in [-255, 255]; no bias: floor(32767 / 255) = 128 elements.
    CHECK(product_range(vec, vec.precisions[0]).min == -255);
    CHECK(product_range(vec, vec.precisions[0]).max == 255);
    CHECK(bias_range(vec).min == 0);
    CHECK(max_safe_k(vec, vec.precisions[0]) == 128);
}

TEST_CASE("requant limits and realizable multipliers", "[arch][derived]") {
    RequantSpec mult;
    mult.kind = RequantKind::multiplier;
    mult.multiplier_bits = 16;
    mult.shift_bits = 5;
    RequantLimits l = requant_limits(mult);
    CHECK(l.multiplier_min == 0);
    CHECK(l.multiplier_max == 65535);
    CHECK(l.shift_min == 0);
    CHECK(l.shift_max == 31);
    CHECK(l.realized_min == std::ldexp(1.0, -31));
    CHECK(l.realized_max == 65535.0);
    CHECK(realized_multiplier(mult, 3, 2) == 0.75);

    RequantSpec shifter;
    shifter.kind = RequantKind::shifter;
    shifter.shift_bits = 4;
    l = requant_limits(shifter);
    CHECK(l.multiplier_min == 1);
    CHECK(l.multiplier_max == 1);
    CHECK(l.shift_min == 0);
    CHECK(l.shift_max == 15);
    CHECK(l.realized_min == 1.0 / 32768);
    CHECK(l.realized_max == 1.0);
    shifter.allow_left_shift = true;
    l = requant_limits(shifter);
    CHECK(l.shift_min == -15);
    CHECK(l.realized_max == 32768.0);
    CHECK(realized_multiplier(shifter, 1, -3) == 8.0);

    RequantSpec q31;
    q31.kind = RequantKind::gemmlowp;
    q31.multiplier_bits = 32;
    l = requant_limits(q31);
    CHECK(l.shift_is_exponent);
    CHECK(l.multiplier_max == 2147483647);
    CHECK(l.shift_min == -31);
    CHECK(l.shift_max == 30);
    // TFLite: m = M * 2^-31 * 2^shift; M = 2^30 (0.5 in Q31) with shift 1 is 1.0.
    CHECK(realized_multiplier(q31, std::int64_t{1} << 30, 1) == 1.0);
    CHECK(l.realized_min == std::ldexp(1.0, -62));

    RequantSpec fp;
    fp.kind = RequantKind::float32;
    l = requant_limits(fp);
    CHECK_FALSE(l.has_registers);
    CHECK(l.realized_max == static_cast<double>(std::numeric_limits<float>::max()));
}

TEST_CASE("derive_engine_facts collects the per-precision facts", "[arch][derived]") {
    EngineSpec e = mac_engine(ValueType::int8, ValueType::int8, 24, 16);
    e.precisions.push_back(Precision{ValueType::int4, ValueType::int8});
    const EngineFacts f = derive_engine_facts(e);
    REQUIRE(f.precisions.size() == 2);
    CHECK(f.accumulator.max == 8388607);
    CHECK(f.bias.min == -32768);
    CHECK(f.precisions[0].max_safe_k == 510);
    // int4 x int8: [-8*127, (-8)*(-128)] = [-1016, 1024]; floor((8388607 - 32767) / 1024) = 8160.
    CHECK(f.precisions[1].product.min == -1016);
    CHECK(f.precisions[1].product.max == 1024);
    CHECK(f.precisions[1].max_safe_k == 8160);
}
