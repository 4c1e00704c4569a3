#pragma once
// Signed records for the store tests (record forms, batch migrations): real
// signed bytes, alone or as one Merkle batch, and checks that a store gives
// them back unchanged.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/merkle.h"
#include "daemon/store/store.h"

namespace caravan::store::testing {

// A domain row for `value` whose signed bytes are a real signed record.
RecordRow Row(const crypto::IdentityKey& key, const std::string& value,
              uint64_t origin_seq);

// `n` rows signed as one Merkle batch (n == 1: a single signature). With
// `seed`, salts derived from it and the rows carry the seed and every leaf
// hash, as the submitter writes its own batches.
std::vector<RecordRow> SignedRows(
    const crypto::IdentityKey& key, const std::string& prefix, size_t n,
    uint64_t first_seq,
    const std::optional<crypto::MerkleSaltSeed>& seed = std::nullopt);

// The leaf hashes of `rows` (one batch, in leaf order), as a receiver of
// the whole batch or the submitter hands them to the store.
std::shared_ptr<const std::vector<crypto::MerkleHash>> LeafHashesOf(
    const std::vector<RecordRow>& rows);

// Inserts `rows` in one write; fails the test on error.
void InsertAll(Store& store, const std::vector<RecordRow>& rows);

// The first column of the first row of `sql` on the file (read-only), or
// -1 when there is no row; SQL that does not prepare fails the test.
int64_t Count(const std::string& path, const std::string& sql);

// The query plan of `sql` on `path`, one detail per line.
std::string QueryPlan(const std::string& path, const std::string& sql);

// The store at `path` holds `rows` indicator rows, and the key tables
// (daemon/store/index_levels.h) one id key and one value or address key
// for each, at one level or the other.
void ExpectEveryRowKeyedOnce(const std::string& path, int64_t rows);

// Every row's signed bytes, read back three ways, are what was stored.
void ExpectBytesBack(Store& store, const std::vector<RecordRow>& rows);

// The batch layout of migration 18 on the file at `path`: no `leaves`
// column; every complete batch's leaf hashes in batch_leaves, one row per
// 16 (the last shorter), 32 bytes per leaf; none for incomplete batches.
void ExpectLeafHashesInChunks(const std::string& path);

}  // namespace caravan::store::testing
