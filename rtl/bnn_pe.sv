// Binary (int1) output-stationary processing element. Operands are CHUNK
// packed bits (bit b means 2b-1); a beat with `count` valid bits adds
// count - 2 * popcount(a ^ w) = 2 * popcount(xnor) - count to an exact dot
// product register `dot` (wide enough for K_MAX bits: it never overflows).
// NUMERICS.md defines the int1 dot product 2 * popcount(xnor) - K as ONE
// product term, so the accumulator rule is applied once: the PE holds the
// preloaded bias and the exact dot product and its output `acc` is
// bias (+) dot (acc_add: saturate or wrap), read when the tile drains.
// Invalid bits of a partial beat are zero in both operands (the array masks
// them at its edges), so they never count as mismatches.
module bnn_pe #(
    parameter int CHUNK = 32,
    parameter int CNT_BITS = 6,  // holds 0..CHUNK
    parameter int DOT_BITS = 18,  // signed, holds -K_MAX..K_MAX
    parameter int ACC_BITS = 16,
    parameter int SATURATE = 1
) (
    input  logic                       clk,
    input  logic                       load,      // bias_r <= bias, dot <= 0
    input  logic signed [ACC_BITS-1:0] bias,
    input  logic                       valid_in,
    input  logic        [CNT_BITS-1:0] count_in,
    input  logic        [   CHUNK-1:0] a_in,
    input  logic        [   CHUNK-1:0] w_in,
    output logic                       valid_out,
    output logic        [CNT_BITS-1:0] count_out,
    output logic        [   CHUNK-1:0] a_out,
    output logic        [   CHUNK-1:0] w_out,
    output logic signed [ACC_BITS-1:0] acc
);
  logic signed [DOT_BITS-1:0] dot, beat;
  logic signed [ACC_BITS-1:0] bias_r;
  logic [CNT_BITS-1:0] mismatches;

  assign mismatches = CNT_BITS'($countones(a_in ^ w_in));
  assign beat = DOT_BITS'(count_in) - (DOT_BITS'(mismatches) <<< 1);

  acc_add #(
      .ACC_BITS(ACC_BITS),
      .P_BITS  (DOT_BITS),
      .SATURATE(SATURATE)
  ) u_add (
      .acc(bias_r),
      .p  (dot),
      .sum(acc)
  );

  always_ff @(posedge clk) begin
    valid_out <= valid_in;
    count_out <= count_in;
    a_out <= a_in;
    w_out <= w_in;
    if (load) begin
      bias_r <= bias;
      dot <= '0;
    end else if (valid_in) begin
      dot <= dot + beat;
    end
  end
endmodule
