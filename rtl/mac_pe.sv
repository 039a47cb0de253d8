// Output-stationary MAC processing element. Every cycle with a valid operand
// pair it adds p = w * xz (xz = x - zx, formed at the array edge) to its own
// accumulator (numerics.md "MAC step 4: accumulate": bitnpu_rtl_pkg::acc_rule), and
// forwards the activation (and its valid bit) to the right and the weight
// downwards through registers. The PE's inputs are all registers, so its
// logic is evaluated once per clock edge in simulation.
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
  // Two's complement products are the same bits whether the (sign-extended)
  // operands are multiplied as signed or unsigned; the unsigned form becomes
  // a plain 64-bit multiply in the verilated C++.
  logic [63:0] product;
  always_comb product = $unsigned(64'(xz_in)) * $unsigned(64'(w_in));

  always_ff @(posedge clk) begin
    valid_out <= valid_in;
    xz_out <= xz_in;
    w_out <= w_in;
    if (load) acc <= bias;
    else if (valid_in)
      acc <= ACC_BITS'(bitnpu_rtl_pkg::acc_rule(
          64'(acc) + $signed(product), ACC_BITS, SATURATE != 0));
  end
endmodule
