// DEPTH-stage register delay (DEPTH = 0: a wire). Builds the input skew of the
// systolic arrays: row i of activations and column j of weights are delayed
// by i and j cycles so that operand pair k meets in PE(i,j) at cycle k + i + j.
module delay_line #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 1
) (
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic             clk,  // unused when DEPTH = 0
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic [WIDTH-1:0] d,
    output logic [WIDTH-1:0] q
);
  generate
    if (DEPTH == 0) begin : g_wire
      assign q = d;
    end else begin : g_regs
      logic [WIDTH-1:0] stage[DEPTH];
      always_ff @(posedge clk) stage[0] <= d;
      for (genvar s = 1; s < DEPTH; s++) begin : g_stage
        always_ff @(posedge clk) stage[s] <= stage[s-1];
      end
      assign q = stage[DEPTH-1];
    end
  endgenerate
endmodule
