// daemon/sync benchmarks: the receiver's check stage (CheckInbound: decode,
// roster lookup, origin signature via Merkle proof against a cached batch
// root, re-encode) for one 1000-record Records message cut from a
// 5000-record signed batch, against the raw libsodium single-signature
// verify rate measured in the same run. items/s of both are records per
// second on one core, so their ratio says how much faster than one
// Ed25519 verify per record a link checks records (issue 5).
//
// BM_StoreInbound: the receiver's store stage (StoreInbound: inbound policy,
// current-revision lookup, records and indicators rows, audit) for a
// catch-up of kCatchUp records into an empty store, kCommitMessages
// messages per transaction (about what a receiver groups on a busy link).
// The store's single writer thread is what bounds a link end to end, so
// this is the number to compare changes of the store path by.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/signing.h"
#include "daemon/sync/inbound.h"
#include "daemon/policy/policy_loader.h"
#include "daemon/sync/record_signing.h"

namespace caravan::daemon::sync {
namespace {

constexpr size_t kBatch = 5000;    // the submitter's signing batch
constexpr size_t kMessage = 1000;  // the sync engine's page size

protocol::RecordBody Body(const crypto::IdentityKey& origin, size_t i) {
  protocol::RecordBody body;
  body.origin = origin.public_key();
  body.origin_seq = i + 1;
  body.created = 1'700'000'000;
  body.indicator.type = protocol::IndicatorType::kIpv4;
  body.indicator.value = "10." + std::to_string((i >> 16) & 255) + "." +
                         std::to_string((i >> 8) & 255) + "." +
                         std::to_string(i & 255);
  body.indicator.tlp = protocol::Tlp::kGreen;
  body.indicator.reshare = protocol::Reshare::kFederation;
  return body;
}

// A roster of one member, CERT-UZ, whose identity is `origin`.
std::shared_ptr<const RosterIndex> RosterOf(const crypto::IdentityKey& origin) {
  protocol::RosterMember m;
  m.name = "CERT-UZ";
  m.country = "UZ";
  m.key = origin.public_key();
  return std::make_shared<RosterIndex>(std::vector<protocol::RosterMember>{m});
}

struct Fixture {
  std::unique_ptr<crypto::IdentityKey> origin = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> self = crypto::IdentityKey::Generate();
  std::vector<InboundEntry> message;
  std::shared_ptr<const RosterIndex> roster;

  Fixture() {
    std::vector<std::vector<uint8_t>> bodies;
    for (size_t i = 0; i < kBatch; ++i) {
      bodies.push_back(protocol::EncodeRecordBody(Body(*origin, i)));
    }
    auto signed_records = SignBodies(*origin, std::move(bodies)).records;
    for (size_t i = 0; i < kMessage; ++i) {
      message.push_back({i + 1, std::move(signed_records[i])});
    }
    roster = RosterOf(*origin);
  }
};

// A fresh root cache per message: the batch root signature is verified
// once per message (a link's cache would verify it once per batch).
void BM_CheckInbound1000(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) {
    BatchRootCache cache;
    InboundContext ctx;
    ctx.roster = f.roster.get();
    ctx.self = f.self->public_key();
    ctx.root_cache = &cache;
    // A link hands CheckInbound the entries it read; the copy that stands
    // for them here is not timed.
    state.PauseTiming();
    std::vector<InboundEntry> entries = f.message;
    state.ResumeTiming();
    auto checked = CheckInbound(ctx, f.roster, std::move(entries), kMessage);
    if (checked.checked.size() != kMessage) {
      state.SkipWithError("a record did not verify");
      break;
    }
    benchmark::DoNotOptimize(checked);
  }
  state.SetItemsProcessed(state.iterations() * kMessage);
}
BENCHMARK(BM_CheckInbound1000)->Unit(benchmark::kMillisecond);

constexpr size_t kCatchUp = 100'000;
constexpr size_t kCommitMessages = 6;

// kCatchUp records from one origin, checked into messages of kMessage.
struct CatchUp {
  std::unique_ptr<crypto::IdentityKey> origin = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> self = crypto::IdentityKey::Generate();
  std::shared_ptr<const RosterIndex> roster;
  // kCommitMessages checked messages per store write.
  std::vector<std::vector<CheckedMessage>> writes;
  policy::PolicySet policy;

  CatchUp() {
    roster = RosterOf(*origin);
    auto p = policy::LoadPolicyText({{"default.toml",
                                      "[inbound]\naccept = true\n"}});
    if (!p.ok()) std::abort();
    policy = std::move(*p);
    BatchRootCache cache;
    InboundContext ctx;
    ctx.roster = roster.get();
    ctx.self = self->public_key();
    ctx.root_cache = &cache;
    for (size_t first = 0; first < kCatchUp; first += kBatch) {
      std::vector<std::vector<uint8_t>> bodies;
      for (size_t i = first; i < first + kBatch; ++i) {
        bodies.push_back(protocol::EncodeRecordBody(Body(*origin, i)));
      }
      auto signed_records = SignBodies(*origin, std::move(bodies)).records;
      for (size_t at = 0; at < kBatch; at += kMessage) {
        std::vector<InboundEntry> entries;
        for (size_t i = at; i < at + kMessage; ++i) {
          entries.push_back({first + i + 1, std::move(signed_records[i])});
        }
        if (writes.empty() || writes.back().size() == kCommitMessages) {
          writes.emplace_back();
        }
        writes.back().push_back(
            CheckInbound(ctx, roster, std::move(entries),
                         first + at + kMessage));
        if (writes.back().back().checked.size() != kMessage) std::abort();
      }
    }
  }
};

void BM_StoreInbound(benchmark::State& state) {
  static CatchUp c;
  const PeerInfo peer{"CERT-UZ", "UZ", c.origin->public_key()};
  for (auto _ : state) {
    state.PauseTiming();
    std::string dir = (std::filesystem::temp_directory_path() /
                       "caravan-bench-XXXXXX").string();
    if (!mkdtemp(dir.data())) std::abort();
    auto store = store::Store::Open(dir + "/node.db");
    if (!store.ok()) std::abort();
    InboundContext ctx{store->get(), c.roster.get(), &c.policy,
                       c.self->public_key(), nullptr, 1'700'000'100};
    auto writes = c.writes;  // StoreInbound consumes what it stores
    state.ResumeTiming();
    std::string error;
    for (auto& write : writes) {
      auto out = StoreInbound(ctx, peer, write);
      if (!out.ok()) error = out.status().message();
      if (error.empty() && out->accepted != write.size() * kMessage) {
        error = "a record was not accepted";
      }
      if (!error.empty()) break;
    }
    state.PauseTiming();
    store->reset();
    std::filesystem::remove_all(dir);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kCatchUp);
}
BENCHMARK(BM_StoreInbound)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Iterations(2);

// The baseline: one Ed25519 verification per record, raw libsodium.
void BM_VerifySingleBaseline(benchmark::State& state) {
  Fixture f;
  const auto& body = f.message.front().record.body;
  const auto sig = crypto::Sign(*f.origin, crypto::SignDomain::kRecord, body);
  for (auto _ : state) {
    if (!crypto::Verify(f.origin->public_key(), crypto::SignDomain::kRecord,
                        body, sig)) {
      state.SkipWithError("bad signature");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifySingleBaseline);

}  // namespace
}  // namespace caravan::daemon::sync
BENCHMARK_MAIN();
