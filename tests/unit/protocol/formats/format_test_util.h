#pragma once
// Helpers shared by the STIX and MISP tests: export items built like the
// daemon builds them, and the conversion of an imported BulkItem back into
// a validated Indicator (what the daemon does with a submission).

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "protocol/indicator_parse.h"
#include "protocol/record_codec.h"
#include "protocol/formats/stix.h"

namespace caravan::protocol::testing {

inline PublicKey Key(uint8_t fill) {
  PublicKey k;
  k.fill(fill);
  k[0] = 0xfb;  // a '-' and '_' in base64url
  return k;
}

inline ExportItem MakeItem(Indicator ind, uint8_t origin = 1, uint32_t revision = 1,
                           int64_t created = 1767225600) {
  auto valid = ValidateIndicator(std::move(ind));
  EXPECT_TRUE(valid.ok()) << valid.status().ToString();
  ExportItem it;
  it.body.origin = Key(origin);
  it.body.origin_seq = revision;
  it.body.revision = revision;
  it.body.created = created;
  it.body.indicator = *valid;
  it.id = ComputeIndicatorId(it.body.origin, valid->type, valid->value);
  it.origin_name = origin == 1 ? "CERT-UZ" : "CERT-KZ";
  it.origin_country = origin == 1 ? "UZ" : "KZ";
  std::array<uint8_t, 64> sig;
  sig.fill(static_cast<uint8_t>(0x40 + revision));
  it.signed_record = EncodeSignedRecord({EncodeRecordBody(it.body), sig});
  return it;
}

inline Indicator Ind(IndicatorType type, std::string value) {
  Indicator i;
  i.type = type;
  i.value = std::move(value);
  return i;
}

// What the daemon does with a raw submission: parse names, fill defaults,
// validate.
inline Result<Indicator> ToIndicator(const BulkItem& b) {
  Indicator i;
  auto type = ParseTypeName(b.type);
  if (!type) return InvalidInput("type " + b.type);
  i.type = *type;
  i.value = b.value;
  if (!b.tlp.empty()) {
    auto tlp = ParseTlpName(b.tlp);
    if (!tlp) return InvalidInput("tlp " + b.tlp);
    i.tlp = *tlp;
  }
  if (b.confidence >= 0) i.confidence = static_cast<uint8_t>(b.confidence);
  i.tags = b.tags;
  i.description = b.description;
  i.valid_until = b.valid_until;
  i.first_seen = b.first_seen;
  i.last_seen = b.last_seen;
  if (!b.reshare.empty()) {
    auto r = ParseReshareName(b.reshare);
    if (!r) return InvalidInput("reshare " + b.reshare);
    i.reshare = *r;
  }
  return ValidateIndicator(std::move(i));
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string TestData(const std::string& rel) {
  return std::string(CARAVAN_TESTDATA_DIR) + "/" + rel;
}

}  // namespace caravan::protocol::testing
