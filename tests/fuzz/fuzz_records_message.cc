// The receive path of a Records message (daemon/sync/records_message.h):
// read, whole batches rebuilt and checked, then CheckInbound. Input byte 0
// selects the mode; the rest is untrusted bytes:
//   even: the bytes as a Records message (flat array), as a peer sends it;
//   odd:  the bytes cut into leaves (1-byte length prefixes) that a fixed
//         roster member signs as one seeded batch; the written message then
//         gets one byte changed at a position the input picks (or none)
//         before it is read: reaches the rebuild and the per-leaf checks,
//         which a random message never does (its signature never holds).
// Must never crash or read out of bounds; an unchanged batch must verify.
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "daemon/sync/records_message.h"

using namespace caravan;
using namespace caravan::daemon::sync;

namespace {

std::unique_ptr<crypto::IdentityKey> Key(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed[0] = seed_byte;
  return crypto::IdentityKey::FromSeed(seed);
}

const crypto::IdentityKey& Origin() {
  static const auto key = Key(7);
  return *key;
}

const RosterIndex& Roster() {
  static const RosterIndex roster(
      {{"FUZZ-ORIGIN", "KZ", Origin().public_key(), {}, ""}});
  return roster;
}

// Reads `words` as a peer's Records message and checks it; returns whether
// every whole batch verified (true when there was none).
bool Receive(kj::ArrayPtr<const capnp::word> words) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 1 << 17;
  options.nestingLimit = 16;
  try {
    capnp::FlatArrayMessageReader reader(words, options);
    auto read = ReadRecordsMessage(reader.getRoot<protocol::wire::Records>());
    if (!read.ok()) return false;
    auto entries = InboundInLogOrder(std::move(*read), Roster());
    bool all_verified = true;
    for (const auto& e : entries) {
      if (e.batch && !e.batch->verified) all_verified = false;
    }
    InboundContext ctx;
    ctx.roster = &Roster();
    (void)CheckInbound(ctx, nullptr, entries, 0);
    return all_verified;
  } catch (const kj::Exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > (1 << 20)) return 0;
  std::span<const uint8_t> in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    std::vector<capnp::word> words(in.size() / sizeof(capnp::word));
    if (words.empty()) return 0;
    std::memcpy(words.data(), in.data(), words.size() * sizeof(capnp::word));
    (void)Receive(kj::arrayPtr(words.data(), words.size()));
    return 0;
  }
  if (in.size() < 2) return 0;
  const size_t flip_at = (size_t(in[0]) << 8) | in[1];
  in = in.subspan(2);
  OutboundPage page;
  PageBatch batch;
  batch.origin = Origin().public_key();
  std::vector<std::vector<uint8_t>> bodies;
  while (!in.empty() && bodies.size() < 512) {
    size_t n = std::min<size_t>(in[0], in.size() - 1);
    bodies.emplace_back(in.begin() + 1, in.begin() + 1 + n);
    in = in.subspan(1 + n);
  }
  if (bodies.empty()) return 0;
  std::vector<std::span<const uint8_t>> leaves(bodies.begin(), bodies.end());
  auto signed_batch =
      crypto::SignSeededBatch(Origin(), leaves, batch.salt_seed);
  batch.root_signature = signed_batch.root_signature;
  for (size_t i = 0; i < bodies.size(); ++i) {
    batch.members.push_back(i);
    page.sends.emplace_back(i + 1, protocol::SignedRecord{
                                       bodies[i], signed_batch.root_signature});
  }
  page.batches.push_back(std::move(batch));
  capnp::MallocMessageBuilder message;
  WriteRecordsMessage(page, bodies.size(), true,
                      message.initRoot<protocol::wire::Records>());
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  const bool changed = flip_at < bytes.size();
  if (changed) bytes[flip_at] ^= 0x5a;
  const bool verified = Receive(words);
  // The property: what the origin signed, unchanged, always verifies.
  if (!changed && !verified) std::abort();
  return 0;
}
