#include "protocol/record_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <capnp/any.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "protocol/peer.capnp.h"

namespace caravan::protocol {
namespace {

constexpr const char* kPinnedId = "860205bf94dd810f6d6575b4486eaefda69961452849adfffb213ee3b3191161";

RecordBody SampleBody() {
  RecordBody b;
  for (size_t i = 0; i < b.origin.size(); ++i) b.origin[i] = static_cast<uint8_t>(i + 1);
  b.origin_seq = 7;
  b.revision = 2;
  b.created = 1767225600;
  b.variant = 0;
  b.indicator.type = IndicatorType::kDomain;
  b.indicator.value = "evil.example";
  b.indicator.tlp = Tlp::kAmberStrict;
  b.indicator.confidence = 90;
  b.indicator.tags = {"apt", "attack:T1566", "phishing"};
  b.indicator.description = "C2 of campaign X";
  b.indicator.first_seen = 1767000000;
  b.indicator.last_seen = 1767100000;
  b.indicator.valid_until = 1770000000;
  b.indicator.reshare = Reshare::kFederation;
  return b;
}

TEST(RecordCodec, RoundTrip) {
  const RecordBody b = SampleBody();
  const auto bytes = EncodeRecordBody(b);
  ASSERT_EQ(bytes.size() % 8, 0u);
  auto d = DecodeRecordBody(bytes);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, b);

  RecordBody revoked = b;
  revoked.indicator.revoked = true;
  revoked.indicator.revoke_reason = "false positive";
  revoked.indicator.tags.clear();
  revoked.indicator.description.clear();
  auto d2 = DecodeRecordBody(EncodeRecordBody(revoked));
  ASSERT_TRUE(d2.ok()) << d2.status().ToString();
  EXPECT_EQ(*d2, revoked);
}

// Issue 19: revision times carry milliseconds in a field added later.
// A body without them (created_millis 0, every record made before) keeps
// the old layout byte for byte: the canonical form drops the zero data
// word, so the data section is still the three words it always was and
// old signatures and ids are unaffected. Non-zero millis round-trip.
TEST(RecordCodec, CreatedMillisIsAdditive) {
  RecordBody b = SampleBody();
  ASSERT_EQ(b.created_millis, 0);
  const auto old_bytes = EncodeRecordBody(b);
  // Root struct pointer: bits 32..47 are the data section size in words.
  ASSERT_GE(old_bytes.size(), 8u);
  EXPECT_EQ(old_bytes[4] | (old_bytes[5] << 8), 3);
  b.created_millis = 123;
  const auto new_bytes = EncodeRecordBody(b);
  EXPECT_EQ(new_bytes[4] | (new_bytes[5] << 8), 4);
  EXPECT_EQ(new_bytes.size(), old_bytes.size() + 8);
  auto d = DecodeRecordBody(new_bytes);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->created_millis, 123);
  EXPECT_EQ(*d, b);
  b.created_millis = 999;
  auto top = DecodeRecordBody(EncodeRecordBody(b));
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->created_millis, 999);
}

TEST(RecordCodec, DeterministicAndTagOrderIndependent) {
  RecordBody a = SampleBody();
  RecordBody b = SampleBody();
  b.indicator.tags = {"phishing", "apt", "attack:T1566", "apt"};
  EXPECT_EQ(EncodeRecordBody(a), EncodeRecordBody(a));
  EXPECT_EQ(EncodeRecordBody(a), EncodeRecordBody(b));
  RecordBody c = SampleBody();
  c.indicator.confidence = 91;
  EXPECT_NE(EncodeRecordBody(a), EncodeRecordBody(c));
}

TEST(RecordCodec, RejectsNonCanonicalEncodings) {
  const RecordBody b = SampleBody();
  // The same content written by a plain (non-canonical) builder: a segment
  // table in front and builder layout.
  capnp::MallocMessageBuilder m;
  auto root = m.initRoot<wire::RecordBody>();
  auto bytes = EncodeRecordBody(b);
  {
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / 8);
    memcpy(words.begin(), bytes.data(), bytes.size());
    kj::ArrayPtr<const capnp::word> seg = words.asPtr();
    capnp::SegmentArrayMessageReader r(kj::arrayPtr(&seg, 1));
    m.setRoot(r.getRoot<wire::RecordBody>());
  }
  (void)root;
  auto flat = capnp::messageToFlatArray(m);
  auto fb = flat.asBytes();
  auto d = DecodeRecordBody(std::vector<uint8_t>(fb.begin(), fb.end()));
  EXPECT_FALSE(d.ok());

  // Trailing padding word after the canonical message.
  auto padded = bytes;
  padded.insert(padded.end(), 8, 0);
  auto p = DecodeRecordBody(padded);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kCorrupt);

  // Unsorted tags (built by hand, bypassing the encoder's sort).
  capnp::MallocMessageBuilder u;
  auto ub = u.initRoot<wire::RecordBody>();
  ub.setOrigin(capnp::Data::Reader(b.origin.data(), 32));
  ub.setOriginSeq(1);
  ub.setRevision(1);
  auto ui = ub.initIndicator();
  ui.setType(wire::IndicatorType::DOMAIN);
  ui.setValue("evil.example");
  auto tags = ui.initTags(2);
  tags.set(0, "b");
  tags.set(1, "a");
  auto canon = capnp::AnyStruct::Reader(ub.asReader()).canonicalize();
  auto cb = canon.asBytes();
  auto ud = DecodeRecordBody(std::vector<uint8_t>(cb.begin(), cb.end()));
  ASSERT_FALSE(ud.ok());
  EXPECT_NE(ud.status().message().find("sorted"), std::string::npos)
      << ud.status().message();
}

// DecodeStoredRecordBody (bytes from our own store) returns what
// DecodeRecordBody returns for canonical bytes, skips only the
// canonical-form checks (a trailing word passes it and fails the strict
// decode) and keeps every other check.
TEST(RecordCodec, StoredDecodeSkipsOnlyTheCanonicalFormChecks) {
  RecordBody b = SampleBody();
  for (int i = 0; i < 3; ++i) {
    const auto bytes = EncodeRecordBody(b);
    auto strict = DecodeRecordBody(bytes);
    auto stored = DecodeStoredRecordBody(bytes);
    ASSERT_TRUE(strict.ok()) << strict.status().ToString();
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_EQ(*stored, *strict);
    EXPECT_EQ(*stored, b);
    b.indicator.tags.clear();  // then no description either, then a revoke
    if (i == 1) {
      b.indicator.description.clear();
      b.indicator.revoked = true;
      b.indicator.revoke_reason = "false positive";
    }
  }

  const auto bytes = EncodeRecordBody(SampleBody());
  auto padded = bytes;
  padded.insert(padded.end(), 8, 0);
  EXPECT_FALSE(DecodeRecordBody(padded).ok());
  auto lenient = DecodeStoredRecordBody(padded);
  ASSERT_TRUE(lenient.ok()) << lenient.status().ToString();
  EXPECT_EQ(*lenient, SampleBody());

  EXPECT_FALSE(DecodeStoredRecordBody({}).ok());
  auto odd = DecodeStoredRecordBody(std::vector<uint8_t>(bytes.begin(), bytes.end() - 3));
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("multiple of 8"), std::string::npos);
  auto big = DecodeStoredRecordBody(std::vector<uint8_t>(kMaxRecordBodyBytes + 8, 0));
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("limit"), std::string::npos);
  EXPECT_FALSE(DecodeStoredRecordBody(std::vector<uint8_t>(64, 0xAB)).ok());
  // A field out of range is refused as before.
  RecordBody bad = SampleBody();
  bad.revision = 0;
  auto zero = DecodeStoredRecordBody(EncodeRecordBody(bad));
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("revision is 0"), std::string::npos);
  bad = SampleBody();
  bad.indicator.value = "EVIL.example";  // not in normalized form
  EXPECT_FALSE(DecodeStoredRecordBody(EncodeRecordBody(bad)).ok());
}

TEST(RecordCodec, RejectsTruncatedAndGarbage) {
  const auto bytes = EncodeRecordBody(SampleBody());
  for (size_t n = 0; n < bytes.size(); n += 8) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    EXPECT_FALSE(DecodeRecordBody(cut).ok()) << n;
  }
  std::vector<uint8_t> odd(bytes.begin(), bytes.end() - 3);
  auto o = DecodeRecordBody(odd);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("multiple of 8"), std::string::npos);
  std::vector<uint8_t> garbage(64, 0xAB);
  EXPECT_FALSE(DecodeRecordBody(garbage).ok());
  std::vector<uint8_t> huge(kMaxRecordBodyBytes + 8, 0);
  auto h = DecodeRecordBody(huge);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("limit"), std::string::npos);
}

// Encodes a body with fields the encoder would never produce from a valid
// RecordBody, by letting the test tweak the wire struct directly.
template <typename F>
std::vector<uint8_t> Tweaked(F tweak) {
  const RecordBody b = SampleBody();
  auto bytes = EncodeRecordBody(b);
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / 8);
  memcpy(words.begin(), bytes.data(), bytes.size());
  kj::ArrayPtr<const capnp::word> seg = words.asPtr();
  capnp::SegmentArrayMessageReader r(kj::arrayPtr(&seg, 1));
  capnp::MallocMessageBuilder m;
  m.setRoot(r.getRoot<wire::RecordBody>());
  auto root = m.getRoot<wire::RecordBody>();
  tweak(root);
  auto canon = capnp::AnyStruct::Reader(root.asReader()).canonicalize();
  auto cb = canon.asBytes();
  return std::vector<uint8_t>(cb.begin(), cb.end());
}

TEST(RecordCodec, RejectsInvalidFields) {
  struct Case {
    std::function<void(wire::RecordBody::Builder)> tweak;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {[](wire::RecordBody::Builder b) {
         uint8_t k[31] = {};
         b.setOrigin(capnp::Data::Reader(k, 31));
       },
       "origin is 31 bytes"},
      {[](wire::RecordBody::Builder b) {
         b.getIndicator().setType(static_cast<wire::IndicatorType>(10));
       },
       "unknown indicator type 10"},
      {[](wire::RecordBody::Builder b) {
         b.getIndicator().setTlp(static_cast<wire::Tlp>(5));
       },
       "unknown tlp 5"},
      {[](wire::RecordBody::Builder b) {
         b.getIndicator().setReshare(static_cast<wire::Reshare>(3));
       },
       "unknown reshare 3"},
      {[](wire::RecordBody::Builder b) {
         b.getIndicator().setValue(std::string(kMaxValueBytes + 1, 'a'));
       },
       "value is longer"},
      {[](wire::RecordBody::Builder b) { b.getIndicator().setValue("EVIL.example"); },
       "not in normalized form"},
      {[](wire::RecordBody::Builder b) { b.getIndicator().setValue("evil[.]example"); },
       "not in normalized form"},
      {[](wire::RecordBody::Builder b) { b.getIndicator().setValue("not a domain"); },
       "domain:"},
      {[](wire::RecordBody::Builder b) { b.getIndicator().setConfidence(200); },
       "confidence: 200"},
      {[](wire::RecordBody::Builder b) { b.setOriginSeq(0); }, "origin_seq is 0"},
      {[](wire::RecordBody::Builder b) { b.setRevision(0); }, "revision is 0"},
      {[](wire::RecordBody::Builder b) { b.setCreated(-5); }, "created is negative"},
      {[](wire::RecordBody::Builder b) { b.setCreatedMillis(1000); },
       "created_millis is 1000"},
      {[](wire::RecordBody::Builder b) { b.getIndicator().setDescription(""); },
       "not the canonical encoding"},  // empty text must be a null pointer
  };
  for (const Case& c : cases) {
    auto d = DecodeRecordBody(Tweaked(c.tweak));
    ASSERT_FALSE(d.ok()) << c.reason;
    EXPECT_EQ(d.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(d.status().message().find(c.reason), std::string::npos)
        << d.status().message();
  }
}

TEST(RecordCodec, IdIsPinned) {
  PublicKey origin{};
  for (size_t i = 0; i < origin.size(); ++i) origin[i] = static_cast<uint8_t>(i);
  const IndicatorId id = ComputeIndicatorId(origin, IndicatorType::kIpv4, "1.2.3.4");
  // BLAKE2b-256(00 01 .. 1f || 00 || "1.2.3.4"), computed once and pinned:
  // changing it changes every indicator id in every deployed store.
  EXPECT_EQ(IdToHex(id), kPinnedId);
  EXPECT_NE(ComputeIndicatorId(origin, IndicatorType::kDomain, "1.2.3.4"), id);
  PublicKey other = origin;
  other[0] ^= 1;
  EXPECT_NE(ComputeIndicatorId(other, IndicatorType::kIpv4, "1.2.3.4"), id);
}

TEST(RecordCodec, HexIds) {
  IndicatorId id{};
  id[0] = 0xAB;
  id[31] = 0x01;
  const std::string hex = IdToHex(id);
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.substr(0, 2), "ab");
  EXPECT_EQ(IdFromHex(hex), id);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(IdFromHex(upper), id);
  EXPECT_FALSE(IdFromHex(hex.substr(1)).has_value());
  EXPECT_FALSE(IdFromHex(hex + "0").has_value());
  EXPECT_FALSE(IdFromHex(std::string(63, '0') + "g").has_value());
}

SignedRecord SampleSingle() {
  SignedRecord r;
  r.body = EncodeRecordBody(SampleBody());
  std::array<uint8_t, 64> sig{};
  sig.fill(0x5A);
  r.signature = sig;
  return r;
}

SignedRecord SampleBatch() {
  SignedRecord r;
  r.body = EncodeRecordBody(SampleBody());
  BatchProofData p;
  p.salt.fill(1);
  p.leaf_index = 3;
  p.tree_size = 5;
  p.path.resize(3);
  p.path[0].fill(2);
  p.path[1].fill(3);
  p.path[2].fill(4);
  p.root_signature.fill(9);
  r.signature = p;
  return r;
}

TEST(SignedRecordCodec, RoundTripBoth) {
  for (const SignedRecord& r : {SampleSingle(), SampleBatch()}) {
    auto d = DecodeSignedRecord(EncodeSignedRecord(r));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, r);
  }
}

TEST(SignedRecordCodec, EmbedsInPeerMessages) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<wire::SignedRecord>();
  FillSignedRecord(SampleBatch(), b);
  auto back = ReadSignedRecord(b.asReader());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, SampleBatch());
}

// The limits of a record made in memory are the decoder's: records within
// them pass, and each broken one fails both with the same words.
TEST(SignedRecordCodec, LimitsInMemoryAreTheDecodersLimits) {
  for (const SignedRecord& r : {SampleSingle(), SampleBatch()}) {
    EXPECT_TRUE(CheckSignedRecordLimits(r).ok());
  }
  auto batch = [](std::function<void(BatchProofData&)> change) {
    SignedRecord r = SampleBatch();
    change(std::get<BatchProofData>(r.signature));
    return r;
  };
  SignedRecord empty = SampleSingle();
  empty.body.clear();
  SignedRecord big = SampleSingle();
  big.body.assign(kMaxRecordBodyBytes + 1, 0);
  const std::vector<std::pair<SignedRecord, std::string>> broken = {
      {batch([](auto& p) { p.leaf_index = 5; }), "outside tree of size 5"},
      {batch([](auto& p) { p.tree_size = 0; }), "outside tree of size 0"},
      {batch([](auto& p) { p.path.resize(65); }), "65 entries, limit 64"},
      {empty, "empty body"},
      {big, "limit " + std::to_string(kMaxRecordBodyBytes)},
  };
  for (const auto& [r, words] : broken) {
    const Status limits = CheckSignedRecordLimits(r);
    ASSERT_FALSE(limits.ok()) << words;
    EXPECT_NE(limits.message().find(words), std::string::npos)
        << limits.message();
    auto decoded = DecodeSignedRecord(EncodeSignedRecord(r));
    ASSERT_FALSE(decoded.ok()) << words;
    EXPECT_NE(decoded.status().message().find(words), std::string::npos)
        << decoded.status().message();
  }
}

TEST(SignedRecordCodec, RejectsBadShapes) {
  auto check = [](std::function<void(wire::SignedRecord::Builder)> make,
                  const std::string& reason) {
    capnp::MallocMessageBuilder m;
    make(m.initRoot<wire::SignedRecord>());
    auto flat = capnp::messageToFlatArray(m);
    auto fb = flat.asBytes();
    auto d = DecodeSignedRecord(std::vector<uint8_t>(fb.begin(), fb.end()));
    ASSERT_FALSE(d.ok()) << reason;
    EXPECT_NE(d.status().message().find(reason), std::string::npos)
        << d.status().message();
  };
  check([](auto b) {
    FillSignedRecord(SampleSingle(), b);
    uint8_t s[63] = {};
    b.setSingle(capnp::Data::Reader(s, 63));
  }, "signature is not 64 bytes");
  check([](auto b) {
    FillSignedRecord(SampleBatch(), b);
    uint8_t s[31] = {};
    b.getBatch().setSalt(capnp::Data::Reader(s, 31));
  }, "salt is not 32 bytes");
  check([](auto b) {
    FillSignedRecord(SampleBatch(), b);
    b.getBatch().setLeafIndex(5);
  }, "outside tree of size 5");
  check([](auto b) {
    FillSignedRecord(SampleBatch(), b);
    b.getBatch().initPath(65);
  }, "65 entries, limit 64");
  check([](auto b) {
    FillSignedRecord(SampleBatch(), b);
    auto path = b.getBatch().initPath(1);
    uint8_t h[33] = {};
    path.set(0, capnp::Data::Reader(h, 33));
  }, "path entry is not 32 bytes");
  check([](auto b) {
    FillSignedRecord(SampleBatch(), b);
    b.getBatch().setRootSignature(capnp::Data::Reader(nullptr, 0));
  }, "root signature is not 64 bytes");
  check([](auto b) {
    std::vector<uint8_t> big(kMaxRecordBodyBytes + 1, 0);
    b.setBody(capnp::Data::Reader(big.data(), big.size()));
    std::array<uint8_t, 64> s{};
    b.setSingle(capnp::Data::Reader(s.data(), 64));
  }, "signed record:");
  check([](auto b) {
    std::array<uint8_t, 64> s{};
    b.setSingle(capnp::Data::Reader(s.data(), 64));
  }, "empty body");

  const auto good = EncodeSignedRecord(SampleSingle());
  for (size_t n = 0; n < good.size(); n += 8) {
    EXPECT_FALSE(DecodeSignedRecord(std::vector<uint8_t>(good.begin(), good.begin() + n)).ok());
  }
  auto trailing = good;
  trailing.insert(trailing.end(), 8, 0);
  auto t = DecodeSignedRecord(trailing);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("trailing"), std::string::npos);
}

}  // namespace
}  // namespace caravan::protocol
