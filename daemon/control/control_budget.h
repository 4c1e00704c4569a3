#pragma once
// ControlBudget: the bytes that all control connections together may hold
// in request buffers and unwritten replies ([control] max_buffered_bytes).
// A connection takes bytes before it grows a request buffer and gives them
// back when the request is done or the connection ends; one that cannot get
// them waits (ControlServer keeps it under its frame deadline), so a flood
// of partial frames costs at most the budget, not connections x frame size.
//
// Replies are already built when they are charged: TakeForced counts them
// even past the limit, so that new request bytes wait until they are sent.
//
// BudgetCharge is the RAII holder a connection keeps per buffer.
// Thread-safety: none; the control server uses it on its io thread only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>

namespace caravan::daemon {

class ControlBudget {
 public:
  explicit ControlBudget(size_t limit) : limit_(limit) {}
  ControlBudget(const ControlBudget&) = delete;
  ControlBudget& operator=(const ControlBudget&) = delete;

  // Takes `n` bytes if they fit under the limit; false (nothing taken)
  // otherwise.
  bool TryTake(size_t n);
  // Takes `n` bytes even past the limit.
  void TakeForced(size_t n);
  // Gives back `n` bytes taken before, and wakes every waiter so each can
  // try again.
  void Give(size_t n);

  // Registers `wake`, called once at the next Give (then forgotten).
  // Returns a key for Forget.
  uint64_t Wait(std::function<void()> wake);
  void Forget(uint64_t key);

  size_t used() const { return used_; }
  size_t limit() const { return limit_; }
  size_t peak() const { return peak_; }
  // Every byte ever given back (for deciding when to return memory).
  uint64_t given_total() const { return given_total_; }

 private:
  const size_t limit_;
  size_t used_ = 0;
  size_t peak_ = 0;
  uint64_t given_total_ = 0;
  uint64_t next_key_ = 0;
  std::map<uint64_t, std::function<void()>> waiters_;
};

// Bytes of one buffer, taken from a budget and given back on destruction.
class BudgetCharge {
 public:
  explicit BudgetCharge(ControlBudget& budget) : budget_(budget) {}
  ~BudgetCharge() { Release(); }
  BudgetCharge(const BudgetCharge&) = delete;
  BudgetCharge& operator=(const BudgetCharge&) = delete;

  // Adds `n` bytes that the caller already took from the budget.
  void Add(size_t n) { bytes_ += n; }
  // Gives everything back.
  void Release() {
    if (bytes_ > 0) budget_.Give(bytes_);
    bytes_ = 0;
  }
  size_t bytes() const { return bytes_; }

 private:
  ControlBudget& budget_;
  size_t bytes_ = 0;
};

}  // namespace caravan::daemon
