// Output-stationary systolic MAC array, ROWS x COLS processing elements.
//
// Each beat (in_valid) brings one column of the activation tile, a_col[i] =
// A[i][k], and one row of the weight tile, w_row[j] = W[k][j], for
// k = 0, 1, ..., K-1 in the canonical order. The array registers them, forms
// xz = x - zx once per row at the left edge (exact, one bit wider than x),
// skews row i by i cycles and column j by j cycles, and lets activations flow
// left -> right and weights top -> bottom. PE(i,j) therefore sees k in order
// and its saturating accumulation equals the golden model's ordered loop.
// `load` presets every accumulator of column j to bias[j] (bias preload).
//
// Latency: a beat sampled at clock edge e has updated PE(i,j) at edge
// e + 1 + i + j; the whole tile is complete at edge e_last + ROWS + COLS - 1.
module mac_array #(
    parameter int ROWS = 4,
    parameter int COLS = 4,
    parameter int A_BITS = 8,
    parameter int A_SIGNED = 1,
    parameter int W_BITS = 8,
    parameter int W_SIGNED = 1,
    parameter int ACC_BITS = 24,
    parameter int SATURATE = 1
) (
    input  logic                         clk,
    input  logic                         load,
    input  logic signed [ ACC_BITS-1:0] bias   [COLS],  // per column (output channel)
    input  logic                         in_valid,
    input  logic [       ROWS*A_BITS-1:0] a_col,     // raw activation codes
    input  logic [       COLS*W_BITS-1:0] w_row,     // raw weight codes
    input  logic signed [      A_BITS:0] zx,        // activation zero-point
    output logic signed [ ACC_BITS-1:0] acc_out[ROWS][COLS]
);
  localparam int XZ_BITS = A_BITS + 2;  // x - zx for any x, zx of A_BITS(+sign)
  localparam int WS_BITS = W_BITS + (W_SIGNED != 0 ? 0 : 1);

  // Input registers (unpacked per row / column), which also form x - zx and
  // the signed weight: the array's ports drive no logic combinationally.
  logic valid_r;
  logic signed [XZ_BITS-1:0] xz_r[ROWS];
  logic signed [WS_BITS-1:0] w_r[COLS];
  always_ff @(posedge clk) valid_r <= in_valid;
  for (genvar r = 0; r < ROWS; r++) begin : g_a_reg
    always_ff @(posedge clk)
      xz_r[r] <= ((A_SIGNED != 0) ? XZ_BITS'($signed(a_col[r*A_BITS+:A_BITS]))
                                  : XZ_BITS'($signed({1'b0, a_col[r*A_BITS+:A_BITS]}))) - XZ_BITS'(zx);
  end
  for (genvar c = 0; c < COLS; c++) begin : g_w_reg
    always_ff @(posedge clk)
      w_r[c] <= (W_SIGNED != 0) ? WS_BITS'($signed(w_row[c*W_BITS+:W_BITS]))
                                : WS_BITS'($signed({1'b0, w_row[c*W_BITS+:W_BITS]}));
  end

  // Operand wires between PEs: h_* run left -> right (COLS+1 per row),
  // v_w runs top -> bottom (ROWS+1 per column).
  logic signed [XZ_BITS-1:0] h_xz[ROWS][COLS+1];
  logic h_valid[ROWS][COLS+1];
  logic signed [WS_BITS-1:0] v_w[ROWS+1][COLS];

  genvar i, j;
  generate
    for (i = 0; i < ROWS; i++) begin : g_row_edge
      delay_line #(
          .WIDTH(XZ_BITS + 1),
          .DEPTH(i)
      ) u_skew (
          .clk(clk),
          .d  ({valid_r, xz_r[i]}),
          .q  ({h_valid[i][0], h_xz[i][0]})
      );
    end
    for (j = 0; j < COLS; j++) begin : g_col_edge
      delay_line #(
          .WIDTH(WS_BITS),
          .DEPTH(j)
      ) u_skew (
          .clk(clk),
          .d  (w_r[j]),
          .q  (v_w[0][j])
      );
    end
    for (i = 0; i < ROWS; i++) begin : g_r
      for (j = 0; j < COLS; j++) begin : g_c
        mac_pe #(
            .XZ_BITS (XZ_BITS),
            .WS_BITS (WS_BITS),
            .ACC_BITS(ACC_BITS),
            .SATURATE(SATURATE)
        ) u_pe (
            .clk(clk),
            .load(load),
            .bias(bias[j]),
            .valid_in(h_valid[i][j]),
            .xz_in(h_xz[i][j]),
            .w_in(v_w[i][j]),
            .valid_out(h_valid[i][j+1]),
            .xz_out(h_xz[i][j+1]),
            .w_out(v_w[i+1][j]),
            .acc(acc_out[i][j])
        );
      end
    end
  endgenerate
endmodule
