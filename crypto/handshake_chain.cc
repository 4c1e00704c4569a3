#include "crypto/handshake_chain.h"

#include "crypto/link_certificate.h"

namespace caravan::crypto {
namespace {

void SetError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

// The certificate's length for a payload of `size` bytes, or 0 when no
// certificate length leaves a whole number of statements (at most the
// maximum). 96 + 209a == 112 + 209b has no solution, so it is unique.
size_t CertificateBytes(size_t size) {
  for (size_t cert : {kHandshakePayloadSize, kHandshakePayloadV2Size}) {
    if (size < cert) continue;
    const size_t rest = size - cert;
    if (rest % kRotationStatementBytes == 0 &&
        rest / kRotationStatementBytes <= kMaxHandshakeChain) {
      return cert;
    }
  }
  return 0;
}

}  // namespace

bool IsHandshakePayloadSize(size_t size) { return CertificateBytes(size) != 0; }

std::optional<SplitPayload> SplitHandshakePayload(std::span<const uint8_t> payload,
                                                  std::string* error) {
  const size_t cert = CertificateBytes(payload.size());
  if (cert == 0) {
    SetError(error, "identity payload is " + std::to_string(payload.size()) +
                        " bytes: not a 96- or 112-byte link certificate followed by at most " +
                        std::to_string(kMaxHandshakeChain) + " rotation statements of " +
                        std::to_string(kRotationStatementBytes) + " bytes");
    return std::nullopt;
  }
  SplitPayload split;
  split.certificate = payload.first(cert);
  for (size_t at = cert; at < payload.size(); at += kRotationStatementBytes) {
    std::string why;
    auto s = ParseRotationStatement(payload.subspan(at, kRotationStatementBytes), &why);
    if (!s) {
      SetError(error, "rotation statement " + std::to_string(split.chain.size() + 1) +
                          " of the handshake chain: " + why);
      return std::nullopt;
    }
    if (!split.chain.empty() && split.chain.back().new_key != s->old_key) {
      SetError(error, "rotation statement " + std::to_string(split.chain.size() + 1) +
                          " of the handshake chain does not follow the one before it");
      return std::nullopt;
    }
    split.chain.push_back(*s);
  }
  return split;
}

bool ChainEndsAt(const std::vector<RotationStatement>& chain,
                 const Ed25519PublicKey& identity) {
  return chain.empty() || chain.back().new_key == identity;
}

std::vector<uint8_t> EncodeHandshakeChain(const std::vector<RotationStatement>& chain) {
  std::vector<uint8_t> out;
  const size_t first = chain.size() > kMaxHandshakeChain ? chain.size() - kMaxHandshakeChain : 0;
  for (size_t i = first; i < chain.size(); ++i) {
    const auto bytes = EncodeRotationStatement(chain[i]);
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  return out;
}

}  // namespace caravan::crypto
