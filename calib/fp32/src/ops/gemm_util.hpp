// Eigen views over row-major float buffers: the one place the executor's
// GEMMs go through (Conv, ConvTranspose, Gemm, MatMul). Eigen stays
// single-threaded; parallelism comes from parallel_for over fixed tasks.
#pragma once

#include <Eigen/Core>

namespace bitnpu::calib::ops {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixView = Eigen::Map<const RowMajorMatrix, 0, Eigen::OuterStride<>>;
using MatrixView = Eigen::Map<RowMajorMatrix, 0, Eigen::OuterStride<>>;

inline ConstMatrixView const_view(const float* p, Eigen::Index rows, Eigen::Index cols, Eigen::Index row_stride) {
    return ConstMatrixView(p, rows, cols, Eigen::OuterStride<>(row_stride));
}
inline MatrixView view(float* p, Eigen::Index rows, Eigen::Index cols, Eigen::Index row_stride) {
    return MatrixView(p, rows, cols, Eigen::OuterStride<>(row_stride));
}

// Columns per GEMM task: fixed, so results do not depend on the thread count.
inline constexpr std::int64_t kColumnBlock = 2048;
// Below this many multiply-adds a kernel runs on the calling thread only
// (starting threads would cost more than it saves).
inline constexpr std::int64_t kParallelMinMacs = 1 << 20;

}  // namespace bitnpu::calib::ops
