// HandshakeState of crypto/noise.h: walks the pattern table token by token
// (Noise section 5.3).
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "crypto/noise.h"
#include "crypto/noise_pattern.h"
#include "crypto/noise_symmetric_state.h"

namespace caravan::crypto {

using noise_internal::HandshakePattern;
using noise_internal::SymmetricState;
using noise_internal::Token;

namespace {

constexpr std::string_view kPrefix = "Noise_";
constexpr std::string_view kSuffix = "_25519_ChaChaPoly_BLAKE2b";
constexpr size_t kDhLen = 32;

bool PatternUses(const HandshakePattern& p, bool initiator_side, Token token) {
  auto check = [&](const std::vector<Token>& tokens) {
    for (Token t : tokens) {
      if (t == token) return true;
    }
    return false;
  };
  if (check(initiator_side ? p.initiator_pre : p.responder_pre)) return true;
  for (size_t i = initiator_side ? 0 : 1; i < p.messages.size(); i += 2) {
    if (check(p.messages[i])) return true;
  }
  return false;
}

}  // namespace

struct HandshakeState::Impl {
  Impl(std::string_view name, HandshakePattern p)
      : symmetric(name), pattern(std::move(p)) {}

  SymmetricState symmetric;
  HandshakePattern pattern;
  bool initiator = false;
  const LinkKey* s = nullptr;
  std::unique_ptr<LinkKey> e;
  std::optional<X25519PublicKey> re;
  std::vector<SecretBytes<32>> psks;
  size_t next_psk = 0;
  size_t next_message = 0;

  bool MixDh(const LinkKey* local, const std::optional<X25519PublicKey>& remote) {
    if (local == nullptr || !remote) return false;
    std::optional<X25519SharedSecret> shared = local->Dh(*remote);
    if (!shared) return false;
    symmetric.MixKey(shared->span());
    return true;
  }
};

HandshakeState::~HandshakeState() = default;

std::unique_ptr<HandshakeState> HandshakeState::Create(NoiseConfig config) {
  std::string_view name = config.protocol_name;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix) ||
      name.size() <= kPrefix.size() + kSuffix.size()) {
    return nullptr;
  }
  std::optional<HandshakePattern> pattern = noise_internal::LookupPattern(
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()));
  if (!pattern) return nullptr;
  const bool initiator = config.initiator;
  if (PatternUses(*pattern, initiator, Token::kS) && config.local_static == nullptr) {
    return nullptr;
  }
  const auto& remote_pre = initiator ? pattern->responder_pre : pattern->initiator_pre;
  const bool remote_pre_s =
      std::find(remote_pre.begin(), remote_pre.end(), Token::kS) != remote_pre.end();
  if (remote_pre_s != config.remote_static.has_value()) return nullptr;
  if (config.psks.size() != pattern->psk_count) return nullptr;
  // Ephemeral pre-messages appear in no supported pattern.
  for (const auto* pre : {&pattern->initiator_pre, &pattern->responder_pre}) {
    for (Token t : *pre) {
      if (t != Token::kS) return nullptr;
    }
  }

  std::unique_ptr<HandshakeState> hs(new HandshakeState());
  hs->impl_ = std::make_unique<Impl>(name, std::move(*pattern));
  Impl& st = *hs->impl_;
  st.initiator = initiator;
  st.s = config.local_static;
  st.e = std::move(config.ephemeral_for_testing);
  st.psks = std::move(config.psks);
  hs->rs_ = config.remote_static;

  st.symmetric.MixHash(config.prologue);
  // Pre-messages: the initiator's first, then the responder's.
  if (!st.pattern.initiator_pre.empty()) {
    st.symmetric.MixHash(initiator ? st.s->public_key() : *hs->rs_);
  }
  if (!st.pattern.responder_pre.empty()) {
    st.symmetric.MixHash(initiator ? *hs->rs_ : st.s->public_key());
  }
  return hs;
}

bool HandshakeState::IsMyTurn() const {
  if (failed_ || IsComplete()) return false;
  const bool initiator_turn = impl_->next_message % 2 == 0;
  return initiator_turn == impl_->initiator;
}

bool HandshakeState::IsComplete() const {
  return impl_->next_message == impl_->pattern.messages.size();
}

std::optional<std::vector<uint8_t>> HandshakeState::WriteMessage(
    std::span<const uint8_t> payload) {
  if (!IsMyTurn() || payload.size() > kNoiseMaxMessage) return std::nullopt;
  Impl& st = *impl_;
  const bool i = st.initiator;
  std::vector<uint8_t> out;
  auto fail = [&] {
    failed_ = true;
    return std::nullopt;
  };
  for (Token t : st.pattern.messages[st.next_message]) {
    switch (t) {
      case Token::kE: {
        if (!st.e) st.e = LinkKey::Generate();
        const X25519PublicKey& pk = st.e->public_key();
        out.insert(out.end(), pk.begin(), pk.end());
        st.symmetric.MixHash(pk);
        if (st.pattern.psk_mode) st.symmetric.MixKey(pk);
        break;
      }
      case Token::kS:
        if (!st.symmetric.EncryptAndHash(st.s->public_key(), &out)) return fail();
        break;
      case Token::kEE:
        if (!st.MixDh(st.e.get(), st.re)) return fail();
        break;
      case Token::kES:
        if (!(i ? st.MixDh(st.e.get(), rs_) : st.MixDh(st.s, st.re))) return fail();
        break;
      case Token::kSE:
        if (!(i ? st.MixDh(st.s, st.re) : st.MixDh(st.e.get(), rs_))) return fail();
        break;
      case Token::kSS:
        if (!st.MixDh(st.s, rs_)) return fail();
        break;
      case Token::kPsk:
        st.symmetric.MixKeyAndHash(st.psks[st.next_psk++].span());
        break;
    }
  }
  if (!st.symmetric.EncryptAndHash(payload, &out) || out.size() > kNoiseMaxMessage) {
    return fail();
  }
  ++st.next_message;
  return out;
}

std::optional<std::vector<uint8_t>> HandshakeState::ReadMessage(
    std::span<const uint8_t> message) {
  if (failed_ || IsComplete() || IsMyTurn()) return std::nullopt;
  if (message.size() > kNoiseMaxMessage) return std::nullopt;
  Impl& st = *impl_;
  const bool i = st.initiator;
  std::span<const uint8_t> rest = message;
  auto fail = [&] {
    failed_ = true;
    return std::nullopt;
  };
  for (Token t : st.pattern.messages[st.next_message]) {
    switch (t) {
      case Token::kE: {
        if (rest.size() < kDhLen) return fail();
        X25519PublicKey re{};
        std::copy_n(rest.begin(), kDhLen, re.begin());
        rest = rest.subspan(kDhLen);
        st.re = re;
        st.symmetric.MixHash(re);
        if (st.pattern.psk_mode) st.symmetric.MixKey(re);
        break;
      }
      case Token::kS: {
        const size_t len = kDhLen + (st.symmetric.HasKey() ? kNoiseTagSize : 0);
        if (rest.size() < len) return fail();
        std::vector<uint8_t> pk;
        if (!st.symmetric.DecryptAndHash(rest.first(len), &pk)) return fail();
        rest = rest.subspan(len);
        X25519PublicKey rs{};
        std::copy_n(pk.begin(), kDhLen, rs.begin());
        rs_ = rs;
        break;
      }
      case Token::kEE:
        if (!st.MixDh(st.e.get(), st.re)) return fail();
        break;
      case Token::kES:
        if (!(i ? st.MixDh(st.e.get(), rs_) : st.MixDh(st.s, st.re))) return fail();
        break;
      case Token::kSE:
        if (!(i ? st.MixDh(st.s, st.re) : st.MixDh(st.e.get(), rs_))) return fail();
        break;
      case Token::kSS:
        if (!st.MixDh(st.s, rs_)) return fail();
        break;
      case Token::kPsk:
        st.symmetric.MixKeyAndHash(st.psks[st.next_psk++].span());
        break;
    }
  }
  std::vector<uint8_t> payload;
  if (!st.symmetric.DecryptAndHash(rest, &payload)) return fail();
  ++st.next_message;
  return payload;
}

std::pair<CipherState, CipherState> HandshakeState::Split() const {
  if (!IsComplete() || failed_) {
    std::fputs("caravan: Noise Split() before the handshake completed\n", stderr);
    std::abort();
  }
  return impl_->symmetric.Split();
}

NoiseTransport HandshakeState::SplitTransport() const {
  auto [c1, c2] = Split();
  if (impl_->initiator) return {std::move(c1), std::move(c2)};
  return {std::move(c2), std::move(c1)};
}

const NoiseHash& HandshakeState::handshake_hash() const { return impl_->symmetric.h(); }

}  // namespace caravan::crypto
