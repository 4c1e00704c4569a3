#include "daemon/store/reader_pool.h"

namespace caravan::store {

Result<std::unique_ptr<Reader>> ReaderPool::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto reader = std::move(idle_.back());
      idle_.pop_back();
      return reader;
    }
  }
  return store_.OpenReader();
}

void ReaderPool::Release(std::unique_ptr<Reader> reader) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(reader));
}

}  // namespace caravan::store
