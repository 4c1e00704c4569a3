#pragma once
// Internal to crypto/noise: the handshake pattern table (Noise sections 7.4,
// 7.5, 18 for deferred patterns, 9 for psk modifiers). Pure data; thread-safe.

#include <optional>
#include <string_view>
#include <vector>

namespace caravan::crypto::noise_internal {

enum class Token { kE, kS, kEE, kES, kSE, kSS, kPsk };

struct HandshakePattern {
  std::vector<Token> initiator_pre;  // pre-message tokens (only kS / kE)
  std::vector<Token> responder_pre;
  // Messages alternate initiator -> responder, responder -> initiator, ...
  // starting with the initiator.
  std::vector<std::vector<Token>> messages;
  bool psk_mode = false;  // any psk modifier: "e" also calls MixKey
  size_t psk_count = 0;
};

// Parses a pattern name with optional modifiers ("XX", "IKpsk2",
// "XXpsk0+psk3"). nullopt if unknown or a modifier is out of range.
std::optional<HandshakePattern> LookupPattern(std::string_view name);

}  // namespace caravan::crypto::noise_internal
