#pragma once
// ReaderPool: idle Readers of one Store kept for reuse, so threads that
// read now and then (control requests on the worker pool, the submitter's
// look-ups before a write) do not open a connection each time.
//
// Thread-safety: any thread. A Reader is used by one thread at a time: With
// hands it to `fn` alone and takes it back afterwards.

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "daemon/store/reader.h"
#include "daemon/store/store.h"

namespace caravan::store {

class ReaderPool {
 public:
  // `store` must outlive the pool.
  explicit ReaderPool(Store& store) : store_(store) {}
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // fn(Reader&) with an idle reader or a newly opened one; fn's result, or
  // the error that kept a reader from opening (as fn's result type).
  template <typename F>
  auto With(F fn) {
    auto reader = Acquire();
    if (!reader.ok()) {
      using R = decltype(fn(std::declval<Reader&>()));
      return R(reader.status());
    }
    auto result = fn(**reader);
    Release(std::move(*reader));
    return result;
  }

 private:
  Result<std::unique_ptr<Reader>> Acquire();
  void Release(std::unique_ptr<Reader> reader);

  Store& store_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Reader>> idle_;  // by mu_
};

}  // namespace caravan::store
