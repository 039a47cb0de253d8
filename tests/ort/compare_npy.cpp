// Compares the FP32 executor's output with ONNX Runtime's, element by
// element, and their top-1 predictions (row-wise argmax of [N, K] logits).
//
//   ort_compare_npy ACTUAL.npy EXPECTED.npy [--labels y.npy] [--rtol 1e-4]
//
// ACTUAL is the executor's output, EXPECTED is the oracle's (ONNX Runtime).
// An element passes when |a - b| <= rtol * max(|b|, 1): relative for
// |b| >= 1, absolute rtol below (near-zero logits have no meaningful relative
// error; float32 rounding there is bounded by the magnitudes summed, ~1).
// Exit 0 when every element passes and every top-1 agrees, 1 when not,
// 2 on bad input (missing file, shape or dtype mismatch).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"

using bitnpu::UserError;
using namespace bitnpu::calib;

namespace {

struct Args {
    std::string actual, expected, labels;
    double rtol = 1e-4;
};

Args parse_args(int argc, char** argv) {
    Args args;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--labels" || a == "--rtol") && i + 1 < argc) {
            const std::string v = argv[++i];
            if (a == "--labels") args.labels = v;
            else args.rtol = std::stod(v);
        } else if (!a.empty() && a[0] == '-') {
            throw UserError("unknown or incomplete option " + a +
                            " (usage: ort_compare_npy ACTUAL.npy EXPECTED.npy [--labels y.npy] [--rtol R])");
        } else {
            positional.push_back(a);
        }
    }
    if (positional.size() != 2) throw UserError("give exactly two .npy files: ACTUAL (executor) and EXPECTED (ORT)");
    args.actual = positional[0];
    args.expected = positional[1];
    return args;
}

// Row-wise argmax of an [N, K] tensor (first maximum wins, like numpy).
std::vector<std::int64_t> top1(const std::vector<float>& values, std::int64_t rows, std::int64_t cols) {
    std::vector<std::int64_t> best(static_cast<std::size_t>(rows), 0);
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* row = values.data() + r * cols;
        best[static_cast<std::size_t>(r)] = std::max_element(row, row + cols) - row;
    }
    return best;
}

std::int64_t count_equal(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
    std::int64_t n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) n += a[i] == b[i];
    return n;
}

int compare(const Args& args) {
    const Tensor actual = load_npy(args.actual), expected = load_npy(args.expected);
    if (actual.shape() != expected.shape())
        throw UserError("shape mismatch: " + args.actual + " is " + shape_to_string(actual.shape()) + ", " +
                        args.expected + " is " + shape_to_string(expected.shape()));
    if (actual.dtype() != DType::f32 || expected.dtype() != DType::f32)
        throw UserError("both files must hold float32 values");
    if (actual.rank() != 2) throw UserError("expected [N, K] logits, got " + shape_to_string(actual.shape()));
    const std::vector<float> a = actual.to_floats(), b = expected.to_floats();

    double max_abs = 0, max_rel = 0;
    std::int64_t failures = 0, first_failure = -1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
        const double scale = std::max(std::fabs(static_cast<double>(b[i])), 1.0);
        max_abs = std::max(max_abs, diff);
        max_rel = std::max(max_rel, diff / scale);
        // Written so a NaN on either side fails.
        if (!(diff <= args.rtol * scale)) {
            if (first_failure < 0) first_failure = static_cast<std::int64_t>(i);
            ++failures;
        }
    }
    const std::int64_t rows = actual.dim(0), cols = actual.dim(1);
    const auto top_a = top1(a, rows, cols), top_b = top1(b, rows, cols);
    const std::int64_t agree = count_equal(top_a, top_b);

    std::cout << "elements " << a.size() << "  max_abs_diff " << max_abs << "  max_rel_diff " << max_rel
              << " (|a-b|/max(|b|,1), limit " << args.rtol << ")  out_of_tolerance " << failures
              << "  top1_agree " << agree << "/" << rows;
    if (!args.labels.empty()) {
        const Tensor labels = load_npy(args.labels);
        if (labels.numel() != rows) throw UserError(args.labels + " has " + std::to_string(labels.numel()) +
                                                    " labels for " + std::to_string(rows) + " rows");
        const std::vector<std::int64_t> y = labels.to_int64s();
        std::cout << "  top1_vs_labels executor " << count_equal(top_a, y) << "/" << rows << " ort "
                  << count_equal(top_b, y) << "/" << rows;
    }
    std::cout << "\n";
    if (first_failure >= 0)
        std::cout << "  first element out of tolerance: [" << first_failure / cols << ", " << first_failure % cols
                  << "] executor " << a[static_cast<std::size_t>(first_failure)] << " ort "
                  << b[static_cast<std::size_t>(first_failure)] << "\n";
    return failures == 0 && agree == rows ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return compare(parse_args(argc, argv));
    } catch (const UserError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
}
