// Output-stationary systolic XNOR/popcount array for int1 x int1 (same
// dataflow, skew and latency as mac_array). Each beat carries CHUNK packed
// bits of the K dimension per row (a_col) and per column (w_row), LSB = the
// lowest k, plus `count`, how many of the CHUNK bits are valid (a partial
// last beat). The edges zero the invalid bits of both operands.
// Each PE accumulates its +-1 products in k order with the accumulator rule
// (see bnn_pe); acc_out is final one cycle after the PE's last beat, as in
// mac_array.
module bnn_array #(
    parameter int ROWS = 4,
    parameter int COLS = 4,
    parameter int CHUNK = 32,
    parameter int CNT_BITS = 6,
    parameter int ACC_BITS = 16,
    parameter int SATURATE = 1
) (
    input  logic                          clk,
    input  logic                          load,
    input  logic signed [ ACC_BITS-1:0] bias   [COLS],
    input  logic                          in_valid,
    input  logic [          CNT_BITS-1:0] in_count,
    input  logic [        ROWS*CHUNK-1:0] a_col,
    input  logic [        COLS*CHUNK-1:0] w_row,
    output logic signed [ ACC_BITS-1:0] acc_out[ROWS][COLS]
);
  logic valid_r;
  logic [CNT_BITS-1:0] count_r;
  logic [CHUNK-1:0] a_r[ROWS];
  logic [CHUNK-1:0] w_r[COLS];
  always_ff @(posedge clk) begin
    valid_r <= in_valid;
    count_r <= in_count;
  end
  for (genvar r = 0; r < ROWS; r++) begin : g_a_reg
    always_ff @(posedge clk) a_r[r] <= a_col[r*CHUNK+:CHUNK];
  end
  for (genvar c = 0; c < COLS; c++) begin : g_w_reg
    always_ff @(posedge clk) w_r[c] <= w_row[c*CHUNK+:CHUNK];
  end

  // Bit b is valid when b < count.
  logic [CHUNK-1:0] valid_bits;
  always_comb
    for (int b = 0; b < CHUNK; b++) valid_bits[b] = (CNT_BITS'(b) < count_r);

  logic [CHUNK-1:0] h_a[ROWS][COLS+1];
  logic [CNT_BITS-1:0] h_count[ROWS][COLS+1];
  logic h_valid[ROWS][COLS+1];
  logic [CHUNK-1:0] v_w[ROWS+1][COLS];

  genvar i, j;
  generate
    for (i = 0; i < ROWS; i++) begin : g_row_edge
      delay_line #(
          .WIDTH(1 + CNT_BITS + CHUNK),
          .DEPTH(i)
      ) u_skew (
          .clk(clk),
          .d  ({valid_r, count_r, a_r[i] & valid_bits}),
          .q  ({h_valid[i][0], h_count[i][0], h_a[i][0]})
      );
    end
    for (j = 0; j < COLS; j++) begin : g_col_edge
      delay_line #(
          .WIDTH(CHUNK),
          .DEPTH(j)
      ) u_skew (
          .clk(clk),
          .d  (w_r[j] & valid_bits),
          .q  (v_w[0][j])
      );
    end
    for (i = 0; i < ROWS; i++) begin : g_r
      for (j = 0; j < COLS; j++) begin : g_c
        bnn_pe #(
            .CHUNK(CHUNK),
            .CNT_BITS(CNT_BITS),
            .ACC_BITS(ACC_BITS),
            .SATURATE(SATURATE)
        ) u_pe (
            .clk(clk),
            .load(load),
            .bias(bias[j]),
            .valid_in(h_valid[i][j]),
            .count_in(h_count[i][j]),
            .a_in(h_a[i][j]),
            .w_in(v_w[i][j]),
            .valid_out(h_valid[i][j+1]),
            .count_out(h_count[i][j+1]),
            .a_out(h_a[i][j+1]),
            .w_out(v_w[i+1][j]),
            .acc(acc_out[i][j])
        );
      end
    end
  endgenerate
endmodule
