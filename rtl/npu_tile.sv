// One output-stationary tile: a ROWS x COLS systolic array (mac_array, or
// bnn_array when BNN = 1), a controller, and COLS requant units (one per
// output column = output channel, per-channel registers) that the array's
// rows drain through, one row per cycle.
//
// Protocol (one tile at a time; README.md has the timing diagram):
//   start    one cycle: every accumulator of column j is preset to bias[j]
//            (BIAS_POST = 0) or 0 (BIAS_POST = 1: bias[j] is added with the
//            accumulator rule after the last product, on the drain path).
//            May coincide with the first beat.
//   in_valid K beats, k = 0..K-1 in order: a_col = column k of A (ROWS
//            codes), w_row = row k of W (COLS codes). BNN: CHUNK bits of k
//            per row/column and in_count = valid bits in the beat.
//   flush    one cycle after the last beat (or later); K = 0 is allowed.
//   y_valid  ROWS cycles, y_row = 0..ROWS-1, y = COLS outputs of that row.
// Latency: with start on the first beat (edge s), row r is out at edge
// s + K + COLS + r + 3, the whole tile at s + K + ROWS + COLS + 2.
module npu_tile
  import bitnpu_rtl_pkg::*;
#(
    parameter int ROWS = 4,
    parameter int COLS = 4,
    parameter int BNN = 0,
    parameter int A_BITS = 8,
    parameter int A_SIGNED = 1,
    parameter int W_BITS = 8,
    parameter int W_SIGNED = 1,
    parameter int CHUNK = 32,  // BNN: bits per beat
    parameter int ACC_BITS = 24,
    parameter int SATURATE = 1,
    parameter int BIAS_POST = 0,  // 1: accumulate from 0, add bias[j] (acc rule) on drain
    parameter int RQ_KIND = REQUANT_MULTIPLIER,  // or REQUANT_SHIFTER
    parameter int MULT_BITS = 16,
    parameter int SHIFT_BITS = 5,
    parameter int ALLOW_LEFT = 0,
    parameter int ROUNDING = ROUND_HALF_UP,  // ROUND_* (bitnpu_rtl_pkg)
    parameter int Y_BITS = 16,
    // Derived port widths (not meant to be overridden).
    parameter int AW = (BNN != 0) ? CHUNK : A_BITS,
    parameter int WW = (BNN != 0) ? CHUNK : W_BITS,
    parameter int CNT_BITS = $clog2(CHUNK + 1),
    parameter int ROW_BITS = (ROWS > 1) ? $clog2(ROWS) : 1
) (
    input  logic                              clk,
    input  logic                              rst,
    input  logic                              start,
    input  logic                              in_valid,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic        [       CNT_BITS-1:0] in_count,  // BNN only
    input  logic signed [           A_BITS:0] zx,        // MAC only
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic        [        ROWS*AW-1:0] a_col,
    input  logic        [        COLS*WW-1:0] w_row,
    input  logic                              flush,
    input  logic        [  COLS*ACC_BITS-1:0] bias,
    input  logic        [ COLS*MULT_BITS-1:0] mult,
    input  logic        [COLS*(SHIFT_BITS+1)-1:0] shift,
    input  logic signed [         Y_BITS-1:0] zy,
    input  logic signed [         Y_BITS-1:0] lo,
    input  logic signed [         Y_BITS-1:0] hi,
    output logic                              busy,
    output logic                              y_valid,
    output logic        [       ROW_BITS-1:0] y_row,
    output logic        [    COLS*Y_BITS-1:0] y
);
  // ---- the array ----
  // Unpacked per-PE arrays inside the tile (Verilator simulates these as
  // plain C arrays; one wide packed vector would cost wide-word operations).
  logic signed [ACC_BITS-1:0] acc_all[ROWS][COLS];
  logic signed [ACC_BITS-1:0] bias_u[COLS], preload[COLS];
  always_comb
    for (int c = 0; c < COLS; c++) begin
      bias_u[c] = bias[c*ACC_BITS+:ACC_BITS];
      preload[c] = (BIAS_POST != 0) ? '0 : bias_u[c];
    end
  generate
    if (BNN != 0) begin : g_bnn
      bnn_array #(
          .ROWS(ROWS),
          .COLS(COLS),
          .CHUNK(CHUNK),
          .CNT_BITS(CNT_BITS),
          .ACC_BITS(ACC_BITS),
          .SATURATE(SATURATE)
      ) u_array (
          .clk(clk),
          .load(start),
          .bias(preload),
          .in_valid(in_valid),
          .in_count(in_count),
          .a_col(a_col),
          .w_row(w_row),
          .acc_out(acc_all)
      );
    end else begin : g_mac
      mac_array #(
          .ROWS(ROWS),
          .COLS(COLS),
          .A_BITS(A_BITS),
          .A_SIGNED(A_SIGNED),
          .W_BITS(W_BITS),
          .W_SIGNED(W_SIGNED),
          .ACC_BITS(ACC_BITS),
          .SATURATE(SATURATE)
      ) u_array (
          .clk(clk),
          .load(start),
          .bias(preload),
          .in_valid(in_valid),
          .a_col(a_col),
          .w_row(w_row),
          .zx(zx),
          .acc_out(acc_all)
      );
    end
  endgenerate

  // ---- controller: wait until row 0 is final, then drain one row per cycle ----
  // The last beat (edge e) reaches PE(r, COLS-1) at edge e + r + COLS, so
  // row r may be sampled from edge e + r + COLS + 1 on; flush at edge
  // f >= e + 1 followed by COLS - 1 wait cycles samples row r at f + COLS + r.
  typedef enum logic [1:0] {
    IDLE,
    RUN,
    WAIT,
    DRAIN
  } state_t;
  localparam int WAIT0 = COLS - 1;
  localparam int CNT_W = (COLS > 1) ? $clog2(COLS) : 1;

  state_t state;
  logic [CNT_W-1:0] wait_cnt;
  logic [ROW_BITS-1:0] row;

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= IDLE;
      wait_cnt <= '0;
      row <= '0;
    end else begin
      unique case (state)
        IDLE: if (start) state <= RUN;
        RUN:
        if (flush) begin
          row <= '0;
          if (WAIT0 == 0) state <= DRAIN;
          else begin
            state <= WAIT;
            wait_cnt <= CNT_W'(WAIT0 - 1);
          end
        end
        WAIT:
        if (wait_cnt == '0) state <= DRAIN;
        else wait_cnt <= wait_cnt - 1'b1;
        DRAIN:
        if (row == ROW_BITS'(ROWS - 1)) state <= IDLE;
        else row <= row + 1'b1;
        default: state <= IDLE;
      endcase
    end
  end
  assign busy = (state != IDLE);

  // ---- drain: row mux into the per-column requant units ----
  logic drain_valid;
  assign drain_valid = (state == DRAIN);
  logic signed [ACC_BITS-1:0] acc_sel[COLS], acc_row[COLS];
  always_comb
    for (int c = 0; c < COLS; c++) acc_sel[c] = acc_all[32'(row)][c];

  /* verilator lint_off UNUSEDSIGNAL */
  logic [COLS-1:0] col_valid;  // identical in every column: column 0's is used
  /* verilator lint_on UNUSEDSIGNAL */
  genvar j;
  generate
    for (j = 0; j < COLS; j++) begin : g_requant
      if (BIAS_POST != 0) begin : g_post
        acc_add #(
            .ACC_BITS(ACC_BITS),
            .P_BITS  (ACC_BITS),
            .SATURATE(SATURATE)
        ) u_bias (
            .acc(acc_sel[j]),
            .p  (bias_u[j]),
            .sum(acc_row[j])
        );
      end else begin : g_pre
        assign acc_row[j] = acc_sel[j];
      end
      requant #(
          .ACC_BITS(ACC_BITS),
          .KIND(RQ_KIND),
          .MULT_BITS(MULT_BITS),
          .SHIFT_BITS(SHIFT_BITS),
          .ALLOW_LEFT(ALLOW_LEFT),
          .ROUNDING(ROUNDING),
          .Y_BITS(Y_BITS)
      ) u_requant (
          .clk(clk),
          .in_valid(drain_valid),
          .acc(acc_row[j]),
          .mult(mult[j*MULT_BITS+:MULT_BITS]),
          .shift(shift[j*(SHIFT_BITS+1)+:(SHIFT_BITS+1)]),
          .zy(zy),
          .lo(lo),
          .hi(hi),
          .out_valid(col_valid[j]),
          .y(y[j*Y_BITS+:Y_BITS])
      );
    end
  endgenerate

  // The row index rides along the requant pipeline (2 stages).
  logic [ROW_BITS-1:0] row_1;
  always_ff @(posedge clk) begin
    row_1 <= row;
    y_row <= row_1;
  end
  assign y_valid = col_valid[0];
endmodule
