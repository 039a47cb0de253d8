// Shared RTL definitions: the one accumulation rule (numerics.md "MAC step 4: accumulate").
// Also the names of the ROUNDING and KIND parameter codes.
package bitnpu_rtl_pkg;

  // ROUND_FLOOR, ROUND_TRUNC, ROUND_HALF_UP, ROUND_HALF_AWAY, ROUND_HALF_EVEN
  // (round_shift / requant / npu_tile ROUNDING) and REQUANT_SHIFTER,
  // REQUANT_MULTIPLIER, REQUANT_GEMMLOWP, REQUANT_FLOAT32 (requant KIND,
  // npu_tile RQ_KIND): localparams generated at CMake configure time by
  // rtl/gen/rtl_codes.cpp into <build>/rtl/include/bitnpu_codes.svh (Verilator
  // needs -I<build>/rtl/include) from the X-macro lists in
  // arch/include/bitnpu/arch/types.hpp, the one table of these codes, shared
  // with bitnpu::arch::RoundingMode and bitnpu::arch::RequantKind. The table
  // lists every code, also those no module uses (REQUANT_GEMMLOWP, ...).
  /* verilator lint_off UNUSEDPARAM */
  `include "bitnpu_codes.svh"
  /* verilator lint_on UNUSEDPARAM */

  // acc + p computed exactly in 64 bits (every operand here is at most 49
  // bits), then saturated to `bits` (saturate = 1) or wrapped modulo 2^bits.
  function automatic logic signed [63:0] acc_rule(input logic signed [63:0] sum, input int bits,
                                                  input bit saturate);
    logic signed [63:0] max, min;
    max = (64'sd1 <<< (bits - 1)) - 64'sd1;
    min = -max - 64'sd1;
    if (saturate) return (sum > max) ? max : (sum < min) ? min : sum;
    return (sum <<< (64 - bits)) >>> (64 - bits);
  endfunction

endpackage
