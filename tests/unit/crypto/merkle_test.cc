#include "crypto/merkle.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

#include "crypto/key_text.h"
#include "crypto/signing.h"

namespace caravan::crypto {
namespace {

std::vector<std::vector<uint8_t>> MakeLeaves(size_t n) {
  std::vector<std::vector<uint8_t>> leaves;
  for (size_t i = 0; i < n; ++i) {
    std::string s = "record #" + std::to_string(i);
    leaves.emplace_back(s.begin(), s.end());
  }
  return leaves;
}

std::vector<std::span<const uint8_t>> Spans(const std::vector<std::vector<uint8_t>>& v) {
  return {v.begin(), v.end()};
}

// RFC 6962 / RFC 9162 reference data (the certificate-transparency test
// vectors): unsalted leaves, leaf hash = SHA-256(0x00 || data).
TEST(MerkleTest, Rfc9162ReferenceRoots) {
  const char* leaves_hex[] = {"",         "00",       "10",
                              "2021",     "3031",     "40414243",
                              "5051525354555657",
                              "606162636465666768696a6b6c6d6e6f"};
  const char* roots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  std::vector<MerkleHash> hashes;
  for (const char* h : leaves_hex) {
    auto data = FromHex(h);
    ASSERT_TRUE(data.has_value());
    std::vector<uint8_t> buf(1 + data->size());  // 0x00 || leaf
    std::copy(data->begin(), data->end(), buf.begin() + 1);
    MerkleHash lh{};
    crypto_hash_sha256(lh.data(), buf.data(), buf.size());
    hashes.push_back(lh);
  }
  for (size_t n = 1; n <= hashes.size(); ++n) {
    std::vector<std::vector<MerkleHash>> paths;
    MerkleHash root = MerkleTreeHash(std::span(hashes).first(n), &paths);
    EXPECT_EQ(ToHex(root), roots[n - 1]) << "size " << n;
    for (size_t m = 0; m < n; ++m) {
      auto r = RootFromInclusionPath(hashes[m], m, n, paths[m]);
      ASSERT_TRUE(r.has_value()) << n << "/" << m;
      EXPECT_EQ(*r, root);
    }
  }
}

TEST(MerkleTest, SaltedLeafHashLayout) {
  std::array<uint8_t, 32> salt{};
  salt.fill(0x5a);
  std::vector<uint8_t> data{1, 2, 3};
  // Built with resize+copy: g++ 12 at -O2 warns falsely (-Warray-bounds) on
  // inserting into a one-element vector.
  std::vector<uint8_t> buf(1 + salt.size() + data.size());
  buf[0] = 0x00;
  std::copy(salt.begin(), salt.end(), buf.begin() + 1);
  std::copy(data.begin(), data.end(), buf.begin() + 1 + salt.size());
  MerkleHash expect{};
  crypto_hash_sha256(expect.data(), buf.data(), buf.size());
  EXPECT_EQ(MerkleLeafHash(salt, data), expect);
}

TEST(MerkleTest, EveryLeafOfEveryTreeSizeUpTo70Verifies) {
  auto key = IdentityKey::Generate();
  for (size_t n = 1; n <= 70; ++n) {
    auto leaves = MakeLeaves(n);
    SignedBatch batch = SignBatch(*key, Spans(leaves));
    ASSERT_EQ(batch.proofs.size(), n);
    std::optional<MerkleHash> root;
    for (size_t i = 0; i < n; ++i) {
      const MerkleProof& p = batch.proofs[i];
      EXPECT_EQ(p.leaf_index, i);
      EXPECT_EQ(p.tree_size, n);
      EXPECT_TRUE(VerifyBatchProof(key->public_key(), leaves[i], p, batch.root_signature))
          << "size " << n << " leaf " << i;
      auto r = MerkleRootFromProof(leaves[i], p);
      ASSERT_TRUE(r.has_value());
      if (root) {
        EXPECT_EQ(*r, *root);  // one root per batch
      }
      root = r;
    }
    EXPECT_TRUE(VerifyBatchRoot(key->public_key(), n, *root, batch.root_signature));
  }
}

TEST(MerkleTest, SaltsAreFreshPerLeaf) {
  auto key = IdentityKey::Generate();
  auto leaves = MakeLeaves(2);
  leaves[1] = leaves[0];  // identical records still hash differently
  SignedBatch batch = SignBatch(*key, Spans(leaves));
  EXPECT_NE(batch.proofs[0].salt, batch.proofs[1].salt);
  EXPECT_NE(batch.proofs[0].path[0], MerkleLeafHash(batch.proofs[0].salt, leaves[0]));
}

TEST(MerkleTest, TamperedProofsFail) {
  auto key = IdentityKey::Generate();
  for (size_t n : {2u, 3u, 7u, 8u, 13u, 64u, 70u}) {
    auto leaves = MakeLeaves(n);
    SignedBatch batch = SignBatch(*key, Spans(leaves));
    const auto& pk = key->public_key();
    const auto& sig = batch.root_signature;
    for (size_t i = 0; i < n; ++i) {
      SCOPED_TRACE("size " + std::to_string(n) + " leaf " + std::to_string(i));
      const MerkleProof& good = batch.proofs[i];
      ASSERT_TRUE(VerifyBatchProof(pk, leaves[i], good, sig));
      for (size_t j = 0; j < good.path.size(); ++j) {
        MerkleProof p = good;
        p.path[j][j % 32] ^= 0x01;
        EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], p, sig)) << "path byte " << j;
      }
      MerkleProof p = good;
      p.leaf_index = (i + 1) % n;
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], p, sig)) << "wrong index";
      p = good;
      p.leaf_index = n;
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], p, sig)) << "index == size";
      p = good;
      p.tree_size = n + 1;
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], p, sig)) << "bigger tree";
      p = good;
      p.tree_size = n - 1;
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], p, sig)) << "smaller tree";
      p = good;
      p.salt[0] ^= 1;
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], p, sig)) << "salt";
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[(i + 1) % n], good, sig)) << "other leaf";
      p = good;
      p.path.pop_back();
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], p, sig)) << "truncated path";
      p = good;
      p.path.push_back(good.path.back());
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], p, sig)) << "extended path";
      auto other = IdentityKey::Generate();
      EXPECT_FALSE(VerifyBatchProof(other->public_key(), leaves[i], good, sig));
      auto bad_sig = sig;
      bad_sig[0] ^= 1;
      EXPECT_FALSE(VerifyBatchProof(pk, leaves[i], good, bad_sig));
    }
  }
}

TEST(MerkleTest, SingleLeafHasEmptyPathAndRejectsExtras) {
  auto key = IdentityKey::Generate();
  auto leaves = MakeLeaves(1);
  SignedBatch batch = SignBatch(*key, Spans(leaves));
  EXPECT_TRUE(batch.proofs[0].path.empty());
  EXPECT_TRUE(VerifyBatchProof(key->public_key(), leaves[0], batch.proofs[0],
                               batch.root_signature));
  MerkleProof p = batch.proofs[0];
  p.path.push_back(MerkleHash{});
  EXPECT_FALSE(MerkleRootFromProof(leaves[0], p).has_value());
}

TEST(MerkleTest, HostileProofShapesAreBounded) {
  MerkleProof p;
  p.tree_size = 0;
  EXPECT_FALSE(MerkleRootFromProof({}, p).has_value());  // index >= size
  p.tree_size = UINT64_MAX;
  p.leaf_index = UINT64_MAX - 1;
  p.path.assign(kMaxMerklePathLength + 1, MerkleHash{});
  EXPECT_FALSE(MerkleRootFromProof({}, p).has_value());  // too long
  p.path.assign(kMaxMerklePathLength, MerkleHash{});
  p.leaf_index = 0;
  // A full-length path for the leftmost leaf of the largest tree is
  // structurally valid.
  EXPECT_TRUE(MerkleRootFromProof({}, p).has_value());
}

TEST(MerkleTest, RootSignatureIsBatchDomainOverSizeAndRoot) {
  auto key = IdentityKey::Generate();
  auto leaves = MakeLeaves(5);
  SignedBatch batch = SignBatch(*key, Spans(leaves));
  auto root = MerkleRootFromProof(leaves[0], batch.proofs[0]);
  ASSERT_TRUE(root.has_value());
  auto msg = BatchRootMessage(5, *root);
  EXPECT_EQ(msg[7], 5);
  EXPECT_EQ(msg[0], 0);
  EXPECT_TRUE(Verify(key->public_key(), SignDomain::kBatchRoot, msg, batch.root_signature));
  // The root signature is not a record signature.
  EXPECT_FALSE(Verify(key->public_key(), SignDomain::kRecord, msg, batch.root_signature));
}

// Seeded batches (whole batches on the wire): the receiver rebuilds the
// tree from the seed and the leaves; every proof is the same a random-salt
// batch would give, so the record is stored and forwarded as before.
TEST(MerkleTest, SeededBatchRebuildsToTheSignedRootWithEveryProof) {
  auto key = IdentityKey::Generate();
  MerkleSaltSeed seed{};
  randombytes_buf(seed.data(), seed.size());
  for (size_t n : {1u, 2u, 3u, 7u, 64u, 1000u}) {
    auto leaves = MakeLeaves(n);
    SignedBatch signed_batch = SignSeededBatch(*key, Spans(leaves), seed);
    MerkleBatchTree rebuilt = BuildSeededBatch(Spans(leaves), seed);
    ASSERT_EQ(rebuilt.proofs.size(), n);
    ASSERT_EQ(rebuilt.leaf_hashes.size(), n);
    EXPECT_EQ(signed_batch.leaf_hashes, rebuilt.leaf_hashes);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(rebuilt.leaf_hashes[i],
                MerkleLeafHash(rebuilt.proofs[i].salt, leaves[i]));
    }
    EXPECT_EQ(MerkleTreeHash(rebuilt.leaf_hashes), rebuilt.root);
    EXPECT_TRUE(VerifyBatchRoot(key->public_key(), n, rebuilt.root,
                                signed_batch.root_signature));
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(rebuilt.proofs[i].salt, MerkleSaltFromSeed(seed, i));
      EXPECT_EQ(rebuilt.proofs[i].path, signed_batch.proofs[i].path);
      EXPECT_TRUE(VerifyBatchProof(key->public_key(), leaves[i],
                                   rebuilt.proofs[i],
                                   signed_batch.root_signature))
          << "size " << n << " leaf " << i;
    }
  }
}

TEST(MerkleTest, SeededSaltsDifferPerLeafAndPerSeed) {
  MerkleSaltSeed a{}, b{};
  b[0] = 1;
  EXPECT_NE(MerkleSaltFromSeed(a, 0), MerkleSaltFromSeed(a, 1));
  EXPECT_NE(MerkleSaltFromSeed(a, 0), MerkleSaltFromSeed(b, 0));
  EXPECT_EQ(MerkleSaltFromSeed(a, 5), MerkleSaltFromSeed(a, 5));
  // Pinned (Python: hashlib.blake2b(b"caravan/1 merkle salt\0" +
  // bytes(8), key=bytes(32), digest_size=32)): a change of the derivation
  // would break every peer's rebuild.
  EXPECT_EQ(ToHex(MerkleSaltFromSeed(a, 0)),
            "03e85cf0e1af364973e1326e90e97bae4eaf58775c8b9268257910c9cf954ad5");
}

TEST(MerkleTest, SeededBatchFailsForAnyChangedLeafSeedOrOrder) {
  auto key = IdentityKey::Generate();
  MerkleSaltSeed seed{};
  randombytes_buf(seed.data(), seed.size());
  auto leaves = MakeLeaves(5);
  SignedBatch batch = SignSeededBatch(*key, Spans(leaves), seed);
  auto verifies = [&](const std::vector<std::vector<uint8_t>>& l,
                      const MerkleSaltSeed& s) {
    return VerifyBatchRoot(key->public_key(), l.size(),
                           BuildSeededBatch(Spans(l), s).root,
                           batch.root_signature);
  };
  EXPECT_TRUE(verifies(leaves, seed));
  auto changed = leaves;
  changed[3].push_back('x');
  EXPECT_FALSE(verifies(changed, seed));
  auto swapped = leaves;
  std::swap(swapped[0], swapped[1]);
  EXPECT_FALSE(verifies(swapped, seed));
  auto fewer = leaves;
  fewer.pop_back();
  EXPECT_FALSE(verifies(fewer, seed));
  MerkleSaltSeed other = seed;
  other[31] ^= 1;
  EXPECT_FALSE(verifies(leaves, other));
}

}  // namespace
}  // namespace caravan::crypto

namespace caravan::crypto {
namespace {

// The store keeps a complete batch's leaf hashes and rebuilds paths from
// the levels (daemon/store/record_forms.h): they must be the RFC paths.
TEST(MerkleTest, PathsFromLevelsEqualTheRfcPathsForEveryTreeSizeUpTo70) {
  for (size_t n = 1; n <= 70; ++n) {
    std::vector<MerkleHash> leaves(n);
    for (size_t i = 0; i < n; ++i) {
      leaves[i].fill(static_cast<uint8_t>(i * 7 + n));
    }
    std::vector<std::vector<MerkleHash>> rfc_paths;
    const MerkleHash root = MerkleTreeHash(leaves, &rfc_paths);
    const MerkleLevels levels = MerkleTreeLevels(leaves);
    ASSERT_EQ(levels.back().size(), 1u);
    EXPECT_EQ(levels.back()[0], root) << "tree size " << n;
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(MerklePathFromLevels(levels, i), rfc_paths[i])
          << "tree size " << n << " leaf " << i;
    }
  }
}

}  // namespace
}  // namespace caravan::crypto
