// Replays the published Noise test vectors (cacophony and snow, see
// testdata/noise/README.md) for every Noise_*_25519_ChaChaPoly_BLAKE2b
// protocol, byte for byte: each handshake message's ciphertext and payload,
// the handshake hash when given, and the transport messages after Split.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/key_text.h"
#include "crypto/noise.h"

namespace caravan::crypto {
namespace {

using nlohmann::json;

std::vector<uint8_t> Hex(const json& v) {
  auto bytes = FromHex(v.get<std::string>());
  if (!bytes) throw std::runtime_error("bad hex in vector");
  return *bytes;
}

std::unique_ptr<LinkKey> KeyFrom(const json& v) {
  std::vector<uint8_t> b = Hex(v);
  if (b.size() != 32) throw std::runtime_error("bad key size in vector");
  return LinkKey::FromSecret(std::span<const uint8_t, 32>(b.data(), 32));
}

// Returns true if the vector was replayed (false: unsupported, skipped).
bool Replay(const json& v) {
  const std::string name = v["protocol_name"];
  SCOPED_TRACE(name);

  std::unique_ptr<LinkKey> init_static, resp_static;
  if (v.contains("init_static")) init_static = KeyFrom(v["init_static"]);
  if (v.contains("resp_static")) resp_static = KeyFrom(v["resp_static"]);

  auto make = [&](bool initiator) {
    const char* side = initiator ? "init_" : "resp_";
    NoiseConfig c;
    c.protocol_name = name;
    c.initiator = initiator;
    c.prologue = Hex(v[std::string(side) + "prologue"]);
    c.local_static = initiator ? init_static.get() : resp_static.get();
    if (v.contains(std::string(side) + "remote_static")) {
      std::vector<uint8_t> rs = Hex(v[std::string(side) + "remote_static"]);
      X25519PublicKey pk{};
      std::copy(rs.begin(), rs.end(), pk.begin());
      c.remote_static = pk;
    }
    if (v.contains(std::string(side) + "ephemeral")) {
      c.ephemeral_for_testing = KeyFrom(v[std::string(side) + "ephemeral"]);
    }
    if (v.contains(std::string(side) + "psks")) {
      for (const json& p : v[std::string(side) + "psks"]) {
        std::vector<uint8_t> b = Hex(p);
        c.psks.emplace_back(std::span<const uint8_t, 32>(b.data(), 32));
      }
    }
    return HandshakeState::Create(std::move(c));
  };
  std::unique_ptr<HandshakeState> init = make(true);
  std::unique_ptr<HandshakeState> resp = make(false);
  EXPECT_NE(init, nullptr);
  EXPECT_NE(resp, nullptr);
  if (!init || !resp) return false;

  const json& messages = v["messages"];
  size_t idx = 0;
  // Handshake phase: alternate, starting with the initiator.
  for (; idx < messages.size() && !init->IsComplete(); ++idx) {
    SCOPED_TRACE("handshake message " + std::to_string(idx));
    HandshakeState* writer = idx % 2 == 0 ? init.get() : resp.get();
    HandshakeState* reader = idx % 2 == 0 ? resp.get() : init.get();
    std::vector<uint8_t> payload = Hex(messages[idx]["payload"]);
    std::vector<uint8_t> expected = Hex(messages[idx]["ciphertext"]);
    auto written = writer->WriteMessage(payload);
    EXPECT_TRUE(written.has_value());
    if (!written) return true;
    EXPECT_EQ(ToHex(*written), ToHex(expected));
    auto read = reader->ReadMessage(expected);
    EXPECT_TRUE(read.has_value());
    if (!read) return true;
    EXPECT_EQ(ToHex(*read), ToHex(payload));
  }
  EXPECT_TRUE(init->IsComplete());
  EXPECT_TRUE(resp->IsComplete());
  if (!init->IsComplete() || !resp->IsComplete()) return true;
  EXPECT_EQ(ToHex(init->handshake_hash()), ToHex(resp->handshake_hash()));
  if (v.contains("handshake_hash")) {
    EXPECT_EQ(ToHex(init->handshake_hash()), v["handshake_hash"].get<std::string>());
  }

  // Transport phase. One-way patterns (a single handshake message): every
  // message goes initiator -> responder. Otherwise directions keep
  // alternating from where the handshake stopped.
  NoiseTransport it = init->SplitTransport();
  NoiseTransport rt = resp->SplitTransport();
  const bool one_way = idx == 1;
  for (; idx < messages.size(); ++idx) {
    SCOPED_TRACE("transport message " + std::to_string(idx));
    const bool from_initiator = one_way || idx % 2 == 0;
    CipherState& send = from_initiator ? it.send : rt.send;
    CipherState& recv = from_initiator ? rt.receive : it.receive;
    std::vector<uint8_t> payload = Hex(messages[idx]["payload"]);
    auto ct = send.Encrypt(payload);
    EXPECT_TRUE(ct.has_value());
    if (!ct) return true;
    EXPECT_EQ(ToHex(*ct), messages[idx]["ciphertext"].get<std::string>());
    auto pt = recv.Decrypt(*ct);
    EXPECT_TRUE(pt.has_value());
    if (pt) {
      EXPECT_EQ(*pt, payload);
    }
  }
  return true;
}

size_t ReplayFile(const std::string& file) {
  std::ifstream in(std::string(CARAVAN_TESTDATA_DIR) + "/noise/" + file);
  EXPECT_TRUE(in.good()) << file;
  json doc = json::parse(in);
  size_t replayed = 0;
  for (const json& v : doc["vectors"]) {
    const std::string name = v["protocol_name"];
    if (!name.ends_with("_25519_ChaChaPoly_BLAKE2b")) continue;
    if (Replay(v)) ++replayed;
  }
  return replayed;
}

TEST(NoiseVectorsTest, CacophonyAllBlake2bChaChaPolyVectors) {
  // 59 such vectors in the file (README); every one must be supported.
  EXPECT_EQ(ReplayFile("cacophony.json"), 59u);
}

TEST(NoiseVectorsTest, SnowAllBlake2bChaChaPolyVectors) {
  EXPECT_EQ(ReplayFile("snow.json"), 51u);
}

TEST(NoiseVectorsTest, RequiredPatternsArePresentInBothFiles) {
  for (const char* file : {"cacophony.json", "snow.json"}) {
    std::ifstream in(std::string(CARAVAN_TESTDATA_DIR) + "/noise/" + file);
    json doc = json::parse(in);
    int xx = 0, nn = 0, ik = 0;
    for (const json& v : doc["vectors"]) {
      const std::string name = v["protocol_name"];
      xx += name == "Noise_XX_25519_ChaChaPoly_BLAKE2b";
      nn += name == "Noise_NN_25519_ChaChaPoly_BLAKE2b";
      ik += name == "Noise_IK_25519_ChaChaPoly_BLAKE2b";
    }
    EXPECT_EQ(xx, 1) << file;
    EXPECT_EQ(nn, 1) << file;
    EXPECT_EQ(ik, 1) << file;
  }
}

}  // namespace
}  // namespace caravan::crypto
