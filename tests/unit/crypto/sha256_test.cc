#include "crypto/sha256.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <thread>
#include <vector>

#include "crypto/sodium_init.h"

namespace caravan::crypto {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Hex(const std::array<uint8_t, 32>& h) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : h) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// FIPS 180-2 appendix B.1 and the empty string.
TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Hex(Sha256Of({Bytes("abc")})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256Of({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// The parts are hashed as one string, whatever the cut, and the result is
// libsodium's SHA-256 of that string (the function the trees are defined
// with), for lengths around the 64-byte block.
TEST(Sha256Test, PartsConcatenateAndMatchLibsodium) {
  EnsureSodium();
  std::string data;
  for (size_t n = 0; n < 200; ++n) {
    std::array<uint8_t, 32> want{};
    crypto_hash_sha256(want.data(),
                       reinterpret_cast<const uint8_t*>(data.data()),
                       data.size());
    const auto all = Bytes(data);
    for (size_t cut = 0; cut <= n; cut += 7) {
      EXPECT_EQ(Sha256Of({all.first(cut), all.subspan(cut)}), want)
          << "length " << n << " cut at " << cut;
    }
    data += static_cast<char>(n * 31 + 7);
  }
}

// One context per thread: hashing from several threads at once gives the
// same answers.
TEST(Sha256Test, ThreadsDoNotShareState) {
  const auto want = Sha256Of({Bytes("caravan")});
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        if (Sha256Of({Bytes("cara"), Bytes("van")}) != want) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

}  // namespace
}  // namespace caravan::crypto
