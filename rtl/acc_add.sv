// One accumulation step (numerics.md "MAC step 4: accumulate"), combinational: acc + p,
// saturated (SATURATE=1) or wrapped (SATURATE=0) to ACC_BITS. Used where the
// rule sits on a read path (bias post-add, the int1 PE's output); the MAC PE
// calls bitnpu_rtl_pkg::acc_rule directly inside its clocked block.
module acc_add #(
    parameter int ACC_BITS = 24,
    parameter int P_BITS = 18,
    parameter int SATURATE = 1
) (
    input  logic signed [ACC_BITS-1:0] acc,
    input  logic signed [  P_BITS-1:0] p,
    output logic signed [ACC_BITS-1:0] sum
);
  /* verilator lint_off UNUSEDSIGNAL */
  logic signed [63:0] wide;  // the rule's result always fits ACC_BITS
  /* verilator lint_on UNUSEDSIGNAL */
  assign wide = bitnpu_rtl_pkg::acc_rule(64'(acc) + 64'(p), ACC_BITS, SATURATE != 0);
  assign sum = ACC_BITS'(wide);
endmodule
