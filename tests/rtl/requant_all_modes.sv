// Test harness: one requant unit per rounding mode on shared inputs, so a
// single verilated model checks every mode of numerics.md "Rounding modes". Lane m (out_valid[m],
// y[m*Y_BITS +: Y_BITS]) runs rounding mode MODES[m];
// tests/rtl/requant/test_requant.cpp lists the same lanes (kLaneModes).
module requant_all_modes
  import bitnpu_rtl_pkg::*;
#(
    parameter int ACC_BITS = 24,
    parameter int KIND = REQUANT_MULTIPLIER,
    parameter int MULT_BITS = 16,
    parameter int SHIFT_BITS = 5,
    parameter int ALLOW_LEFT = 0,
    parameter int Y_BITS = 16
) (
    input  logic                        clk,
    input  logic                        in_valid,
    input  logic signed [ ACC_BITS-1:0] acc,
    input  logic        [MULT_BITS-1:0] mult,
    input  logic signed [ SHIFT_BITS:0] shift,
    input  logic signed [   Y_BITS-1:0] zy,
    input  logic signed [   Y_BITS-1:0] lo,
    input  logic signed [   Y_BITS-1:0] hi,
    output logic        [          4:0] out_valid,
    output logic        [ 5*Y_BITS-1:0] y
);
  localparam int MODES[5] = '{ROUND_FLOOR, ROUND_TRUNC, ROUND_HALF_UP, ROUND_HALF_AWAY, ROUND_HALF_EVEN};
  genvar m;
  generate
    for (m = 0; m < 5; m++) begin : g_mode
      requant #(
          .ACC_BITS(ACC_BITS),
          .KIND(KIND),
          .MULT_BITS(MULT_BITS),
          .SHIFT_BITS(SHIFT_BITS),
          .ALLOW_LEFT(ALLOW_LEFT),
          .ROUNDING(MODES[m]),
          .Y_BITS(Y_BITS)
      ) u_requant (
          .clk(clk),
          .in_valid(in_valid),
          .acc(acc),
          .mult(mult),
          .shift(shift),
          .zy(zy),
          .lo(lo),
          .hi(hi),
          .out_valid(out_valid[m]),
          .y(y[m*Y_BITS+:Y_BITS])
      );
    end
  endgenerate
endmodule
