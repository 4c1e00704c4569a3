#include "daemon/store/id_key_filter.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace caravan::store::internal {
namespace {

// The salts of Parquet's split-block Bloom filter: word i of a block gets
// bit (key32 * kSalt[i]) >> 27.
constexpr uint32_t kSalt[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU,
                               0xa2b7289dU, 0x705495c7U, 0x2df1424bU,
                               0x9efc4947U, 0x5c6bfb31U};

// Ids are BLAKE2b outputs, so their first 8 bytes are uniform already;
// mixed anyway (MurmurHash3's finalizer) so the filter does not rest on
// that.
uint64_t HashOf(const ShortKey& key) {
  uint64_t x;
  std::memcpy(&x, key.data(), sizeof x);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint32_t BitOf(uint64_t hash, int word) {
  return uint32_t{1} << ((static_cast<uint32_t>(hash) * kSalt[word]) >> 27);
}

}  // namespace

void IdKeyFilter::FreeDeleter::operator()(Block* p) const { std::free(p); }

IdKeyFilter::IdKeyFilter(size_t bytes)
    // At most 2^32 blocks (128 GiB), so BlockIndex's product fits.
    : blocks_(std::min(bytes / sizeof(Block), size_t{1} << 32)) {
  if (blocks_ == 0) return;
  // calloc: large sizes come as fresh zero pages, resident only once a
  // bit in them is set.
  data_.reset(static_cast<Block*>(std::calloc(blocks_, sizeof(Block))));
  if (!data_) blocks_ = 0;  // no memory for it: no filter, still correct
}

size_t IdKeyFilter::BlockIndex(uint64_t hash) const {
  // The high half picks the block (multiply-shift: no division).
  return static_cast<size_t>(((hash >> 32) * blocks_) >> 32);
}

void IdKeyFilter::Add(const ShortKey& key) {
  if (blocks_ == 0) return;
  const uint64_t hash = HashOf(key);
  Block& block = data_[BlockIndex(hash)];
  for (int i = 0; i < 8; ++i) block.words[i] |= BitOf(hash, i);
}

bool IdKeyFilter::MayHold(const ShortKey& key) const {
  if (blocks_ == 0) return true;
  const uint64_t hash = HashOf(key);
  const Block& block = data_[BlockIndex(hash)];
  for (int i = 0; i < 8; ++i) {
    if ((block.words[i] & BitOf(hash, i)) == 0) return false;
  }
  return true;
}

Status AddHeldIdKeys(Database& db, IdKeyFilter& filter) {
  if (filter.bytes() == 0) return Status::Ok();
  std::string sql;
  for (const char* level : kKeyLevels) {
    if (!sql.empty()) sql += " UNION ALL ";
    sql += std::string("SELECT k FROM id_keys") + level;
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db.PrepareUncached(sql));
  ShortKey key;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (!st.FixedBlob(0, key)) {
      return Corrupt("an id key is not " + std::to_string(key.size()) +
                     " bytes");
    }
    filter.Add(key);
  }
  return Status::Ok();
}

}  // namespace caravan::store::internal
