// Link compression (docs/wire.md 4.3) on what a catch-up actually sends: a
// Records message of kMessage IPv4 records from the real list under
// testdata/real (values in file order), signed as a node signs them.
//   batch: records of a kBatch-record Merkle batch, each with its proof
//          (what a node sends of its own submissions, or with reshare =
//          "federation").
//   single: one Ed25519 signature per record (a re-signed variant).
// For each: zstd levels 1, 3 (the default), 9 and 19, and level 3 with a
// dictionary trained (ZDICT) on other messages of the same kind, to judge
// whether a shipped dictionary would pay. Counters: bytes per record
// compressed (and plain in the baseline), compress and decompress time per
// record.
#include <benchmark/benchmark.h>
#include <zdict.h>
#include <zstd.h>

#include <capnp/message.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/signing.h"
#include "daemon/link/frame_codec.h"
#include "daemon/link/link_compression.h"
#include "daemon/sync/record_signing.h"
#include "protocol/peer.capnp.h"
#include "protocol/record_codec.h"

namespace caravan::daemon::link {
namespace {

constexpr size_t kBatch = 5000;
constexpr size_t kMessage = 1000;  // the sync engine's page size
constexpr size_t kMessages = 12;   // 1 measured + the dictionary's samples

std::vector<std::string> RealIpv4(size_t n) {
  std::vector<std::string> out;
  std::ifstream in(std::string(CARAVAN_TESTDATA_DIR) + "/real/ipv4.txt");
  std::string line;
  while (out.size() < n && std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  // Without the test data: synthetic addresses, so the bench still runs.
  for (size_t i = out.size(); i < n; ++i) {
    out.push_back("10." + std::to_string((i >> 16) & 255) + "." +
                  std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255));
  }
  return out;
}

protocol::RecordBody Body(const crypto::IdentityKey& origin, const std::string& value,
                          size_t i) {
  protocol::RecordBody body;
  body.origin = origin.public_key();
  body.origin_seq = i + 1;
  body.created = 1'700'000'000 + static_cast<int64_t>(i / 50);
  body.indicator.type = protocol::IndicatorType::kIpv4;
  body.indicator.value = value;
  body.indicator.tlp = protocol::Tlp::kGreen;
  body.indicator.reshare = protocol::Reshare::kFederation;
  return body;
}

std::vector<uint8_t> RecordsMessage(const std::vector<protocol::SignedRecord>& records,
                                    size_t first, uint64_t seq0) {
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<protocol::wire::PeerMessage>().initRecords();
  auto entries = list.initEntries(static_cast<unsigned>(kMessage));
  for (unsigned i = 0; i < kMessage; ++i) {
    entries[i].setSenderSeq(seq0 + i);
    protocol::FillSignedRecord(records[first + i], entries[i].initRecord());
  }
  list.setUpToSeq(seq0 + kMessage - 1);
  return SerializeMessage(message);
}

// kMessages Records messages of either kind, built once.
struct Corpus {
  std::vector<std::vector<uint8_t>> batch, single;
  Corpus() {
    auto origin = crypto::IdentityKey::Generate();
    const auto values = RealIpv4(kMessages * kMessage);
    std::vector<std::vector<uint8_t>> bodies;
    for (size_t i = 0; i < values.size(); ++i) {
      bodies.push_back(protocol::EncodeRecordBody(Body(*origin, values[i], i)));
    }
    std::vector<protocol::SignedRecord> batched;
    for (size_t at = 0; at < bodies.size(); at += kBatch) {
      std::vector<std::vector<uint8_t>> part(
          bodies.begin() + at, bodies.begin() + std::min(bodies.size(), at + kBatch));
      for (auto& r : daemon::SignBodies(*origin, std::move(part)).records) batched.push_back(std::move(r));
    }
    std::vector<protocol::SignedRecord> singles;
    for (auto& b : bodies) {
      protocol::SignedRecord r;
      r.signature = crypto::Sign(*origin, crypto::SignDomain::kRecord, b);
      r.body = std::move(b);
      singles.push_back(std::move(r));
    }
    for (size_t m = 0; m < kMessages; ++m) {
      batch.push_back(RecordsMessage(batched, m * kMessage, m * kMessage + 1));
      single.push_back(RecordsMessage(singles, m * kMessage, m * kMessage + 1));
    }
  }
};

const Corpus& TheCorpus() {
  static const Corpus corpus;
  return corpus;
}

// A dictionary trained on messages 1.. (never on message 0, the one
// measured), sampled per record-sized slice.
std::vector<uint8_t> TrainDictionary(const std::vector<std::vector<uint8_t>>& messages) {
  std::vector<uint8_t> samples;
  std::vector<size_t> sizes;
  for (size_t m = 1; m < messages.size(); ++m) {
    const size_t slice = messages[m].size() / kMessage;
    for (size_t at = 0; at + slice <= messages[m].size(); at += slice) {
      samples.insert(samples.end(), messages[m].begin() + at, messages[m].begin() + at + slice);
      sizes.push_back(slice);
    }
  }
  std::vector<uint8_t> dict(110 * 1024);
  const size_t n = ZDICT_trainFromBuffer(dict.data(), dict.size(), samples.data(), sizes.data(),
                                         static_cast<unsigned>(sizes.size()));
  if (ZDICT_isError(n)) return {};
  dict.resize(n);
  return dict;
}

void Report(benchmark::State& state, size_t plain, size_t compressed) {
  state.counters["plain_B_per_record"] = static_cast<double>(plain) / kMessage;
  state.counters["wire_B_per_record"] = static_cast<double>(compressed) / kMessage;
  state.counters["ratio"] = static_cast<double>(compressed) / static_cast<double>(plain);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kMessage));
}

const std::vector<uint8_t>& Message(int kind) {
  return kind == 0 ? TheCorpus().batch[0] : TheCorpus().single[0];
}

// Baseline: the message as it goes uncompressed (a copy, to have a time).
void BM_Plain(benchmark::State& state) {
  const auto& message = Message(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::vector<uint8_t> copy(message);
    benchmark::DoNotOptimize(copy.data());
  }
  Report(state, message.size(), message.size());
}
BENCHMARK(BM_Plain)->ArgNames({"single"})->Arg(0)->Arg(1);

void BM_Compress(benchmark::State& state) {
  const auto& message = Message(static_cast<int>(state.range(0)));
  MessageCompressor compressor(static_cast<int>(state.range(1)));
  size_t size = message.size();
  for (auto _ : state) {
    auto frame = compressor.Compress(message);
    size = frame ? frame->size() : message.size();
    benchmark::DoNotOptimize(frame);
  }
  Report(state, message.size(), size);
}
BENCHMARK(BM_Compress)
    ->ArgNames({"single", "level"})
    ->ArgsProduct({{0, 1}, {1, 3, 9, 19}})
    ->Unit(benchmark::kMicrosecond);

void BM_Decompress(benchmark::State& state) {
  const auto& message = Message(static_cast<int>(state.range(0)));
  MessageCompressor compressor(3);
  const auto frame = *compressor.Compress(message);
  MessageDecompressor decompressor;
  for (auto _ : state) {
    auto words = decompressor.Decompress(frame, 16 << 20);
    if (!words.ok()) state.SkipWithError("decompress failed");
    benchmark::DoNotOptimize(words);
  }
  Report(state, message.size(), frame.size());
}
BENCHMARK(BM_Decompress)->ArgNames({"single"})->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// Level 3 with a trained dictionary (not shipped: this measures whether it
// would be worth versioning one into the Hello negotiation).
void BM_CompressWithDictionary(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const auto& messages = kind == 0 ? TheCorpus().batch : TheCorpus().single;
  const auto dict = TrainDictionary(messages);
  if (dict.empty()) {
    state.SkipWithError("dictionary training failed");
    return;
  }
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CDict* cdict = ZSTD_createCDict(dict.data(), dict.size(), 3);
  const auto& message = messages[0];
  std::vector<uint8_t> out(ZSTD_compressBound(message.size()));
  size_t size = 0;
  for (auto _ : state) {
    size = ZSTD_compress_usingCDict(cctx, out.data(), out.size(), message.data(),
                                    message.size(), cdict);
    benchmark::DoNotOptimize(out.data());
  }
  ZSTD_freeCDict(cdict);
  ZSTD_freeCCtx(cctx);
  state.counters["dict_bytes"] = static_cast<double>(dict.size());
  Report(state, message.size(), size);
}
BENCHMARK(BM_CompressWithDictionary)
    ->ArgNames({"single"})
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace caravan::daemon::link

BENCHMARK_MAIN();
