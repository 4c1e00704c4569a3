#include "daemon/feeds/export_item.h"

#include <gtest/gtest.h>

#include "protocol/record_codec.h"

namespace caravan::feeds {
namespace {

TEST(Base64Test, RoundTripsEveryLength) {
  std::vector<uint8_t> bytes;
  for (int n = 0; n < 70; ++n) {
    auto text = ToBase64(bytes);
    EXPECT_EQ(text.size() % 4, 0u);
    auto back = FromBase64(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<uint8_t>(n * 37));
  }
}

TEST(Base64Test, RejectsBadText) {
  EXPECT_FALSE(FromBase64("abc").has_value());      // bad length
  EXPECT_FALSE(FromBase64("ab$=").has_value());     // bad character
  EXPECT_FALSE(FromBase64("QUJD QQ==").has_value());  // embedded space
}

TEST(ExportItemTest, DecodesTheSignedRecordBody) {
  protocol::RecordBody body;
  body.origin_seq = 7;
  body.revision = 2;
  body.created = 1700000000;
  body.indicator.type = protocol::IndicatorType::kDomain;
  body.indicator.value = "evil.example.com";
  protocol::SignedRecord signed_record;
  signed_record.body = protocol::EncodeRecordBody(body);
  signed_record.signature = std::array<uint8_t, 64>{};
  store::StoredRecord rec;
  rec.signed_bytes = protocol::EncodeSignedRecord(signed_record);
  rec.id[0] = 9;
  auto item = ExportItemFromRecord(rec, "CERT-UZ", "UZ");
  ASSERT_TRUE(item.ok()) << item.status().ToString();
  EXPECT_EQ(item->body, body);
  EXPECT_EQ(item->id, rec.id);
  EXPECT_EQ(item->origin_name, "CERT-UZ");
  EXPECT_EQ(item->origin_country, "UZ");
  EXPECT_EQ(item->signed_record, rec.signed_bytes);
}

TEST(ExportItemTest, CorruptRecordIsAnError) {
  store::StoredRecord rec;
  rec.signed_bytes = {1, 2, 3};
  EXPECT_FALSE(ExportItemFromRecord(rec, "x", "UZ").ok());
}

}  // namespace
}  // namespace caravan::feeds
