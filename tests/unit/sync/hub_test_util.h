#pragma once
// Helpers for the hub-mode sync tests: members with real identity keys and
// signed records built the way outbound.cc builds them.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/signing.h"
#include "protocol/record_codec.h"
#include "protocol/config/roster_file.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::daemon::sync::testing {

struct Member {
  std::string name;
  std::string country;
  std::unique_ptr<crypto::IdentityKey> key = crypto::IdentityKey::Generate();
  protocol::RosterMember Roster(std::string via = "") const {
    protocol::RosterMember m;
    m.name = name;
    m.country = country;
    m.key = key->public_key();
    m.via = std::move(via);
    return m;
  }
};

// A record originated and signed by `origin`.
inline protocol::SignedRecord SignedBy(const Member& origin,
                                       const std::string& value,
                                       uint64_t origin_seq = 1) {
  protocol::RecordBody body;
  body.origin = origin.key->public_key();
  body.origin_seq = origin_seq;
  body.revision = 1;
  body.created = 1'700'000'000;
  body.indicator.type = protocol::IndicatorType::kDomain;
  body.indicator.value = value;
  body.indicator.tlp = protocol::Tlp::kGreen;
  body.indicator.confidence = 80;
  body.indicator.reshare = protocol::Reshare::kFederation;
  std::vector<uint8_t> bytes = protocol::EncodeRecordBody(body);
  auto sig = crypto::Sign(*origin.key, crypto::SignDomain::kRecord, bytes);
  return protocol::SignedRecord{std::move(bytes), sig};
}

// Temporary directories are the store tests' own.
using store::testing::TempDir;

}  // namespace caravan::daemon::sync::testing
