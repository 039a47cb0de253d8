// round_shift(x, n, mode) of numerics.md "Rounding modes" for n >= 0, combinational.
// x is X_BITS two's complement, n is unsigned. The result x / 2^n rounded by
// ROUNDING always fits X_BITS.
//   ROUNDING: ROUND_FLOOR, ROUND_TRUNC, ROUND_HALF_UP, ROUND_HALF_AWAY or
//   ROUND_HALF_EVEN (bitnpu_rtl_pkg: the codes of bitnpu::arch::RoundingMode).
// Shifts of X_BITS + 1 or more leave |x| / 2^n < 1/2, so no tie is possible:
// floor gives -1 for negative x, every other mode 0.
module round_shift
  import bitnpu_rtl_pkg::*;
#(
    parameter int X_BITS = 32,
    parameter int N_BITS = 5,
    parameter int ROUNDING = ROUND_HALF_UP
) (
    input  logic signed [X_BITS-1:0] x,
    input  logic        [N_BITS-1:0] n,
    output logic signed [X_BITS-1:0] y
);
  // One guard bit so that 2^(n-1) and the remainder are non-negative.
  localparam int WW = X_BITS + 1;
  localparam int NMAX = (1 << N_BITS) - 1;

  logic signed [WW-1:0] xw, q, rem, half, one_w, mask;
  logic round_up, negative, big_shift;

  assign xw = {x[X_BITS-1], x};
  assign negative = x[X_BITS-1];
  assign one_w = {{(WW - 1) {1'b0}}, 1'b1};

  generate
    if (NMAX > X_BITS) begin : g_big
      assign big_shift = ({1'b0, n} > (N_BITS + 1)'(X_BITS));
    end else begin : g_small
      assign big_shift = 1'b0;
    end
  endgenerate

  always_comb begin
    q = xw >>> n;
    mask = (one_w <<< n) - one_w;
    rem = xw & mask;
    half = (n == '0) ? '0 : (one_w <<< (n - 1'b1));
    unique case (ROUNDING)
      ROUND_FLOOR: round_up = 1'b0;
      ROUND_TRUNC: round_up = negative && (rem != '0);
      ROUND_HALF_UP: round_up = (rem >= half);
      ROUND_HALF_AWAY: round_up = negative ? (rem > half) : (rem >= half);
      default: round_up = (rem > half) || ((rem == half) && q[0]);  // ROUND_HALF_EVEN
    endcase
    if (n == '0) begin
      y = x;
    end else if (big_shift) begin
      y = (ROUNDING == ROUND_FLOOR && negative) ? '1 : '0;
    end else begin
      y = X_BITS'(q + (round_up ? one_w : '0));
    end
  end
endmodule
