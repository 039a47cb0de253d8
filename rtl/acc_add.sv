// One accumulation step of NUMERICS.md: acc + p at full precision, then
// saturated to ACC_BITS (SATURATE=1) or wrapped modulo 2^ACC_BITS (SATURATE=0).
// Combinational; shared by the MAC and binary processing elements.
module acc_add #(
    parameter int ACC_BITS = 24,
    parameter int P_BITS = 18,
    parameter int SATURATE = 1
) (
    input  logic signed [ACC_BITS-1:0] acc,
    input  logic signed [  P_BITS-1:0] p,
    output logic signed [ACC_BITS-1:0] sum
);
  // Wide enough for any acc + p without overflow.
  localparam int SW = ((ACC_BITS > P_BITS) ? ACC_BITS : P_BITS) + 1;
  localparam logic signed [SW-1:0] MAX = SW'({1'b0, {(ACC_BITS - 1) {1'b1}}});
  localparam logic signed [SW-1:0] MIN = -MAX - SW'(1);

  logic signed [SW-1:0] exact;
  assign exact = SW'(acc) + SW'(p);

  generate
    if (SATURATE != 0) begin : g_sat
      assign sum = (exact > MAX) ? ACC_BITS'(MAX) : (exact < MIN) ? ACC_BITS'(MIN) : ACC_BITS'(exact);
    end else begin : g_wrap
      assign sum = ACC_BITS'(exact);
    end
  endgenerate
endmodule
