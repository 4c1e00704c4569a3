#pragma once
// Private to daemon/store: an in-memory answer to "is this id new?" for
// the store's one writer, before it looks in the id key tables.
//
// The writer asks before every new indicator row whether the id is held
// (no unique index says so: index_levels.h). Nearly always it is not, and
// finding that out cost two index searches (one a level, each through a
// B-tree as large as the store), a seventh of the writer's time on a bulk
// submit and more on a catch-up. This is a split-block Bloom filter (the
// layout Apache Parquet specifies: 32-byte blocks of eight 32-bit words,
// one bit set in each) over the ids' 8-byte keys. "Absent" is certain, so
// the search is skipped; "may be held" is answered by the search as
// before. Keys are only ever added (a deleted row's bits stay): a stale
// bit costs one search, never a wrong answer. It holds every id key of
// the file only if every insert into id_keys_0 by this process goes
// through Add, and it was filled from the file when the store opened.
//
// The size is fixed when it is made (StoreOptions::id_filter_bytes): the
// fraction of "may be held" answers for absent ids grows with the keys
// it holds (id_key_filter_test prints it, 200k random keys: 0.12% at 16
// bits a key, 1.2% at 10, 6.7% at 6.7 = 8 MiB at 10M ids, 46% at 3.4);
// its memory never does.
// Bytes are taken from the OS zeroed and untouched, so an empty store's
// filter costs no RSS.
//
// Thread-safety: none; the writer thread's.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "daemon/store/index_levels.h"

namespace caravan::store::internal {

class IdKeyFilter {
 public:
  // A filter of about `bytes` (rounded down to whole 32-byte blocks); 0
  // (or under one block): none, every id "may be held".
  explicit IdKeyFilter(size_t bytes);

  void Add(const ShortKey& key);
  // false: no key equal to `key` was added.
  bool MayHold(const ShortKey& key) const;

  size_t bytes() const { return blocks_ * sizeof(Block); }

 private:
  struct Block {
    uint32_t words[8];
  };
  struct FreeDeleter {
    void operator()(Block* p) const;
  };

  size_t BlockIndex(uint64_t hash) const;

  size_t blocks_ = 0;
  std::unique_ptr<Block[], FreeDeleter> data_;
};

// Adds every id key the file holds, at every level, to `filter`.
Status AddHeldIdKeys(Database& db, IdKeyFilter& filter);

}  // namespace caravan::store::internal
