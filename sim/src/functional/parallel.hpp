// Deterministic static work split: item i always runs the same code on the
// same data whatever the thread count, and items write disjoint outputs, so
// results never depend on the number of threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace bitnpu::sim::detail {

template <class Fn>
void parallel_for(std::int64_t count, int threads, Fn&& fn) {
    const std::int64_t workers = std::max<std::int64_t>(1, std::min<std::int64_t>(threads, count));
    if (workers == 1) {
        for (std::int64_t i = 0; i < count; ++i) fn(i);
        return;
    }
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
    for (std::int64_t t = 0; t < workers; ++t) {
        pool.emplace_back([&, t] {
            try {
                for (std::int64_t i = count * t / workers; i < count * (t + 1) / workers; ++i) fn(i);
            } catch (...) {
                errors[static_cast<std::size_t>(t)] = std::current_exception();
            }
        });
    }
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace bitnpu::sim::detail
