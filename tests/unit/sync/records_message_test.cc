// The Records message both ways (daemon/sync/records_message.h): a page
// whose own records are one batch goes whole (leaves, seed, one signature)
// to a peer that accepts it and record by record otherwise; the receiver
// rebuilds the batch, checks its one signature, and refuses every leaf of a
// batch that does not verify, names another origin or is malformed.

#include "daemon/sync/records_message.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdlib>
#include <functional>
#include <random>

#include "crypto/identity_key.h"
#include "crypto/signing.h"
#include "daemon/sync/record_signing.h"
#include "protocol/record_codec.h"

namespace caravan::daemon::sync {
namespace {

std::vector<uint8_t> Body(const crypto::IdentityKey& origin, uint64_t n) {
  protocol::RecordBody body;
  body.origin = origin.public_key();
  body.origin_seq = n;
  body.created = 1'700'000'000;
  body.indicator.type = protocol::IndicatorType::kIpv4;
  body.indicator.value = "192.0.2." + std::to_string(n % 250);
  return protocol::EncodeRecordBody(body);
}

// A page of `n` records of `origin` (seqs 10, 20, ...) signed as one
// seeded batch, plus one relayed record (`relay`, single-signed by
// another origin) between them at seq 15.
OutboundPage MakePage(const crypto::IdentityKey& origin,
                      const crypto::IdentityKey& relay, size_t n) {
  OutboundPage page;
  PageBatch batch;
  batch.origin = origin.public_key();
  randombytes_buf(batch.salt_seed.data(), batch.salt_seed.size());
  std::vector<std::vector<uint8_t>> bodies;
  for (size_t i = 0; i < n; ++i) bodies.push_back(Body(origin, i + 1));
  std::vector<std::span<const uint8_t>> leaves(bodies.begin(), bodies.end());
  auto signed_batch =
      crypto::SignSeededBatch(origin, leaves, batch.salt_seed);
  batch.root_signature = signed_batch.root_signature;
  for (size_t i = 0; i < n; ++i) {
    protocol::BatchProofData proof;
    proof.salt = signed_batch.proofs[i].salt;
    proof.leaf_index = i;
    proof.tree_size = n;
    proof.path = signed_batch.proofs[i].path;
    proof.root_signature = signed_batch.root_signature;
    batch.members.push_back(page.sends.size());
    page.sends.emplace_back(10 * (i + 1),
                            protocol::SignedRecord{bodies[i], proof});
    if (i == 0) {
      auto relayed = Body(relay, 99);
      auto sig = crypto::Sign(relay, crypto::SignDomain::kRecord, relayed);
      page.sends.emplace_back(15, protocol::SignedRecord{relayed, sig});
    }
  }
  page.batches.push_back(std::move(batch));
  return page;
}

class RecordsMessageTest : public ::testing::Test {
 protected:
  // Writes `page` and reads it back as the receiver does.
  Result<ReceivedRecords> RoundTrip(const OutboundPage& page, bool whole) {
    WriteRecordsMessage(page, 500, whole,
                        message_->initRoot<protocol::wire::Records>());
    return Read();
  }
  Result<ReceivedRecords> Read() {
    words_ = capnp::messageToFlatArray(*message_);
    reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words_);
    return ReadRecordsMessage(reader_->getRoot<protocol::wire::Records>());
  }
  CheckedMessage Check(std::vector<InboundEntry> entries) {
    InboundContext ctx;
    ctx.roster = &roster_;
    ctx.root_cache = &cache_;
    return CheckInbound(ctx, nullptr, entries, 500);
  }

  std::unique_ptr<crypto::IdentityKey> origin_ =
      crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> relay_ =
      crypto::IdentityKey::Generate();
  RosterIndex roster_{{{"CERT-O", "KZ", origin_->public_key(), {}, ""},
                       {"CERT-R", "UZ", relay_->public_key(), {}, ""}}};
  BatchRootCache cache_;
  // Behind pointers: their destructors may throw, which a test fixture's
  // destructor must not declare.
  std::unique_ptr<capnp::MallocMessageBuilder> message_ =
      std::make_unique<capnp::MallocMessageBuilder>();
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

TEST_F(RecordsMessageTest, WholeBatchGoesAsLeavesAndEveryRecordVerifies) {
  auto page = MakePage(*origin_, *relay_, 7);
  auto received = RoundTrip(page, /*whole=*/true);
  ASSERT_TRUE(received.ok()) << received.status().ToString();
  EXPECT_EQ(received->up_to_seq, 500u);
  ASSERT_EQ(received->batches.size(), 1u);
  EXPECT_EQ(received->batches[0].leaves.size(), 7u);
  ASSERT_EQ(received->entries.size(), 1u);  // the relayed record alone
  auto entries = InboundInLogOrder(std::move(*received), roster_);
  ASSERT_EQ(entries.size(), 8u);
  std::vector<uint64_t> seqs;
  for (const auto& e : entries) seqs.push_back(e.sender_seq);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{10, 15, 20, 30, 40, 50, 60, 70}));
  for (const auto& e : entries) {
    // Each leaf carries a proof that verifies on its own, as if it had
    // been sent with it: that is what the receiver stores and forwards.
    const auto& key = e.sender_seq == 15 ? relay_->public_key()
                                         : origin_->public_key();
    EXPECT_TRUE(VerifySignedRecord(e.record, key)) << e.sender_seq;
    EXPECT_EQ(e.batch.has_value(), e.sender_seq != 15);
  }
  auto checked = Check(std::move(entries));
  EXPECT_EQ(checked.checked.size(), 8u);
  EXPECT_TRUE(checked.rejected.empty());
  // A whole batch's leaves carry its seed and every leaf hash to the store
  // (which then keeps the batch's tree at once, no path per record); the
  // hash at each leaf's index is that leaf's.
  for (const auto& c : checked.checked) {
    auto record = protocol::DecodeSignedRecord(c.signed_bytes);
    ASSERT_TRUE(record.ok());
    const auto* proof = std::get_if<protocol::BatchProofData>(&record->signature);
    if (c.body.origin != origin_->public_key()) {
      EXPECT_FALSE(c.batch_leaves) << "the relayed entry is no whole batch";
      continue;
    }
    ASSERT_TRUE(proof && c.batch_leaves && c.salt_seed);
    ASSERT_EQ(c.batch_leaves->size(), proof->tree_size);
    EXPECT_EQ((*c.batch_leaves)[proof->leaf_index],
              crypto::MerkleLeafHash(proof->salt, record->body));
    EXPECT_EQ(crypto::MerkleSaltFromSeed(*c.salt_seed, proof->leaf_index),
              proof->salt);
  }
}

TEST_F(RecordsMessageTest, WithoutWholeBatchesEveryRecordCarriesItsProof) {
  auto page = MakePage(*origin_, *relay_, 3);
  auto received = RoundTrip(page, /*whole=*/false);
  ASSERT_TRUE(received.ok());
  EXPECT_TRUE(received->batches.empty());
  ASSERT_EQ(received->entries.size(), 4u);
  auto checked = Check(InboundInLogOrder(std::move(*received), roster_));
  EXPECT_EQ(checked.checked.size(), 4u);
  EXPECT_TRUE(checked.rejected.empty());
}

TEST_F(RecordsMessageTest, ATamperedLeafRefusesTheWholeBatchNotTheRest) {
  auto page = MakePage(*origin_, *relay_, 5);
  page.sends[3].second.body.back() ^= 1;  // a leaf changed in transit
  auto received = RoundTrip(page, true);
  ASSERT_TRUE(received.ok());
  auto checked = Check(InboundInLogOrder(std::move(*received), roster_));
  // The relayed record stands; no leaf of the broken batch is stored.
  ASSERT_EQ(checked.checked.size(), 1u);
  EXPECT_EQ(checked.checked[0].body.indicator.value, "192.0.2.99");
  // The changed leaf may no longer even decode; the four intact ones are
  // refused because their batch's signature does not cover them as sent.
  // One rejection (one audit entry) per batch and reason, with a count.
  ASSERT_GE(checked.rejected.size(), 1u);
  ASSERT_LE(checked.rejected.size(), 2u);
  size_t refused = 0, unverified = 0;
  for (const auto& r : checked.rejected) {
    refused += r.count;
    if (r.reason.find("does not verify") != std::string::npos) unverified += r.count;
    EXPECT_TRUE(r.batch_origin.has_value());
  }
  EXPECT_EQ(refused, 5u);
  EXPECT_GE(unverified, 4u);
}

TEST_F(RecordsMessageTest, ABatchClaimingAnotherOriginIsRefused) {
  // The relay signs a batch of the origin's records: the root verifies
  // under the relay's key, but no leaf names the relay as origin.
  auto page = MakePage(*origin_, *relay_, 4);
  std::vector<std::span<const uint8_t>> leaves;
  for (auto m : page.batches[0].members) {
    leaves.emplace_back(page.sends[m].second.body);
  }
  page.batches[0].origin = relay_->public_key();
  page.batches[0].root_signature =
      crypto::SignSeededBatch(*relay_, leaves, page.batches[0].salt_seed)
          .root_signature;
  auto received = RoundTrip(page, true);
  ASSERT_TRUE(received.ok());
  auto checked = Check(InboundInLogOrder(std::move(*received), roster_));
  EXPECT_EQ(checked.checked.size(), 1u);  // the relayed record only
  ASSERT_EQ(checked.rejected.size(), 1u);
  const InboundRejection& r = checked.rejected[0];
  EXPECT_NE(r.reason.find("differs from the key"), std::string::npos);
  EXPECT_EQ(r.count, 4u);
  EXPECT_EQ(r.sample.size(), 4u);
  EXPECT_LT(r.sender_seq, r.last_sender_seq);
  EXPECT_EQ(*r.batch_origin, relay_->public_key());
}

TEST_F(RecordsMessageTest, ABatchOfAnUnknownOriginIsRefusedPerRecord) {
  auto stranger = crypto::IdentityKey::Generate();
  auto page = MakePage(*stranger, *relay_, 3);
  auto received = RoundTrip(page, true);
  ASSERT_TRUE(received.ok());
  auto entries = InboundInLogOrder(std::move(*received), roster_);
  for (const auto& e : entries) {
    if (e.batch) {
      EXPECT_FALSE(e.batch->verified);  // no signature work spent
    }
  }
  auto checked = Check(std::move(entries));
  ASSERT_EQ(checked.rejected.size(), 1u);
  EXPECT_EQ(checked.rejected[0].reason, "origin is not in the roster");
  EXPECT_EQ(checked.rejected[0].count, 3u);
}

// A flood of forged batches costs one rejection per batch, whatever the
// number of leaves, and the sample of ids stays bounded.
TEST_F(RecordsMessageTest, AForgedBatchIsOneRejectionWithABoundedSample) {
  auto page = MakePage(*origin_, *relay_, 40);
  page.batches[0].root_signature[5] ^= 1;
  auto received = RoundTrip(page, true);
  ASSERT_TRUE(received.ok());
  auto checked = Check(InboundInLogOrder(std::move(*received), roster_));
  EXPECT_EQ(checked.checked.size(), 1u);  // the relayed record
  ASSERT_EQ(checked.rejected.size(), 1u);
  EXPECT_EQ(checked.rejected[0].count, 40u);
  EXPECT_EQ(checked.rejected[0].sample.size(), kMaxRejectionSample);
  EXPECT_EQ(checked.rejected[0].reason, "origin signature of its batch does not verify");
}

TEST_F(RecordsMessageTest, MalformedBatchesAreRefusedNamingWhatIsWrong) {
  struct Case {
    const char* what;
    std::function<void(protocol::wire::WholeBatch::Builder)> spoil;
  };
  const Case cases[] = {
      {"origin is not 32 bytes",
       [](auto b) { b.initOrigin(31); }},
      {"salt seed is not 32 bytes",
       [](auto b) { b.initSaltSeed(0); }},
      {"root signature is not 64 bytes",
       [](auto b) { b.initRootSignature(65); }},
      {"no leaves", [](auto b) { b.initLeaves(0); }},
      {"4097 leaves, more than the 4096 allowed",
       [](auto b) { b.initLeaves(kMaxLeavesPerWholeBatch + 1); }},
  };
  for (const auto& c : cases) {
    capnp::MallocMessageBuilder message;
    auto page = MakePage(*origin_, *relay_, 2);
    auto records = message.initRoot<protocol::wire::Records>();
    WriteRecordsMessage(page, 500, true, records);
    c.spoil(records.getBatches()[0]);
    auto words = capnp::messageToFlatArray(message);
    capnp::FlatArrayMessageReader reader(words);
    auto read = ReadRecordsMessage(reader.getRoot<protocol::wire::Records>());
    ASSERT_FALSE(read.ok()) << c.what;
    EXPECT_NE(read.status().message().find(c.what), std::string::npos)
        << read.status().message();
  }
}

// The property (issue 17): records forwarded as subsets of batches verify
// at the receiver. Seeded random rounds: an origin's page goes whole to a
// relay; the relay forwards a random subset of what it stored, record by
// record with the proofs the rebuild gave it, to a third node, which must
// verify every one; a random change to one forwarded record is caught and
// only that record is refused. CARAVAN_PROPERTY_SEED replays a round set.
TEST_F(RecordsMessageTest, PropertyRecordsForwardedAsSubsetsOfBatchesVerify) {
  uint64_t seed = 20261205;
  if (const char* env = std::getenv("CARAVAN_PROPERTY_SEED")) {
    seed = std::strtoull(env, nullptr, 10);
  }
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("CARAVAN_PROPERTY_SEED=" + std::to_string(seed));
  for (int round = 0; round < 40; ++round) {
    const size_t n = 1 + rng() % 300;
    auto page = MakePage(*origin_, *relay_, n);
    capnp::MallocMessageBuilder to_relay;
    WriteRecordsMessage(page, 1, true, to_relay.initRoot<protocol::wire::Records>());
    auto words = capnp::messageToFlatArray(to_relay);
    capnp::FlatArrayMessageReader relay_reader(words);
    auto received =
        ReadRecordsMessage(relay_reader.getRoot<protocol::wire::Records>());
    ASSERT_TRUE(received.ok());
    auto at_relay = InboundInLogOrder(std::move(*received), roster_);
    ASSERT_EQ(at_relay.size(), n + 1);
    // The relay's page for the third node: a random subset, no batches
    // (the records are not the relay's own: they go with their proofs).
    OutboundPage forward;
    for (auto& e : at_relay) {
      if (rng() % 3 == 0) continue;
      forward.sends.emplace_back(e.sender_seq, e.record);
    }
    if (forward.sends.empty()) continue;
    const bool spoil = rng() % 2 == 0;
    const size_t spoiled = rng() % forward.sends.size();
    if (spoil) {
      auto& sig = forward.sends[spoiled].second.signature;
      if (auto* proof = std::get_if<protocol::BatchProofData>(&sig)) {
        if (!proof->path.empty()) {
          proof->path[rng() % proof->path.size()][rng() % 32] ^= 1;
        } else {
          proof->salt[0] ^= 1;
        }
      } else {
        std::get<std::array<uint8_t, 64>>(sig)[rng() % 64] ^= 1;
      }
    }
    capnp::MallocMessageBuilder to_third;
    WriteRecordsMessage(forward, 1, true,
                        to_third.initRoot<protocol::wire::Records>());
    auto third_words = capnp::messageToFlatArray(to_third);
    capnp::FlatArrayMessageReader third_reader(third_words);
    auto at_third =
        ReadRecordsMessage(third_reader.getRoot<protocol::wire::Records>());
    ASSERT_TRUE(at_third.ok());
    EXPECT_TRUE(at_third->batches.empty());
    BatchRootCache third_cache;
    InboundContext ctx;
    ctx.roster = &roster_;
    ctx.root_cache = &third_cache;
    auto checked = CheckInbound(
        ctx, nullptr, InboundInLogOrder(std::move(*at_third), roster_), 1);
    ASSERT_EQ(checked.rejected.size(), spoil ? 1u : 0u) << "round " << round;
    EXPECT_EQ(checked.checked.size(),
              forward.sends.size() - (spoil ? 1 : 0));
    if (spoil) {
      EXPECT_EQ(checked.rejected[0].sender_seq, forward.sends[spoiled].first);
    }
  }
}

TEST_F(RecordsMessageTest, LeavesPerMessageAreBoundedBeforeAnyIsCopied) {
  capnp::MallocMessageBuilder message;
  auto records = message.initRoot<protocol::wire::Records>();
  auto batches = records.initBatches(3);
  for (unsigned b = 0; b < 3; ++b) {
    batches[b].initOrigin(32);
    batches[b].initSaltSeed(32);
    batches[b].initRootSignature(64);
    batches[b].initLeaves(kMaxLeavesPerWholeBatch);  // 3 x 4096 > 8192
  }
  auto words = capnp::messageToFlatArray(message);
  capnp::FlatArrayMessageReader reader(words);
  auto read = ReadRecordsMessage(reader.getRoot<protocol::wire::Records>());
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("more than 8192 leaves in one message"),
            std::string::npos)
      << read.status().message();
}

}  // namespace
}  // namespace caravan::daemon::sync
