// A minimal parallel-for for the heavy kernels. Work is cut into a number of
// tasks that does not depend on the thread count, so results are bit-identical
// whatever ExecutorOptions::threads is (the CTable must not depend on it).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace bitnpu::calib::ops {

template <class F>
void parallel_for(int threads, std::int64_t tasks, F&& f) {
    if (threads <= 1 || tasks <= 1) {
        for (std::int64_t i = 0; i < tasks; ++i) f(i);
        return;
    }
    std::atomic<std::int64_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&] {
        for (;;) {
            const std::int64_t i = next.fetch_add(1);
            if (i >= tasks) return;
            try {
                f(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                next.store(tasks);
            }
        }
    };
    const int n = static_cast<int>(std::min<std::int64_t>(threads, tasks));
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(n - 1));
    for (int t = 1; t < n; ++t) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace bitnpu::calib::ops
