// The one thread pool of bitnpu: the simulator's and the FP32 executor's
// kernels and the calibrator's passes all run their parallel loops here.
//
// parallel_for gives results that never depend on the thread count: item
// i always runs the same code on the same data and items write disjoint
// outputs (the caller's side of the contract).
//
// The workers are persistent (WorkerPool): the simulator calls parallel_for
// per image and per layer, thousands of times per calibration, and starting
// threads each time cost more than small layers' work.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace bitnpu::sim {

// Threads that wait for jobs. run(n, fn) calls fn(0) on the caller and
// fn(1..n-1) on workers, and returns when all are done. One job at a time:
// a caller that finds the pool busy (another thread's job, or a nested call
// from inside a job) runs every part itself.
//
// Waiting spins briefly before it sleeps: the calibrator issues thousands of
// small jobs back to back (one per layer, image and candidate), and a futex
// sleep/wake pair per job cost more than many of the jobs (about 30 us each
// on a virtual machine).
class WorkerPool {
public:
    static WorkerPool& instance() {
        static WorkerPool* pool = new WorkerPool;   // never destroyed: workers may outlive main's statics
        return *pool;
    }

    void run(int parts, const std::function<void(int)>& fn) {
        auto serial = [&] {
            for (int t = 0; t < parts; ++t) fn(t);
        };
        if (inside_job()) return serial();   // nested: this thread may already hold job_mutex_
        std::unique_lock<std::mutex> busy(job_mutex_, std::try_to_lock);
        if (!busy.owns_lock()) return serial();
        grow(parts - 1);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &fn;
            parts_ = parts;
            remaining_.store(parts - 1, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_release);
        }
        if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
        inside_job() = true;
        fn(0);
        inside_job() = false;
        if (!spin_until([&] { return remaining_.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [&] { return remaining_.load(std::memory_order_acquire) == 0; });
        }
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = nullptr;
    }

private:
    static constexpr int kSpinIterations = 4000;   // about 0.1 ms

    template <class Ready>
    static bool spin_until(Ready&& ready) {
        for (int i = 0; i < kSpinIterations; ++i) {
            if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        return ready();
    }

    static bool& inside_job() {
        thread_local bool inside = false;
        return inside;
    }

    void grow(int workers) {
        while (static_cast<int>(threads_.size()) < workers) {
            const int index = static_cast<int>(threads_.size()) + 1;   // part index this worker runs
            threads_.emplace_back([this, index] { work(index); });
            threads_.back().detach();
        }
    }

    void work(int index) {
        inside_job() = true;
        std::uint64_t seen = 0;
        for (;;) {
            auto published = [&] { return generation_.load(std::memory_order_acquire) != seen; };
            const std::function<void(int)>* job = nullptr;
            if (!spin_until(published)) {
                std::unique_lock<std::mutex> lock(mutex_);
                sleepers_.fetch_add(1, std::memory_order_acq_rel);
                wake_.wait(lock, published);
                sleepers_.fetch_sub(1, std::memory_order_acq_rel);
            }
            {
                // The job, its part count and its generation are read together.
                std::lock_guard<std::mutex> lock(mutex_);
                seen = generation_.load(std::memory_order_relaxed);
                if (index >= parts_ || job_ == nullptr) continue;   // not needed for this job
                job = job_;
            }
            (*job)(index);
            if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lock(mutex_);
                done_.notify_one();
            }
        }
    }

    std::mutex job_mutex_;   // held by the caller for the whole job
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(int)>* job_ = nullptr;
    int parts_ = 0;
    std::atomic<int> remaining_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<std::uint64_t> generation_{0};
    std::vector<std::thread> threads_;
};

// The thread count a `threads` option means: itself when positive, else one
// per hardware thread (at least 1).
inline int resolve_threads(int requested) {
    return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// How many workers share count items (at most threads); 1 means the caller
// runs them all in order.
inline std::int64_t worker_count(std::int64_t count, int threads) {
    return std::max<std::int64_t>(1, std::min<std::int64_t>(threads, count));
}

// How parallel_for hands items to workers.
enum class Schedule {
    blocks,   // worker t runs items [count*t/w, count*(t+1)/w) in order: items of equal cost
    dynamic,  // workers take the next item from a shared counter: items of unequal cost
              // (per-tensor policy searches, per-channel clipping, kernel tasks)
};

namespace detail {

template <class Fn>
void run_blocks(std::int64_t count, std::int64_t workers, Fn& fn) {
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
    const std::function<void(int)> part = [&](int t) {
        try {
            for (std::int64_t i = count * t / workers; i < count * (t + 1) / workers; ++i) fn(i);
        } catch (...) {
            errors[static_cast<std::size_t>(t)] = std::current_exception();
        }
    };
    WorkerPool::instance().run(static_cast<int>(workers), part);
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

// The first exception stops the remaining items and is rethrown.
template <class Fn>
void run_dynamic(std::int64_t count, std::int64_t workers, Fn& fn) {
    std::atomic<std::int64_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    const std::function<void(int)> part = [&](int) {
        for (std::int64_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
            try {
                fn(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                next.store(count);
            }
        }
    };
    WorkerPool::instance().run(static_cast<int>(workers), part);
    if (error) std::rethrow_exception(error);
}

}  // namespace detail

// The one parallel loop: fn(i) for i in [0, count) on up to `threads`
// workers of the pool (count first, then threads, everywhere). With one
// worker the items run in order on the caller.
template <class Fn>
void parallel_for(std::int64_t count, int threads, Fn&& fn, Schedule schedule = Schedule::blocks) {
    const std::int64_t workers = worker_count(count, threads);
    if (workers == 1) {
        for (std::int64_t i = 0; i < count; ++i) fn(i);
        return;
    }
    if (schedule == Schedule::blocks)
        detail::run_blocks(count, workers, fn);
    else
        detail::run_dynamic(count, workers, fn);
}

}  // namespace bitnpu::sim
