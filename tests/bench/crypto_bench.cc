// crypto/ benchmarks: record signing and verification (ours vs the raw
// libsodium call, to show the cost of domain separation), Merkle batch
// verification (1024 proofs + one root signature), Noise transport
// throughput and a full XX handshake.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <algorithm>

#include "crypto/link_certificate.h"
#include "crypto/merkle.h"
#include "crypto/noise.h"
#include "crypto/signing.h"

namespace caravan::crypto {
namespace {

std::vector<uint8_t> Record(size_t i) {
  std::vector<uint8_t> r(300);  // about one canonical indicator record
  for (size_t j = 0; j < r.size(); ++j) r[j] = static_cast<uint8_t>(i * 31 + j);
  return r;
}

void BM_Sign(benchmark::State& state) {
  auto key = IdentityKey::Generate();
  auto rec = Record(1);
  for (auto _ : state) benchmark::DoNotOptimize(Sign(*key, SignDomain::kRecord, rec));
}
BENCHMARK(BM_Sign);

void BM_Verify(benchmark::State& state) {
  auto key = IdentityKey::Generate();
  auto rec = Record(1);
  auto sig = Sign(*key, SignDomain::kRecord, rec);
  for (auto _ : state) {
    if (!Verify(key->public_key(), SignDomain::kRecord, rec, sig)) state.SkipWithError("bad");
  }
}
BENCHMARK(BM_Verify);

// Baseline: libsodium directly on an already prefixed buffer.
void BM_VerifyRawBaseline(benchmark::State& state) {
  auto key = IdentityKey::Generate();
  auto rec = Record(1);
  auto prefix = SignDomainPrefix(SignDomain::kRecord);
  std::vector<uint8_t> msg(prefix.begin(), prefix.end());
  msg.insert(msg.end(), rec.begin(), rec.end());
  auto sig = key->SignRaw(msg);
  for (auto _ : state) {
    if (crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(),
                                    key->public_key().data()) != 0) {
      state.SkipWithError("bad");
    }
  }
}
BENCHMARK(BM_VerifyRawBaseline);

void BM_SignBatch1024(benchmark::State& state) {
  auto key = IdentityKey::Generate();
  std::vector<std::vector<uint8_t>> recs;
  for (size_t i = 0; i < 1024; ++i) recs.push_back(Record(i));
  std::vector<std::span<const uint8_t>> spans(recs.begin(), recs.end());
  for (auto _ : state) benchmark::DoNotOptimize(SignBatch(*key, spans));
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_SignBatch1024)->Unit(benchmark::kMillisecond);

// What a receiver does with one batch: 1024 inclusion proofs, one signature
// check (later proofs hit the (root, size, signature) cache). items/s is
// records verified per second.
void BM_BatchVerify1024(benchmark::State& state) {
  auto key = IdentityKey::Generate();
  std::vector<std::vector<uint8_t>> recs;
  for (size_t i = 0; i < 1024; ++i) recs.push_back(Record(i));
  std::vector<std::span<const uint8_t>> spans(recs.begin(), recs.end());
  SignedBatch batch = SignBatch(*key, spans);
  for (auto _ : state) {
    std::optional<MerkleHash> verified_root;
    for (size_t i = 0; i < recs.size(); ++i) {
      auto root = MerkleRootFromProof(recs[i], batch.proofs[i]);
      if (!root) state.SkipWithError("bad proof");
      if (verified_root == root) continue;
      if (!VerifyBatchRoot(key->public_key(), batch.proofs[i].tree_size, *root,
                           batch.root_signature)) {
        state.SkipWithError("bad root");
      }
      verified_root = root;
    }
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_BatchVerify1024)->Unit(benchmark::kMicrosecond);

// The same 1024 records each with its own signature, for comparison.
void BM_IndividualVerify1024(benchmark::State& state) {
  auto key = IdentityKey::Generate();
  std::vector<std::vector<uint8_t>> recs;
  std::vector<Ed25519Signature> sigs;
  for (size_t i = 0; i < 1024; ++i) {
    recs.push_back(Record(i));
    sigs.push_back(Sign(*key, SignDomain::kRecord, recs.back()));
  }
  for (auto _ : state) {
    for (size_t i = 0; i < recs.size(); ++i) {
      if (!Verify(key->public_key(), SignDomain::kRecord, recs[i], sigs[i])) {
        state.SkipWithError("bad");
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_IndividualVerify1024)->Unit(benchmark::kMicrosecond);

// 64 KiB of application data through the transport cipher (split into
// maximum-size Noise messages, as the link does).
void BM_NoiseEncrypt64KiB(benchmark::State& state) {
  std::array<uint8_t, 32> k{};
  CipherState c(k);
  std::vector<uint8_t> data(64 * 1024, 0x42);
  std::vector<uint8_t> out;
  out.reserve(kNoiseMaxMessage);
  for (auto _ : state) {
    for (size_t off = 0; off < data.size(); off += kNoiseMaxPayload) {
      size_t n = std::min(kNoiseMaxPayload, data.size() - off);
      out.clear();
      if (!c.EncryptWithAd({}, std::span(data).subspan(off, n), &out)) {
        state.SkipWithError("encrypt failed");
      }
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetBytesProcessed(state.iterations() * data.size());
}
BENCHMARK(BM_NoiseEncrypt64KiB)->Unit(benchmark::kMicrosecond);

void BM_NoiseHandshakeXX(benchmark::State& state) {
  auto is = LinkKey::Generate();
  auto rs = LinkKey::Generate();
  auto id = IdentityKey::Generate();
  auto payload_i = BuildHandshakePayload(*id, is->public_key());
  auto payload_r = BuildHandshakePayload(*id, rs->public_key());
  for (auto _ : state) {
    NoiseConfig ci, cr;
    ci.protocol_name = cr.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
    ci.initiator = true;
    ci.local_static = is.get();
    cr.local_static = rs.get();
    auto i = HandshakeState::Create(std::move(ci));
    auto r = HandshakeState::Create(std::move(cr));
    auto m1 = i->WriteMessage({});
    r->ReadMessage(*m1);
    auto m2 = r->WriteMessage(payload_r);
    auto p2 = i->ReadMessage(*m2);
    VerifyHandshakePayload(*p2, *i->remote_static());
    auto m3 = i->WriteMessage(payload_i);
    auto p3 = r->ReadMessage(*m3);
    VerifyHandshakePayload(*p3, *r->remote_static());
    benchmark::DoNotOptimize(i->SplitTransport());
  }
}
BENCHMARK(BM_NoiseHandshakeXX)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace caravan::crypto

BENCHMARK_MAIN();
