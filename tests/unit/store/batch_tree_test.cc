// The stored form of a complete batch's tree (daemon/store/batch_tree.h)
// gives the RFC 9162 path of every leaf, whether rebuilt from every level
// or from the stored leaf hashes and upper levels; damaged sizes are
// refused.

#include "daemon/store/batch_tree.h"

#include <gtest/gtest.h>

namespace caravan::store::internal {
namespace {

std::vector<crypto::MerkleHash> Leaves(size_t n) {
  std::vector<crypto::MerkleHash> leaves(n);
  for (size_t i = 0; i < n; ++i) {
    leaves[i].fill(static_cast<uint8_t>(i * 13 + 7));
    leaves[i][0] = static_cast<uint8_t>(i >> 8);
  }
  return leaves;
}

TEST(BatchTree, EveryPathIsTheRfcPathForTreeSizesAcrossChunkEdges) {
  for (size_t n : {1, 2, 3, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70, 127,
                   128, 129, 200, 300, 4097}) {
    const auto leaves = Leaves(n);
    std::vector<std::vector<crypto::MerkleHash>> rfc;
    crypto::MerkleTreeHash(leaves, &rfc);
    BatchTree built = BatchTree::FromLevels(crypto::MerkleTreeLevels(leaves));
    const std::vector<std::vector<uint8_t>> chunks = built.ChunkBytes();
    ASSERT_EQ(chunks.size(), (n + 15) / 16) << n;
    size_t loaded = 0;
    auto stored = BatchTree::FromStored(n, built.TopBytes(), [&](uint64_t chunk) {
      loaded += chunks.at(chunk).size() / 32;
      return Result<std::vector<uint8_t>>(chunks.at(chunk));
    });
    ASSERT_TRUE(stored.has_value()) << n;
    EXPECT_EQ(built.TopBytes().empty(), n <= 8) << n;  // 4 levels or fewer
    // Random order too: chunks are computed on demand.
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (k * 7919) % n;
      ASSERT_EQ(*stored->Path(i), rfc[i]) << "size " << n << " leaf " << i;
      ASSERT_EQ(*built.Path(i), rfc[i]) << "size " << n << " leaf " << i;
      ASSERT_EQ(*stored->Leaf(i), leaves[i]);
    }
    // Each chunk was read once, whatever the order of the reads.
    EXPECT_EQ(loaded, n) << n;
  }
}

TEST(BatchTree, StoredColumnsOfTheWrongSizeAreRefused) {
  const auto leaves = Leaves(100);
  BatchTree tree = BatchTree::FromLevels(crypto::MerkleTreeLevels(leaves));
  auto top = tree.TopBytes();
  auto none = [](uint64_t) {
    return Result<std::vector<uint8_t>>(std::vector<uint8_t>(7));
  };
  EXPECT_FALSE(BatchTree::FromStored(1000, top, none).has_value());
  EXPECT_FALSE(BatchTree::FromStored(0, {}, none).has_value());
  auto short_top = top;
  short_top.pop_back();
  EXPECT_FALSE(BatchTree::FromStored(100, short_top, none).has_value());
  // A loader giving the wrong number of bytes is damage, not a path.
  auto damaged = BatchTree::FromStored(100, top, none);
  ASSERT_TRUE(damaged.has_value());
  EXPECT_EQ(damaged->Path(3).status().code(), StatusCode::kCorrupt);
}

}  // namespace
}  // namespace caravan::store::internal
