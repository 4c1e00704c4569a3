#include "daemon/control/control_budget.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace caravan::daemon {

bool ControlBudget::TryTake(size_t n) {
  if (n > limit_ || used_ > limit_ - n) return false;
  TakeForced(n);
  return true;
}

void ControlBudget::TakeForced(size_t n) {
  used_ += n;
  peak_ = std::max(peak_, used_);
}

void ControlBudget::Give(size_t n) {
  given_total_ += n;
  used_ -= std::min(n, used_);
  if (waiters_.empty()) return;
  // Wake callbacks may register again (they try, fail and wait): run a
  // detached copy so the map is not changed under the loop.
  auto woken = std::exchange(waiters_, {});
  for (auto& [key, wake] : woken) wake();
}

uint64_t ControlBudget::Wait(std::function<void()> wake) {
  const uint64_t key = ++next_key_;
  waiters_.emplace(key, std::move(wake));
  return key;
}

void ControlBudget::Forget(uint64_t key) { waiters_.erase(key); }

}  // namespace caravan::daemon
