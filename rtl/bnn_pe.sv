// Binary (int1) output-stationary processing element. Operands are CHUNK
// packed bits (bit b means 2b-1, the lowest bit is the lowest k); a beat
// carries `count` valid bits. Every element is one product term +-1 added
// with the accumulator rule in k order, exactly as the functional model's
// mac_accumulate does (sim/src/functional/mac_layer.cpp), so ordered
// saturation matches even when a partial sum touches a bound:
//   - far from the bounds (acc within CHUNK of neither), or wrapping, no
//     element can saturate: acc += count - 2 * popcount(a ^ w)
//     (= 2 * popcount(xnor) - count; invalid bits are zero in both
//     operands, masked at the array edge);
//   - within CHUNK of a bound the beat is applied element by element
//     (a CHUNK-step chain of acc_rule).
module bnn_pe #(
    parameter int CHUNK = 32,
    parameter int CNT_BITS = 6,  // holds 0..CHUNK
    parameter int ACC_BITS = 16,
    parameter int SATURATE = 1
) (
    input  logic                       clk,
    input  logic                       load,      // acc <= bias (tile start)
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
  localparam logic signed [63:0] MAX = (64'sd1 <<< (ACC_BITS - 1)) - 64'sd1;
  localparam logic signed [63:0] SAFE_HI = MAX - 64'(CHUNK);
  localparam logic signed [63:0] SAFE_LO = -MAX - 64'sd1 + 64'(CHUNK);

  logic signed [63:0] acc_w, beat_sum, walk;
  logic far_from_bounds;
  always_comb begin
    acc_w = 64'(acc);
    beat_sum = 64'(count_in) - (64'($countones(a_in ^ w_in)) <<< 1);
    far_from_bounds = (SATURATE == 0) || (acc_w <= SAFE_HI && acc_w >= SAFE_LO);
    walk = acc_w;
    if (!far_from_bounds)
      for (int b = 0; b < CHUNK; b++)
        if (CNT_BITS'(b) < count_in)
          walk = bitnpu_rtl_pkg::acc_rule(walk + ((a_in[b] == w_in[b]) ? 64'sd1 : -64'sd1), ACC_BITS,
                                          SATURATE != 0);
  end

  always_ff @(posedge clk) begin
    valid_out <= valid_in;
    count_out <= count_in;
    a_out <= a_in;
    w_out <= w_in;
    if (load) acc <= bias;
    else if (valid_in)
      acc <= far_from_bounds ? ACC_BITS'(bitnpu_rtl_pkg::acc_rule(acc_w + beat_sum, ACC_BITS, SATURATE != 0))
                             : ACC_BITS'(walk);
  end
endmodule
