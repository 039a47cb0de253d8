// Output-stationary MAC processing element. Every cycle with a valid operand
// pair it adds p = w * xz (xz = x - zx, formed at the array edge) to its own
// accumulator with the NUMERICS.md rule, and forwards the activation (and its
// valid bit) to the right and the weight downwards through registers.
module mac_pe #(
    parameter int XZ_BITS = 10,  // signed width of x - zx
    parameter int WS_BITS = 9,  // signed width of the weight
    parameter int ACC_BITS = 24,
    parameter int SATURATE = 1
) (
    input  logic                       clk,
    input  logic                       load,       // acc <= bias (tile start)
    input  logic signed [ACC_BITS-1:0] bias,
    input  logic                       valid_in,
    input  logic signed [ XZ_BITS-1:0] xz_in,
    input  logic signed [ WS_BITS-1:0] w_in,
    output logic                       valid_out,
    output logic signed [ XZ_BITS-1:0] xz_out,
    output logic signed [ WS_BITS-1:0] w_out,
    output logic signed [ACC_BITS-1:0] acc
);
  localparam int P_BITS = XZ_BITS + WS_BITS;

  logic signed [P_BITS-1:0] product;
  logic signed [ACC_BITS-1:0] next_acc;

  assign product = P_BITS'(xz_in) * P_BITS'(w_in);

  acc_add #(
      .ACC_BITS(ACC_BITS),
      .P_BITS  (P_BITS),
      .SATURATE(SATURATE)
  ) u_add (
      .acc(acc),
      .p  (product),
      .sum(next_acc)
  );

  always_ff @(posedge clk) begin
    valid_out <= valid_in;
    xz_out <= xz_in;
    w_out <= w_in;
    if (load) acc <= bias;
    else if (valid_in) acc <= next_acc;
  end
endmodule
