// TileSim over one verilated npu_tile class (the generated registry
// instantiates it once per variant). Drives the protocol of rtl/npu_tile.sv:
// start with the first beat, K beats, flush, then collect ROWS output rows.
#pragma once

#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "port_bits.hpp"
#include "tile_sim.hpp"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
#endif

namespace bitnpu::rtl {

// Whether a verilated class was built with --trace-fst (has trace()).
template <typename M, typename = void>
struct has_fst_trace : std::false_type {};
#if VM_TRACE
template <typename M>
struct has_fst_trace<M, std::void_t<decltype(std::declval<M&>().trace(static_cast<VerilatedFstC*>(nullptr), 0))>>
    : std::true_type {};
#endif

template <typename Model>
class VerilatedTile final : public TileSim {
public:
    explicit VerilatedTile(const TileConfig& config)
        : c_(config), p_(config.params), ctx_(std::make_unique<VerilatedContext>()),
          a_bits_(p_.rows * elem_a()), w_bits_(p_.cols * elem_w()), bias_bits_(p_.cols * p_.acc_bits),
          mult_bits_(p_.cols * p_.mult_bits), shift_bits_(p_.cols * (p_.shift_bits + 1)) {
#if VM_TRACE
        ctx_->traceEverOn(true);
#endif
        top_ = std::make_unique<Model>(ctx_.get(), "tile");
        top_->rst = 1;
        tick();
        tick();
        top_->rst = 0;
        cycles_ = 0;
    }
    ~VerilatedTile() override {
#if VM_TRACE
        if (trace_) trace_->close();
#endif
        top_->final();
    }

    TileResult run(const TileVector& v) override {
        load_registers(v);
        const int beats = p_.bnn ? (v.k + p_.chunk - 1) / p_.chunk : v.k;
        std::uint64_t start_cycle = cycles_;
        top_->start = 1;
        for (int b = 0; b < beats; ++b) {
            drive_beat(v, b);
            tick();
            top_->start = 0;
        }
        if (beats == 0) tick();  // start alone
        top_->start = 0;
        top_->in_valid = 0;
        top_->flush = 1;
        tick();
        top_->flush = 0;
        return collect(v, start_cycle);
    }

    std::uint64_t total_cycles() const override { return cycles_; }

    void open_trace(const std::string& path) override {
#if VM_TRACE
        if constexpr (has_fst_trace<Model>::value) {
            trace_ = std::make_unique<VerilatedFstC>();
            top_->trace(trace_.get(), 99);
            trace_->open(path.c_str());
            return;
        }
#endif
        throw UserError("variant " + c_.engine + " was verilated without TRACE_FST (add it to "
                        "BITNPU_RTL_TRACED_VARIANTS in rtl/CMakeLists.txt): cannot write " + path);
    }

    bool write_coverage(const std::string& path) override {
#if VM_COVERAGE
        ctx_->coveragep()->write(path.c_str());
        return true;
#else
        (void)path;
        return false;
#endif
    }

private:
    int elem_a() const { return p_.bnn ? p_.chunk : p_.a_bits; }
    int elem_w() const { return p_.bnn ? p_.chunk : p_.w_bits; }

    void tick() {
        top_->clk = 0;
        top_->eval();
        dump(2 * cycles_);
        top_->clk = 1;
        top_->eval();
        dump(2 * cycles_ + 1);
        ++cycles_;
    }
    void dump(std::uint64_t time) {
#if VM_TRACE
        if (trace_) trace_->dump(time);
#else
        (void)time;
#endif
    }

    void load_registers(const TileVector& v) {
        BitWords bias(bias_bits_), mult(mult_bits_), shift(shift_bits_);
        for (int j = 0; j < p_.cols; ++j) {
            bias.put(j * p_.acc_bits, p_.acc_bits, std::uint64_t(v.bias[j]));
            mult.put(j * p_.mult_bits, p_.mult_bits, std::uint64_t(v.requant[j].multiplier));
            shift.put(j * (p_.shift_bits + 1), p_.shift_bits + 1, std::uint64_t(std::int64_t(v.requant[j].shift)));
        }
        assign_port(top_->bias, bias);
        assign_port(top_->mult, mult);
        assign_port(top_->shift, shift);
        const std::uint64_t ymask = (std::uint64_t(1) << p_.y_bits) - 1;
        top_->zy = std::uint64_t(v.zy) & ymask;
        top_->lo = std::uint64_t(v.lo) & ymask;
        top_->hi = std::uint64_t(v.hi) & ymask;
        top_->zx = std::uint64_t(v.zx) & ((std::uint64_t(1) << (p_.a_bits + 1)) - 1);
    }

    void drive_beat(const TileVector& v, int beat) {
        BitWords a(a_bits_), w(w_bits_);
        if (p_.bnn) {
            const int k0 = beat * p_.chunk, n = std::min(p_.chunk, v.k - k0);
            for (int i = 0; i < p_.rows; ++i)
                for (int b = 0; b < n; ++b) a.put(i * p_.chunk + b, 1, v.a[i * v.k + k0 + b] > 0);
            for (int j = 0; j < p_.cols; ++j)
                for (int b = 0; b < n; ++b) w.put(j * p_.chunk + b, 1, v.w[(k0 + b) * p_.cols + j] > 0);
            top_->in_count = n;
        } else {
            for (int i = 0; i < p_.rows; ++i)
                a.put(i * p_.a_bits, p_.a_bits, sim::encode(v.a[i * v.k + beat], c_.activation));
            for (int j = 0; j < p_.cols; ++j)
                w.put(j * p_.w_bits, p_.w_bits, sim::encode(v.w[beat * p_.cols + j], c_.weight));
        }
        assign_port(top_->a_col, a);
        assign_port(top_->w_row, w);
        top_->in_valid = 1;
    }

    TileResult collect(const TileVector& v, std::uint64_t start_cycle) {
        TileResult r;
        r.y.assign(std::size_t(p_.rows) * p_.cols, 0);
        int rows_seen = 0;
        const std::uint64_t limit = cycles_ + p_.rows + p_.cols + 8;
        while (rows_seen < p_.rows && cycles_ < limit) {
            tick();
            if (!top_->y_valid) continue;
            const int row = int(top_->y_row);
            for (int j = 0; j < p_.cols; ++j) r.y[row * p_.cols + j] = read_signed(top_->y, j * p_.y_bits, p_.y_bits);
            ++rows_seen;
        }
        (void)v;
        r.complete = rows_seen == p_.rows;
        r.cycles = cycles_ - start_cycle;
        return r;
    }

    TileConfig c_;
    TileParams p_;
    std::unique_ptr<VerilatedContext> ctx_;
    std::unique_ptr<Model> top_;
#if VM_TRACE
    std::unique_ptr<VerilatedFstC> trace_;
#endif
    std::uint64_t cycles_ = 0;
    unsigned a_bits_, w_bits_, bias_bits_, mult_bits_, shift_bits_;
};

}  // namespace bitnpu::rtl
