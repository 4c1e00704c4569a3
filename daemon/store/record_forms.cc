#include "daemon/store/record_forms.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <utility>

#include "crypto/merkle.h"
#include "daemon/store/index_levels.h"
#include "protocol/record_codec.h"

namespace caravan::store::internal {
namespace {

using Hash = std::array<uint8_t, 32>;

std::vector<uint8_t> Pack(const std::vector<uint8_t>& body) {
  kj::VectorOutputStream out(body.size() + 16);
  {
    capnp::_::PackedOutputStream packer(out);
    packer.write(body.data(), body.size());
  }
  auto bytes = out.getArray();
  return {bytes.begin(), bytes.end()};
}

// Packed bytes back to the canonical body. Bounded by the largest body a
// record may have, so a damaged row cannot make it allocate more.
Result<std::vector<uint8_t>> Unpack(const std::vector<uint8_t>& packed) {
  try {
    kj::ArrayInputStream in(kj::arrayPtr(packed.data(), packed.size()));
    capnp::_::PackedInputStream unpacker(in);
    // Unpacked into one buffer per thread, then copied out at its size: a
    // body-limit vector per record would be cleared (16 KiB) and, kept by
    // a caller, hold that much for a few hundred bytes.
    thread_local std::array<uint8_t, protocol::kMaxRecordBodyBytes + 8> buffer;
    size_t n = 0;
    // Reads a word at least each time, until the packed input is used up.
    while (in.tryGetReadBuffer().size() > 0 && n < buffer.size()) {
      n += unpacker.tryRead(buffer.data() + n, 8, buffer.size() - n);
    }
    if (n > protocol::kMaxRecordBodyBytes || n % 8 != 0) {
      return Corrupt("a stored record body does not unpack to a body");
    }
    return std::vector<uint8_t>(buffer.begin(), buffer.begin() + n);
  } catch (const kj::Exception& e) {
    return Corrupt(std::string("a stored record body is damaged: ") +
                   e.getDescription().cStr());
  }
}

// Where a canonical body keeps its origin key's 32 bytes (the data of
// RecordBody.origin); nullopt when the body does not read as one.
std::optional<size_t> OriginOffset(const std::vector<uint8_t>& body) {
  if (body.empty() || body.size() % 8 != 0) return std::nullopt;
  try {
    kj::ArrayPtr<const capnp::word> words(
        reinterpret_cast<const capnp::word*>(body.data()), body.size() / 8);
    kj::ArrayPtr<const capnp::word> segments[1] = {words};
    capnp::ReaderOptions options;
    options.traversalLimitInWords = protocol::kRecordTraversalLimitWords;
    options.nestingLimit = protocol::kRecordNestingLimit;
    capnp::SegmentArrayMessageReader message(kj::arrayPtr(segments, 1),
                                             options);
    auto origin =
        message.getRoot<protocol::wire::RecordBody>().getOrigin();
    const uint8_t* at = origin.begin();
    if (origin.size() != 32 || at < body.data() ||
        at + 32 > body.data() + body.size()) {
      return std::nullopt;
    }
    return static_cast<size_t>(at - body.data());
  } catch (const kj::Exception&) {
    return std::nullopt;
  }
}

// The stored (packed, origin zeroed) body back to the canonical one.
Result<std::vector<uint8_t>> Restore(const std::vector<uint8_t>& packed,
                                     const std::array<uint8_t, 32>& origin) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(std::vector<uint8_t> body, Unpack(packed));
  std::optional<size_t> at = OriginOffset(body);
  if (!at) return Corrupt("a stored record body has no origin field");
  std::copy(origin.begin(), origin.end(), body.begin() + *at);
  return body;
}

std::vector<uint8_t> PathBytes(const std::vector<Hash>& path) {
  std::vector<uint8_t> out;
  out.reserve(path.size() * 32);
  for (const Hash& h : path) out.insert(out.end(), h.begin(), h.end());
  return out;
}

Result<std::vector<Hash>> PathFromBytes(const std::vector<uint8_t>& bytes) {
  if (bytes.size() % 32 != 0 ||
      bytes.size() / 32 > protocol::kMaxBatchPathEntries) {
    return Corrupt("a stored inclusion path has " +
                   std::to_string(bytes.size()) + " bytes");
  }
  std::vector<Hash> path(bytes.size() / 32);
  for (size_t i = 0; i < path.size(); ++i) {
    std::memcpy(path[i].data(), bytes.data() + 32 * i, 32);
  }
  return path;
}

RecordForm RawForm(const std::vector<uint8_t>& signed_bytes) {
  RecordForm form;
  form.raw = signed_bytes;
  return form;
}

}  // namespace

Status StoreLeaves(Database& db, int64_t batch, const BatchTree& tree) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement add, db.Prepare("INSERT INTO batch_leaves (bid, chunk, hashes) "
                                "VALUES (?, ?, ?)"));
  const std::vector<std::vector<uint8_t>> chunks = tree.ChunkBytes();
  for (size_t c = 0; c < chunks.size(); ++c) {
    add.Reset();
    add.Bind(1, batch);
    add.Bind(2, static_cast<int64_t>(c));
    add.BindBlob(3, chunks[c]);
    CARAVAN_RETURN_IF_ERROR(add.Run());
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> LoadLeaves(Database& db, int64_t batch,
                                        uint64_t chunk) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare(
          "SELECT hashes FROM batch_leaves WHERE bid = ? AND chunk = ?"));
  st.Bind(1, batch);
  st.Bind(2, static_cast<int64_t>(chunk));
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return Corrupt("batch " + std::to_string(batch) + " has lost chunk " +
                   std::to_string(chunk) + " of its leaf hashes");
  }
  return st.Blob(0);
}

StoredForm ReadStoredForm(const Statement& st, int c) {
  StoredForm s;
  s.seq = st.Int(c);
  (void)st.FixedBlob(c + 11, s.origin);
  if (!st.IsNull(c + 6)) {
    s.form.raw = st.Blob(c + 6);
    return s;
  }
  s.form.body = st.Blob(c + 1);
  if (!st.IsNull(c + 2)) {
    std::array<uint8_t, 64> sig{};
    if (st.FixedBlob(c + 2, sig)) s.form.signature = sig;
  }
  if (!st.IsNull(c + 3)) {
    s.form.batch = st.Int(c + 3);
    s.form.leaf = static_cast<uint64_t>(st.Int(c + 4));
    (void)st.FixedBlob(c + 7, s.root_signature);
    s.tree_size = static_cast<uint64_t>(st.Int(c + 8));
    s.batch_complete = st.Int(c + 9) != 0;
    if (!st.IsNull(c + 5)) {
      s.salt_missing = !st.FixedBlob(c + 5, s.form.salt);
    } else {
      crypto::MerkleSaltSeed seed{};
      s.salt_missing = !st.FixedBlob(c + 10, seed);
      if (!s.salt_missing) {
        s.form.salt = crypto::MerkleSaltFromSeed(seed, s.form.leaf);
        s.form.salt_derived = true;
      }
    }
  }
  return s;
}

Result<std::vector<uint8_t>> BodyOf(const StoredForm& stored) {
  const RecordForm& form = stored.form;
  if (form.raw.empty()) return Restore(form.body, stored.origin);
  CARAVAN_STORE_ASSIGN_OR_RETURN(protocol::SignedRecord record,
                                 protocol::DecodeSignedRecord(form.raw));
  return std::move(record.body);
}

Result<std::optional<CurrentBody>> CurrentBodyOf(
    Database& db, const std::array<uint8_t, 32>& id) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare(std::string("SELECT ") + kFormColumns +
                 " FROM indicators i JOIN records r ON r.seq = i.record_seq "
                 "LEFT JOIN batches b ON b.bid = r.batch WHERE " +
                 IdIs("i.", "?1")));
  st.BindBlob(1, id);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<CurrentBody>();
  const StoredForm stored = ReadStoredForm(st, 0);
  CurrentBody current;
  current.record_seq = static_cast<uint64_t>(stored.seq);
  CARAVAN_STORE_ASSIGN_OR_RETURN(current.body, BodyOf(stored));
  return std::optional<CurrentBody>(std::move(current));
}

void BindRecordForm(Statement& st, int c, const RecordForm& form) {
  for (int i = c; i < c + 6; ++i) st.BindNull(i);
  if (!form.raw.empty()) {
    st.BindBlobBorrowed(c + 5, form.raw);
    return;
  }
  if (form.batch != 0) {
    st.Bind(c, form.batch);
    st.Bind(c + 1, static_cast<int64_t>(form.leaf));
    if (!form.salt_derived) st.BindBlobBorrowed(c + 3, form.salt);
  }
  if (form.signature) st.BindBlobBorrowed(c + 2, *form.signature);
  st.BindBlobBorrowed(c + 4, form.body);
}

namespace {

// The levels of `leaves` when they hold `p`'s leaf where its proof says.
std::shared_ptr<const crypto::MerkleLevels> LevelsIfTheyHold(
    const PreparedForm& p, std::shared_ptr<const crypto::MerkleLevels> levels) {
  if (!levels || levels->empty() || levels->front().size() != p.tree_size ||
      p.form.leaf >= levels->front().size() ||
      levels->front()[p.form.leaf] != p.leaf_hash ||
      crypto::MerklePathFromLevels(*levels, p.form.leaf) != p.path) {
    return nullptr;
  }
  return levels;
}

// PrepareForm from the signed record `signed_bytes` encodes. `signer_made`:
// the record's batch is the one `leaves` describe (its signer's own), so
// its leaf hash is taken from them, not hashed again. Whether the seed
// gives its salt is always checked (a seed that does not would make the
// stored record read back with another salt).
void PrepareDecoded(PreparedForm& p, protocol::SignedRecord decoded,
                    bool signer_made) {
  std::optional<size_t> origin_at = OriginOffset(decoded.body);
  if (!origin_at || !std::equal(p.origin.begin(), p.origin.end(),
                                decoded.body.begin() + *origin_at)) {
    p.form = RawForm(p.signed_bytes);
    return;
  }
  {
    std::vector<uint8_t> zeroed = decoded.body;
    std::fill_n(zeroed.begin() + *origin_at, 32, 0);
    p.form.body = Pack(zeroed);
  }
  auto restored = Restore(p.form.body, p.origin);
  if (!restored.ok() || *restored != decoded.body) {
    p.form = RawForm(p.signed_bytes);
    return;
  }
  if (const auto* sig =
          std::get_if<std::array<uint8_t, 64>>(&decoded.signature)) {
    p.form.signature = *sig;
    return;
  }
  auto& proof = std::get<protocol::BatchProofData>(decoded.signature);
  if (proof.tree_size > static_cast<uint64_t>(INT64_MAX)) {
    p.form = RawForm(p.signed_bytes);
    return;
  }
  p.batched = true;
  p.root_signature = proof.root_signature;
  p.tree_size = proof.tree_size;
  p.form.leaf = proof.leaf_index;
  p.form.salt = proof.salt;
  p.form.path = PathBytes(proof.path);
  p.path = std::move(proof.path);
  // Leaf hashes of another size than the proof's tree cannot complete it.
  p.levels_decided =
      !p.leaves || p.leaves->size() != p.tree_size || p.leaves->empty();
  // The caller's seed counts only if it gives this leaf's salt.
  p.seed_fits =
      p.salt_seed &&
      crypto::MerkleSaltFromSeed(*p.salt_seed, proof.leaf_index) == proof.salt;
  if (signer_made && p.seed_fits && !p.levels_decided &&
      proof.leaf_index < p.leaves->size()) {
    p.leaf_hash = (*p.leaves)[proof.leaf_index];
    return;
  }
  p.leaf_hash = crypto::MerkleLeafHash(proof.salt, decoded.body);
}

PreparedForm Inputs(std::vector<uint8_t> signed_bytes,
                    const std::array<uint8_t, 32>& origin,
                    const std::optional<crypto::MerkleSaltSeed>& salt_seed,
                    const BatchLeaves& leaves) {
  PreparedForm p;
  p.signed_bytes = std::move(signed_bytes);
  p.origin = origin;
  p.salt_seed = salt_seed;
  p.leaves = leaves;
  p.levels_decided = true;
  return p;
}

}  // namespace

PreparedForm PrepareForm(std::vector<uint8_t> signed_bytes,
                         const std::array<uint8_t, 32>& origin,
                         const std::optional<crypto::MerkleSaltSeed>& salt_seed,
                         const BatchLeaves& leaves) {
  PreparedForm p = Inputs(std::move(signed_bytes), origin, salt_seed, leaves);
  auto decoded = protocol::DecodeSignedRecord(p.signed_bytes);
  // Only a form that gives back exactly these bytes is used.
  if (!decoded.ok() ||
      protocol::EncodeSignedRecord(*decoded) != p.signed_bytes) {
    p.form = RawForm(p.signed_bytes);
    return p;
  }
  PrepareDecoded(p, std::move(*decoded), /*signer_made=*/false);
  return p;
}

PreparedForm PrepareSignerForm(
    protocol::SignedRecord record, std::vector<uint8_t> signed_bytes,
    const std::array<uint8_t, 32>& origin,
    const std::optional<crypto::MerkleSaltSeed>& salt_seed,
    const BatchLeaves& leaves) {
  PreparedForm p = Inputs(std::move(signed_bytes), origin, salt_seed, leaves);
  PrepareDecoded(p, std::move(record), /*signer_made=*/true);
  return p;
}

void DecideLevels(PreparedForm& prepared,
                  std::shared_ptr<const crypto::MerkleLevels> levels) {
  prepared.levels = LevelsIfTheyHold(prepared, std::move(levels));
  prepared.levels_decided = true;
}

bool PreparedFor(const PreparedForm& prepared,
                 const std::vector<uint8_t>& signed_bytes,
                 const std::array<uint8_t, 32>& origin,
                 const std::optional<crypto::MerkleSaltSeed>& salt_seed,
                 const BatchLeaves& leaves) {
  return prepared.leaves == leaves && prepared.origin == origin &&
         prepared.salt_seed == salt_seed &&
         prepared.signed_bytes == signed_bytes;
}

Result<RecordForm> RecordForms::Compact(
    const std::vector<uint8_t>& signed_bytes,
    const std::array<uint8_t, 32>& origin,
    const std::optional<std::array<uint8_t, 32>>& salt_seed,
    const BatchLeaves& leaves) {
  return Place(PrepareForm(signed_bytes, origin, salt_seed, leaves));
}

Result<std::optional<RecordForms::BatchRow>> RecordForms::FindBatch(
    const std::array<uint8_t, 64>& root_signature) {
  if (last_batch_ && last_batch_->root_signature == root_signature) {
    return last_batch_;
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement find, db_.Prepare("SELECT bid, tree_size, complete, salt_seed "
                                  "FROM batches WHERE root_signature = ?"));
  find.BindBlob(1, root_signature);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool found, find.Step());
  if (!found) return std::optional<BatchRow>();
  BatchRow row;
  row.bid = find.Int(0);
  row.root_signature = root_signature;
  row.tree_size = static_cast<uint64_t>(find.Int(1));
  row.complete = find.Int(2) != 0;
  crypto::MerkleSaltSeed seed{};
  if (find.FixedBlob(3, seed)) row.salt_seed = seed;
  last_batch_ = row;
  return std::optional<BatchRow>(row);
}

void RecordForms::Forget() {
  last_batch_.reset();
  tree_ = TreeCache{};
}

Result<RecordForm> RecordForms::Place(const PreparedForm& p) {
  if (!p.batched) return p.form;
  RecordForm form = p.form;
  CARAVAN_STORE_ASSIGN_OR_RETURN(std::optional<BatchRow> batch,
                                 FindBatch(p.root_signature));
  if (!batch) {
    // A new batch whose every leaf hash the caller gives (and that places
    // this record where its proof says) is complete from the start: no
    // path is kept for any of its records.
    std::shared_ptr<const crypto::MerkleLevels> levels = p.levels;
    if (!p.levels_decided) {
      levels = LevelsIfTheyHold(p, std::make_shared<crypto::MerkleLevels>(
                                       crypto::MerkleTreeLevels(*p.leaves)));
    }
    std::optional<BatchTree> whole;
    if (levels) whole = BatchTree::FromLevels(*levels);
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement add,
        db_.Prepare("INSERT INTO batches (root_signature, tree_size, "
                    "salt_seed, complete, top) VALUES (?, ?, ?, ?, ?)"));
    add.BindBlob(1, p.root_signature);
    add.Bind(2, static_cast<int64_t>(p.tree_size));
    if (p.seed_fits) {
      add.BindBlob(3, *p.salt_seed);
    } else {
      add.BindNull(3);
    }
    add.Bind(4, whole ? 1 : 0);
    if (whole) {
      add.BindBlob(5, whole->TopBytes());
    } else {
      add.BindNull(5);
    }
    CARAVAN_RETURN_IF_ERROR(add.Run());
    batch = BatchRow{sqlite3_last_insert_rowid(db_.handle()), p.root_signature,
                     p.tree_size, whole.has_value(),
                     p.seed_fits ? p.salt_seed : std::nullopt};
    last_batch_ = batch;
    if (whole) {
      CARAVAN_RETURN_IF_ERROR(StoreLeaves(db_, batch->bid, *whole));
      tree_.tree = std::move(whole);
      tree_.batch = batch->bid;
      tree_.root_signature = p.root_signature;
      tree_.levels = levels;
    }
  } else {
    if (batch->tree_size != p.tree_size) {
      return RawForm(p.signed_bytes);  // not the batch it claims to be in
    }
    if (batch->complete) {
      // The batch is complete: this leaf (a duplicate's revision, a
      // second copy) must be the one its leaf hashes hold, with the path
      // they give; else it is kept as it came. Checked already when this
      // write made the batch's tree from the levels PrepareForm checked
      // the record against.
      const bool checked = p.levels && tree_.levels == p.levels &&
                           tree_.batch == batch->bid &&
                           tree_.root_signature == p.root_signature;
      if (!checked) {
        CARAVAN_STORE_ASSIGN_OR_RETURN(
            BatchTree * tree, Tree(batch->bid, p.tree_size, p.root_signature));
        if (p.form.leaf >= tree->size()) return RawForm(p.signed_bytes);
        CARAVAN_STORE_ASSIGN_OR_RETURN(auto leaf, tree->Leaf(p.form.leaf));
        CARAVAN_STORE_ASSIGN_OR_RETURN(auto path, tree->Path(p.form.leaf));
        if (leaf != p.leaf_hash || path != p.path) {
          return RawForm(p.signed_bytes);
        }
      }
    }
  }
  form.batch = batch->bid;
  form.batch_complete = batch->complete;
  // The seed the caller gave was checked against this leaf already.
  const auto& batch_seed = batch->salt_seed;
  form.salt_derived =
      batch_seed && (p.salt_seed == batch_seed
                         ? p.seed_fits
                         : crypto::MerkleSaltFromSeed(
                               *batch_seed, p.form.leaf) == p.form.salt);
  return form;
}

Status RecordForms::Inserted(int64_t seq, const RecordForm& form) {
  if (form.batch == 0 || !form.raw.empty() || form.batch_complete) {
    return Status::Ok();
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement held,
      db_.Prepare("UPDATE batches SET held = held + 1 WHERE bid = ? "
                  "AND complete = 0"));
  held.Bind(1, form.batch);
  CARAVAN_RETURN_IF_ERROR(held.Run());
  if (sqlite3_changes(db_.handle()) == 0) return Status::Ok();  // complete
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement path,
      db_.Prepare("INSERT INTO record_paths (seq, path) VALUES (?, ?)"));
  path.Bind(1, seq);
  path.BindBlob(2, form.path);
  CARAVAN_RETURN_IF_ERROR(path.Run());
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement size,
      db_.Prepare("SELECT held >= tree_size FROM batches WHERE bid = ?"));
  size.Bind(1, form.batch);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, size.Step());
  if (!row || size.Int(0) == 0) return Status::Ok();
  return TryComplete(form.batch);
}

// Every leaf of the batch is held (as far as the count says): when the
// stored leaves are exactly indexes 0..n-1 and the tree they make gives
// every stored path, keep the leaf hashes and drop the paths. Anything
// else leaves the batch as it is (each record keeps its path).
Status RecordForms::TryComplete(int64_t batch) {
  // The batch row may change below, and a failure part-way must not leave
  // a remembered copy that disagrees with it: read it again next time.
  last_batch_.reset();
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement info,
      db_.Prepare("SELECT tree_size, root_signature, salt_seed FROM batches "
                  "WHERE bid = ?"));
  info.Bind(1, batch);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool found, info.Step());
  std::array<uint8_t, 64> root_signature{};
  if (!found || !info.FixedBlob(1, root_signature)) return Status::Ok();
  const uint64_t tree_size = static_cast<uint64_t>(info.Int(0));
  crypto::MerkleSaltSeed seed{};
  const bool has_seed = info.FixedBlob(2, seed);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("SELECT r.leaf, r.salt, r.body, p.path, i.origin "
                  "FROM records r JOIN indicators i ON i.rid = r.rid "
                  "LEFT JOIN record_paths p ON p.seq = r.seq "
                  "WHERE r.batch = ? AND r.raw IS NULL ORDER BY r.leaf"));
  st.Bind(1, batch);
  std::vector<Hash> leaves;
  std::vector<std::vector<uint8_t>> paths;
  leaves.reserve(tree_size);
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Hash salt{};
    const uint64_t leaf = static_cast<uint64_t>(st.Int(0));
    if (st.IsNull(1) && has_seed) {
      salt = crypto::MerkleSaltFromSeed(seed, leaf);
    } else if (!st.FixedBlob(1, salt)) {
      return Status::Ok();  // no salt to hash the leaf with
    }
    if (leaf != leaves.size() || st.IsNull(3)) {
      return Status::Ok();  // a gap, a second copy of a leaf, or no path
    }
    std::array<uint8_t, 32> origin{};
    if (!st.FixedBlob(4, origin)) return Status::Ok();
    CARAVAN_STORE_ASSIGN_OR_RETURN(std::vector<uint8_t> body,
                                   Restore(st.Blob(2), origin));
    leaves.push_back(crypto::MerkleLeafHash(salt, body));
    paths.push_back(st.Blob(3));
  }
  if (leaves.size() != tree_size || leaves.empty()) return Status::Ok();
  const crypto::MerkleLevels levels = crypto::MerkleTreeLevels(leaves);
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (PathBytes(crypto::MerklePathFromLevels(levels, i)) != paths[i]) {
      return Status::Ok();
    }
  }
  BatchTree tree = BatchTree::FromLevels(levels);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement set,
      db_.Prepare("UPDATE batches SET complete = 1, top = ? WHERE bid = ?"));
  set.BindBlob(1, tree.TopBytes());
  set.Bind(2, batch);
  CARAVAN_RETURN_IF_ERROR(set.Run());
  CARAVAN_RETURN_IF_ERROR(StoreLeaves(db_, batch, tree));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement drop,
      db_.Prepare("DELETE FROM record_paths WHERE seq IN "
                  "(SELECT seq FROM records WHERE batch = ?)"));
  drop.Bind(1, batch);
  CARAVAN_RETURN_IF_ERROR(drop.Run());
  tree_.batch = batch;
  tree_.root_signature = root_signature;
  tree_.tree = std::move(tree);
  tree_.levels = nullptr;
  return Status::Ok();
}

Result<BatchTree*> RecordForms::Tree(
    int64_t batch, uint64_t tree_size,
    const std::array<uint8_t, 64>& root_signature) {
  if (tree_.tree && tree_.batch == batch &&
      tree_.root_signature == root_signature) {
    return &*tree_.tree;
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("SELECT top FROM batches WHERE bid = ? AND complete = 1"));
  st.Bind(1, batch);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.IsNull(0)) {
    return Corrupt("batch " + std::to_string(batch) + " has no leaf hashes");
  }
  // A record read alone needs its leaf's chunk only: one row of
  // batch_leaves, read within this call's snapshot.
  Database* db = &db_;
  std::optional<BatchTree> tree = BatchTree::FromStored(
      tree_size, st.Blob(0),
      [db, batch](uint64_t chunk) { return LoadLeaves(*db, batch, chunk); });
  if (!tree) {
    return Corrupt("batch " + std::to_string(batch) +
                   " holds upper tree levels of the wrong size for " +
                   std::to_string(tree_size) + " leaves");
  }
  tree_.tree = std::move(tree);
  tree_.batch = batch;
  tree_.root_signature = root_signature;
  tree_.levels = nullptr;
  return &*tree_.tree;
}

Result<std::vector<uint8_t>> RecordForms::Expand(const StoredForm& stored) {
  if (!stored.form.raw.empty()) return stored.form.raw;
  CARAVAN_STORE_ASSIGN_OR_RETURN(protocol::SignedRecord record,
                                 ExpandRecord(stored));
  return protocol::EncodeSignedRecord(record);
}

Result<protocol::SignedRecord> RecordForms::ExpandRecord(
    const StoredForm& stored) {
  const RecordForm& form = stored.form;
  if (!form.raw.empty()) {
    return Internal("record " + std::to_string(stored.seq) +
                    " is kept raw: decode its bytes");
  }
  protocol::SignedRecord record;
  CARAVAN_STORE_ASSIGN_OR_RETURN(record.body, Restore(form.body, stored.origin));
  if (form.signature) {
    record.signature = *form.signature;
    return record;
  }
  if (form.batch == 0) {
    return Corrupt("record " + std::to_string(stored.seq) +
                   " has neither a signature nor a batch");
  }
  if (stored.salt_missing) {
    return Corrupt("record " + std::to_string(stored.seq) +
                   " has no salt and its batch no salt seed");
  }
  protocol::BatchProofData proof;
  proof.salt = form.salt;
  proof.leaf_index = form.leaf;
  proof.tree_size = stored.tree_size;
  proof.root_signature = stored.root_signature;
  if (stored.batch_complete) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(BatchTree * tree,
                                   Tree(form.batch, stored.tree_size,
                                        stored.root_signature));
    if (form.leaf >= tree->size()) {
      return Corrupt("record " + std::to_string(stored.seq) +
                     " names a leaf outside its batch");
    }
    CARAVAN_STORE_ASSIGN_OR_RETURN(proof.path, tree->Path(form.leaf));
  } else {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT path FROM record_paths WHERE seq = ?"));
    st.Bind(1, stored.seq);
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return Corrupt("record " + std::to_string(stored.seq) +
                     " has lost its inclusion path");
    }
    CARAVAN_STORE_ASSIGN_OR_RETURN(proof.path, PathFromBytes(st.Blob(0)));
  }
  record.signature = std::move(proof);
  return record;
}

}  // namespace caravan::store::internal
