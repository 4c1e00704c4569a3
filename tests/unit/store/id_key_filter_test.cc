// The writer's filter of held ids (daemon/store/id_key_filter.h): never
// "absent" for a key it was given, whatever its size; "may hold" for
// absent keys about as rarely as a split-block Bloom filter of that many
// bits a key should; no filter at size 0.

#include "daemon/store/id_key_filter.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace caravan::store::internal {
namespace {

std::vector<ShortKey> RandomKeys(std::mt19937_64& rng, size_t n) {
  std::vector<ShortKey> keys(n);
  for (ShortKey& k : keys) {
    const uint64_t x = rng();
    for (size_t i = 0; i < k.size(); ++i)
      k[i] = static_cast<uint8_t>(x >> (8 * i));
  }
  return keys;
}

// The fraction of `absent` keys the filter may hold.
double FalsePositiveRate(const IdKeyFilter& f,
                         const std::vector<ShortKey>& absent) {
  size_t hits = 0;
  for (const ShortKey& k : absent) hits += f.MayHold(k) ? 1 : 0;
  return static_cast<double>(hits) / static_cast<double>(absent.size());
}

TEST(IdKeyFilter, EveryAddedKeyMayBeHeldAtAnyLoad) {
  std::mt19937_64 rng(17);
  // From roomy to far beyond capacity (one block for 100k keys).
  for (size_t bytes : {size_t{1} << 20, size_t{4096}, size_t{32}}) {
    IdKeyFilter f(bytes);
    const std::vector<ShortKey> keys = RandomKeys(rng, 100'000);
    for (const ShortKey& k : keys) f.Add(k);
    for (const ShortKey& k : keys) ASSERT_TRUE(f.MayHold(k)) << bytes;
  }
}

// Rates measured with these seeds: 0.12% at 16 bits a key, 1.3% at 10,
// 6.8% at 6.7 (the default 8 MiB at 10M ids). The bounds leave room for
// another seed, and fail a layout that lost its spread (every key in few
// blocks, or fewer bits a key).
TEST(IdKeyFilter, AbsentKeysAreRarelyMaybeHeld) {
  std::mt19937_64 rng(18);
  const size_t n = 200'000;
  const std::vector<ShortKey> keys = RandomKeys(rng, n);
  const std::vector<ShortKey> absent = RandomKeys(rng, n);
  struct Case {
    double bits_per_key;
    double at_most;
  };
  for (const Case c : {Case{16, 0.003}, Case{10, 0.02}, Case{6.7, 0.085}}) {
    IdKeyFilter f(static_cast<size_t>(c.bits_per_key * n / 8));
    for (const ShortKey& k : keys) f.Add(k);
    const double rate = FalsePositiveRate(f, absent);
    EXPECT_LE(rate, c.at_most) << c.bits_per_key << " bits a key";
    EXPECT_GT(rate, 0.0) << c.bits_per_key
                         << " bits a key: too good to be a filter";
  }
  IdKeyFilter empty(size_t{1} << 16);
  EXPECT_EQ(FalsePositiveRate(empty, absent), 0.0);
}

TEST(IdKeyFilter, SizeIsWholeBlocksAndZeroMeansNoFilter) {
  EXPECT_EQ(IdKeyFilter(100).bytes(), 96u);
  for (size_t bytes : {size_t{0}, size_t{31}}) {
    IdKeyFilter none(bytes);
    EXPECT_EQ(none.bytes(), 0u);
    std::mt19937_64 rng(19);
    for (const ShortKey& k : RandomKeys(rng, 100)) EXPECT_TRUE(none.MayHold(k));
  }
}

}  // namespace
}  // namespace caravan::store::internal
