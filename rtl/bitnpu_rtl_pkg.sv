// Shared RTL definitions: the one accumulation rule of NUMERICS.md step 4.
package bitnpu_rtl_pkg;

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
