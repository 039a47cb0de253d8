// Requantization unit of one output channel (numerics.md "MAC step 5: requantize"
// and numerics.md "MAC step 6: clamp"), two pipeline stages (latency 2, one result per cycle):
//   stage 1  registers acc and the channel's registers
//   stage 2  KIND = REQUANT_MULTIPLIER: scaled = acc * mult (exact), n = shift
//            KIND = REQUANT_SHIFTER:    scaled = acc, n = shift; a negative shift
//            (ALLOW_LEFT = 1) is a left shift by -shift saturated to ACC_BITS
//            (the accumulator width, RequantRegisters::dst_bits) and n = 0;
//            y = clamp(round_shift(scaled, n, ROUNDING) + zy, lo, hi), registered
// (No logic between the inputs and the stage-1 registers, so a simulator
// evaluates the arithmetic once per clock edge.)
// Registers are per-channel inputs: mult is unsigned MULT_BITS, shift is a
// SHIFT_BITS+1 two's complement value in [0, 2^SHIFT_BITS - 1] (and down to
// -(2^SHIFT_BITS - 1) with ALLOW_LEFT). zy, lo, hi are Y_BITS signed; lo/hi
// carry the output type's range narrowed by a fused ReLU / ReLU6 clamp.
// KIND and ROUNDING take the codes of bitnpu_rtl_pkg (REQUANT_*, ROUND_*);
// REQUANT_GEMMLOWP and REQUANT_FLOAT32 are not implemented.
module requant
  import bitnpu_rtl_pkg::*;
#(
    parameter int ACC_BITS = 24,
    parameter int KIND = REQUANT_MULTIPLIER,
    parameter int MULT_BITS = 16,
    parameter int SHIFT_BITS = 5,
    parameter int ALLOW_LEFT = 0,
    parameter int ROUNDING = ROUND_HALF_UP,
    parameter int Y_BITS = 16
) (
    input  logic                         clk,
    input  logic                         in_valid,
    input  logic signed [  ACC_BITS-1:0] acc,
    input  logic        [ MULT_BITS-1:0] mult,   // unused by the shifter
    input  logic signed [  SHIFT_BITS:0] shift,
    input  logic signed [    Y_BITS-1:0] zy,
    input  logic signed [    Y_BITS-1:0] lo,
    input  logic signed [    Y_BITS-1:0] hi,
    output logic                         out_valid,
    output logic signed [    Y_BITS-1:0] y
);
  localparam int PW = (KIND == REQUANT_MULTIPLIER) ? ACC_BITS + MULT_BITS + 1 : ACC_BITS;
  localparam int TW = ((PW > Y_BITS) ? PW : Y_BITS) + 1;

  // ---- stage 1: register the inputs ----
  logic valid_1;
  logic signed [ACC_BITS-1:0] acc_1;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [MULT_BITS-1:0] mult_1;  // unused by the shifter
  /* verilator lint_on UNUSEDSIGNAL */
  logic signed [SHIFT_BITS:0] shift_1;
  logic signed [Y_BITS-1:0] zy_1, lo_1, hi_1;
  always_ff @(posedge clk) begin
    valid_1 <= in_valid;
    acc_1 <= acc;
    mult_1 <= mult;
    shift_1 <= shift;
    zy_1 <= zy;
    lo_1 <= lo;
    hi_1 <= hi;
  end

  // ---- stage 2: scale ----
  logic signed [PW-1:0] scaled;
  logic [SHIFT_BITS-1:0] n;
  logic shift_negative;
  assign shift_negative = shift_1[SHIFT_BITS];

  generate
    if (KIND == REQUANT_MULTIPLIER) begin : g_mult
      assign scaled = PW'(acc_1) * $signed({1'b0, mult_1});
      assign n = shift_negative ? '0 : shift_1[SHIFT_BITS-1:0];
    end else if (ALLOW_LEFT != 0) begin : g_shift_left
      localparam int LMAX = (1 << SHIFT_BITS) - 1;
      localparam int LW = ACC_BITS + LMAX;
      localparam logic signed [LW-1:0] MAX = LW'({1'b0, {(ACC_BITS - 1) {1'b1}}});
      localparam logic signed [LW-1:0] MIN = -MAX - LW'(1);
      logic [SHIFT_BITS:0] left;
      logic signed [LW-1:0] wide;
      assign left = -shift_1;
      assign wide = LW'(acc_1) <<< left;
      assign scaled = !shift_negative ? acc_1 :
                      (wide > MAX) ? PW'(MAX) : (wide < MIN) ? PW'(MIN) : PW'(wide);
      assign n = shift_negative ? '0 : shift_1[SHIFT_BITS-1:0];
    end else begin : g_shift
      assign scaled = acc_1;
      assign n = shift_negative ? '0 : shift_1[SHIFT_BITS-1:0];
    end
  endgenerate

  logic signed [PW-1:0] rounded;
  round_shift #(
      .X_BITS  (PW),
      .N_BITS  (SHIFT_BITS),
      .ROUNDING(ROUNDING)
  ) u_round (
      .x(scaled),
      .n(n),
      .y(rounded)
  );

  logic signed [TW-1:0] with_zp, lo_w, hi_w;
  assign with_zp = TW'(rounded) + TW'(zy_1);
  assign lo_w = TW'(lo_1);
  assign hi_w = TW'(hi_1);

  always_ff @(posedge clk) begin
    out_valid <= valid_1;
    y <= (with_zp < lo_w) ? lo_1 : (with_zp > hi_w) ? hi_1 : Y_BITS'(with_zp);
  end
endmodule
