#include "daemon/feeds/export_item.h"

#include <sodium.h>

#include "protocol/record_codec.h"

namespace caravan::feeds {

namespace {

Result<protocol::ExportItem> DecodedItem(const store::StoredRecord& record,
                                         std::string origin_name,
                                         std::string origin_country) {
  auto signed_record = protocol::DecodeSignedRecord(record.signed_bytes);
  if (!signed_record.ok()) return signed_record.status();
  // From our store: its canonical form was checked when it entered.
  auto body = protocol::DecodeStoredRecordBody(signed_record->body);
  if (!body.ok()) return body.status();
  protocol::ExportItem item;
  item.body = std::move(*body);
  item.id = record.id;
  item.origin_name = std::move(origin_name);
  item.origin_country = std::move(origin_country);
  return item;
}

}  // namespace

Result<protocol::ExportItem> ExportItemFromRecord(
    const store::StoredRecord& record, std::string origin_name,
    std::string origin_country) {
  auto item = DecodedItem(record, std::move(origin_name),
                          std::move(origin_country));
  if (item.ok()) item->signed_record = record.signed_bytes;
  return item;
}

Result<protocol::ExportItem> ExportItemFromRecord(
    store::StoredRecord&& record, std::string origin_name,
    std::string origin_country) {
  auto item = DecodedItem(record, std::move(origin_name),
                          std::move(origin_country));
  if (item.ok()) item->signed_record = std::move(record.signed_bytes);
  return item;
}

Result<protocol::ExportItem> LoadExportItem(store::Reader& reader,
                                            const store::IndicatorRow& row) {
  auto revisions = reader.GetRevisions(row.id);
  if (!revisions.ok()) return revisions.status();
  const store::StoredRecord* current = nullptr;
  for (const auto& rec : *revisions) {
    if (rec.revision == row.revision && rec.variant == row.variant) {
      current = &rec;
    }
  }
  if (current == nullptr) {
    return NotFound("record " + protocol::IdToHex(row.id) + " revision " +
                    std::to_string(row.revision) + " is not held");
  }
  auto item =
      ExportItemFromRecord(*current, row.origin_name, row.origin_country);
  if (!item.ok()) return item.status();
  // GetRevisions is ordered by revision: the first is the oldest held.
  item->first_created = revisions->front().created;
  // A TAXII client's id for it is exported in place of the derived one.
  auto posted = reader.PostedStixId(row.id);
  if (!posted.ok()) return posted.status();
  if (*posted) item->stix_id = std::move(**posted);
  return item;
}

std::string ToBase64(std::span<const uint8_t> bytes) {
  std::string out(sodium_base64_encoded_len(
                      bytes.size(), sodium_base64_VARIANT_ORIGINAL),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::vector<uint8_t>> FromBase64(std::string_view text) {
  std::vector<uint8_t> out(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(),
                        nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

}  // namespace caravan::feeds
