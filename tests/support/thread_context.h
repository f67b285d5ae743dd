#pragma once
// An in-process DistributedContext: workers are threads that meet at a rendezvous
// (XGBoost's threads-as-workers idea), so distributed logic is tested without MPI.

#include <barrier>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "tally/distributed.h"

namespace tally::testing {

/// State shared by the workers of one ThreadContext group.
class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size), buffers_(static_cast<std::size_t>(size)), sync_(size) {}
  int size() const { return size_; }

  // Every rank deposits its buffer, rank 0's thread combines them in rank order (so the
  // result is deterministic), and every rank copies the result out.
  void reduce(int rank, std::span<double> buffer, ReduceOp op) {
    buffers_[static_cast<std::size_t>(rank)].assign(buffer.begin(), buffer.end());
    sync_.arrive_and_wait();
    if (rank == 0) {
      result_ = buffers_[0];
      for (int r = 1; r < size_; ++r) {
        const auto& b = buffers_[static_cast<std::size_t>(r)];
        if (b.size() != result_.size()) throw DistributedError("ThreadContext: buffers of different lengths");
        for (std::size_t i = 0; i < b.size(); ++i) {
          result_[i] = op == ReduceOp::kSum   ? result_[i] + b[i]
                       : op == ReduceOp::kMin ? std::min(result_[i], b[i])
                                              : std::max(result_[i], b[i]);
        }
      }
    }
    sync_.arrive_and_wait();
    std::copy(result_.begin(), result_.end(), buffer.begin());
    sync_.arrive_and_wait();
  }

  std::vector<double> gather(int rank, std::span<const double> local) {
    buffers_[static_cast<std::size_t>(rank)].assign(local.begin(), local.end());
    sync_.arrive_and_wait();
    std::vector<double> out;
    for (const auto& b : buffers_) out.insert(out.end(), b.begin(), b.end());
    sync_.arrive_and_wait();
    return out;
  }

  void barrier() { sync_.arrive_and_wait(); }

 private:
  int size_;
  std::vector<std::vector<double>> buffers_;
  std::vector<double> result_;
  std::barrier<> sync_;
};

/// One worker's view of a ThreadGroup.
class ThreadContext final : public DistributedContext {
 public:
  ThreadContext(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  int local_rank() const override { return rank_; }
  int global_rank() const override { return rank_; }
  int world_size() const override { return group_.size(); }
  int local_size() const override { return group_.size(); }
  void all_reduce_in_place(std::span<double> buffer, ReduceOp op) override { group_.reduce(rank_, buffer, op); }
  void broadcast(std::span<double> buffer, int root) override {
    std::vector<double> mine(buffer.begin(), buffer.end());
    const std::vector<double> all = group_.gather(rank_, mine);
    std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(buffer.size()) * root, buffer.size(), buffer.begin());
  }
  std::vector<double> all_gather(std::span<const double> local) override { return group_.gather(rank_, local); }
  void barrier() override { group_.barrier(); }

 private:
  ThreadGroup& group_;
  int rank_;
};

/// Runs body(context) on `workers` threads, one rank each; rethrows the first failure.
inline void run_workers(int workers, const std::function<void(DistributedContext&)>& body) {
  ThreadGroup group(workers);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
  std::vector<std::thread> threads;
  for (int r = 0; r < workers; ++r) {
    threads.emplace_back([&, r] {
      ThreadContext context(group, r);
      try {
        body(context);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace tally::testing
