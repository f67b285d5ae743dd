#pragma once
// Counting a chunk's confusion cells (indices into a small table) without the store-to-load
// chain of one table: shared by the class-confusion and IoU kernels. See docs/performance.md,
// "Classification from confusion counts", for the measurements behind the constants.

#include <cstdint>
#include <vector>

namespace tally::metrics::kernels {

// The histogram of a chunk's cells (each < size). Small tables are counted in kCopies
// interleaved int32 copies (a chunk is far below 2^31 rows), so consecutive rows that hit the
// same cell do not wait on each other's store; large ones go straight to the int64 counts.
// The copies are thread-local scratch: at most one counter per thread may be alive.
inline constexpr std::int64_t kCopies = 4;
/// Histogram of cell indices added into an int64 table when the counter goes out of scope.
class CellCounter {
 public:
  /// A counter for cells < size of a chunk of `rows` rows, adding into out[0, size).
  CellCounter(std::int64_t size, std::int64_t rows, std::int64_t* out)
      : size_(size), out_(out), copies_(size <= 4096 && rows >= kCopies * size) {
    if (copies_) {
      thread_local std::vector<std::uint32_t> storage;
      storage.assign(static_cast<std::size_t>(kCopies * size), 0);
      h_ = storage.data();
    }
  }
  CellCounter(const CellCounter&) = delete;
  CellCounter& operator=(const CellCounter&) = delete;
  ~CellCounter() {
    if (!copies_) return;
    for (std::int64_t c = 0; c < size_; ++c) {
      std::int64_t sum = 0;
      for (std::int64_t k = 0; k < kCopies; ++k) sum += h_[k * size_ + c];
      out_[c] += sum;
    }
  }
  /// Counts cells[0, n).
  void add(const std::int32_t* __restrict cells, std::int64_t n) {
    if (!copies_) {
      for (std::int64_t i = 0; i < n; ++i) ++out_[cells[i]];
      return;
    }
    std::uint32_t* __restrict h = h_;
    const std::int64_t size = size_;
    std::int64_t i = 0;
    for (; i + kCopies <= n; i += kCopies) {
      for (std::int64_t k = 0; k < kCopies; ++k) ++h[k * size + cells[i + k]];
    }
    for (; i < n; ++i) ++h[cells[i]];
  }

 private:
  std::int64_t size_;
  std::int64_t* out_;
  bool copies_;
  std::uint32_t* h_ = nullptr;
};

}  // namespace tally::metrics::kernels
