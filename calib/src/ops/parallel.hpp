// The executor kernels' parallel loop: sim's worker pool with a dynamic
// schedule. Work is cut into a number of tasks that does not depend on the
// thread count, so results are bit-identical whatever ExecutorOptions::threads
// is (the CTable must not depend on it).
#pragma once

#include <cstdint>
#include <utility>

#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib::ops {

template <class F>
void parallel_for(int threads, std::int64_t tasks, F&& f) {
    sim::parallel_for_dynamic(tasks, threads, std::forward<F>(f));
}

}  // namespace bitnpu::calib::ops
