#include "protocol/formats/stix_json_writer.h"

#include <algorithm>
#include <charconv>
#include <iterator>

#include "protocol/record_codec.h"
#include "protocol/time_text.h"

namespace caravan::protocol {
namespace {

// The members below are written in the order nlohmann's object (a
// std::map) dumps them: byte order of the keys. StixIndicator builds the
// same members; keep the two in step (the equality tests catch a drift).

// indicator-type-ov (as in stix.cc): tags spelled like one become
// indicator_types too.
constexpr std::string_view kIndicatorTypeOv[] = {
    "anomalous-activity", "anonymization", "benign",  "compromised",
    "malicious-activity", "attribution",   "unknown"};

bool IsPlain(std::string_view s) {
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') return false;
  }
  return true;
}

template <typename Int>
void AppendInt(Int value, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;  // 24 bytes hold any 64-bit integer
  out.append(buf, end);
}

// `"key":` (keys are plain ASCII literals) preceded by a comma unless it
// opens its object.
void Key(std::string_view key, bool first, std::string& out) {
  if (!first) out += ',';
  out += '"';
  out += key;
  out += "\":";
}

void StringMember(std::string_view key, std::string_view value, bool first,
                  std::string& out) {
  Key(key, first, out);
  AppendJsonString(value, out);
}

void StringArray(const std::vector<std::string>& values, std::string& out) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(values[i], out);
  }
  out += ']';
}

// Seconds of 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z (Unix time):
// the range whose years print as exactly four digits.
constexpr int64_t kYear0 = -62167219200;
constexpr int64_t kYear10000 = 253402300800;

void Two(unsigned v, char* at) {
  at[0] = static_cast<char>('0' + v / 10);
  at[1] = static_cast<char>('0' + v % 10);
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" for secs in [kYear0, kYear10000).
void AppendFastTime(int64_t secs, unsigned millis, std::string& out) {
  const CivilTime c = ToCivilTime(secs);
  char buf[24] = "0000-00-00T00:00:00.000";
  const auto year = static_cast<unsigned>(c.year);
  Two(year / 100, buf);
  Two(year % 100, buf + 2);
  Two(c.month, buf + 5);
  Two(c.day, buf + 8);
  Two(c.hour, buf + 11);
  Two(c.minute, buf + 14);
  Two(c.second, buf + 17);
  buf[20] = static_cast<char>('0' + millis / 100);
  Two(millis % 100, buf + 21);
  out.append(buf, 23);
  out += 'Z';
}

// StixTime(unix_seconds), quoted.
void TimeMember(std::string_view key, int64_t unix_seconds, bool first,
                std::string& out) {
  Key(key, first, out);
  out += '"';
  if (unix_seconds >= kYear0 && unix_seconds < kYear10000) {
    AppendFastTime(unix_seconds, 0, out);
  } else {
    out += StixTime(unix_seconds);
  }
  out += '"';
}

// StixTimeMillis(unix_millis), quoted.
void MillisMember(std::string_view key, int64_t unix_millis, bool first,
                  std::string& out) {
  Key(key, first, out);
  out += '"';
  AppendStixTimeMillis(unix_millis, out);
  out += '"';
}

// Standard base64 with padding, appended (the text sodium_bin2base64's
// original variant writes). libsodium's encoder is constant-time, which
// public record bytes do not need, and it was a tenth of a page's cost.
void AppendBase64(std::span<const uint8_t> bytes, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t at = out.size();
  out.resize(at + (bytes.size() + 2) / 3 * 4);
  char* p = out.data() + at;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = uint32_t{bytes[i]} << 16 | uint32_t{bytes[i + 1]} << 8 |
                       bytes[i + 2];
    *p++ = kAlphabet[v >> 18];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = kAlphabet[(v >> 6) & 63];
    *p++ = kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const uint32_t v =
        uint32_t{bytes[i]} << 16 | (two ? uint32_t{bytes[i + 1]} << 8 : 0);
    *p++ = kAlphabet[v >> 18];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = two ? kAlphabet[(v >> 6) & 63] : '=';
    *p++ = '=';
  }
}

}  // namespace

void AppendJsonString(std::string_view text, std::string& out) {
  if (IsPlain(text)) {
    out += '"';
    out += text;
    out += '"';
    return;
  }
  // Control characters, quotes, backslashes, non-ASCII (valid or not):
  // nlohmann's escaper, so the bytes match its dump exactly.
  out += nlohmann::json(text).dump(-1, ' ', false,
                                   nlohmann::json::error_handler_t::replace);
}

void AppendStixTimeMillis(int64_t unix_millis, std::string& out) {
  if (unix_millis >= kYear0 * 1000 && unix_millis < kYear10000 * 1000) {
    int64_t secs = unix_millis / 1000;
    int64_t ms = unix_millis % 1000;
    if (ms < 0) {
      ms += 1000;
      --secs;
    }
    AppendFastTime(secs, static_cast<unsigned>(ms), out);
    return;
  }
  out += StixTimeMillis(unix_millis);
}

void StixOriginTexts::For(const PublicKey& origin) {
  if (set_ && origin == origin_) return;
  origin_ = origin;
  identity_id_ = StixIdentityId(origin);
  key_text_ = OriginKeyText(origin);
  set_ = true;
}

StixObjectHead StixHeadOf(const ExportItem& item) {
  StixObjectHead head;
  const bool is_cve = item.body.indicator.type == IndicatorType::kCve;
  head.type = is_cve ? std::string_view("vulnerability")
                     : std::string_view("indicator");
  const bool posted_id =
      item.stix_id.size() > head.type.size() + 2 &&
      item.stix_id.compare(0, head.type.size(), head.type) == 0 &&
      item.stix_id.compare(head.type.size(), 2, "--") == 0;
  head.id = posted_id ? item.stix_id
                      : std::string(head.type) + "--" + UuidFromDigest(item.id);
  head.modified_millis =
      item.body.created * 1000 + item.body.created_millis;
  return head;
}

bool AppendStixIndicatorJson(const ExportItem& item, std::string& out,
                             StixOriginTexts* origin_texts) {
  const RecordBody& body = item.body;
  const Indicator& ind = body.indicator;
  const bool is_cve = ind.type == IndicatorType::kCve;
  std::string pattern;
  if (!is_cve) {
    auto p = StixPattern(ind.type, ind.value);
    if (!p.ok()) return false;
    pattern = std::move(*p);
  }
  StixOriginTexts local_texts;
  StixOriginTexts& texts = origin_texts ? *origin_texts : local_texts;
  texts.For(body.origin);
  const StixObjectHead head = StixHeadOf(item);
  // Times as StixIndicator derives them (see there for why).
  const int64_t modified_ms = head.modified_millis;
  const int64_t modified = body.created;
  const int64_t created = item.first_created > 0
                              ? std::min(item.first_created, modified)
                              : modified;
  const int64_t created_ms =
      body.revision == 1 ? modified_ms : std::min(created * 1000, modified_ms);

  out += '{';
  Key("confidence", true, out);
  AppendInt(ind.confidence, out);
  MillisMember("created", created_ms, false, out);
  StringMember("created_by_ref", texts.identity_id(), false, out);
  if (!ind.description.empty()) {
    StringMember("description", ind.description, false, out);
  }

  Key("extensions", false, out);
  out += '{';
  Key(kCaravanExtensionId, true, out);
  out += '{';
  StringMember("caravan_id", IdToHex(item.id), true, out);
  StringMember("extension_type", "property-extension", false, out);
  if (ind.first_seen > 0) {
    TimeMember("first_seen", ind.first_seen, false, out);
  }
  if (ind.last_seen > 0) {
    TimeMember("last_seen", ind.last_seen, false, out);
  }
  StringMember("origin_key", texts.key_text(), false, out);
  Key("origin_seq", false, out);
  AppendInt(body.origin_seq, out);
  StringMember("reshare", ReshareName(ind.reshare), false, out);
  Key("revision", false, out);
  AppendInt(body.revision, out);
  if (!ind.revoke_reason.empty()) {
    StringMember("revoke_reason", ind.revoke_reason, false, out);
  }
  if (!item.signed_record.empty()) {
    Key("signed_record", false, out);
    out += '"';
    AppendBase64(item.signed_record, out);  // plain ASCII: no escaping
    out += '"';
  }
  if (is_cve && ind.valid_until > 0) {
    TimeMember("valid_until", ind.valid_until, false, out);
  }
  Key("variant", false, out);
  AppendInt(body.variant, out);
  out += "}}";

  if (is_cve) {
    Key("external_references", false, out);
    out += "[{";
    StringMember("external_id", ind.value, true, out);
    StringMember("source_name", "cve", false, out);
    out += "}]";
  }
  StringMember("id", head.id, false, out);
  if (!is_cve) {
    std::vector<std::string> types;
    for (const std::string& t : ind.tags) {
      if (std::find(std::begin(kIndicatorTypeOv), std::end(kIndicatorTypeOv),
                    t) != std::end(kIndicatorTypeOv)) {
        types.push_back(t);
      }
    }
    if (!types.empty()) {
      Key("indicator_types", false, out);
      StringArray(types, out);
    }
  }
  if (!ind.tags.empty()) {
    Key("labels", false, out);
    StringArray(ind.tags, out);
  }
  MillisMember("modified", modified_ms, false, out);
  StringMember("name", ind.value, false, out);
  Key("object_marking_refs", false, out);
  out += '[';
  AppendJsonString(TlpMarkingId(ind.tlp), out);
  out += ']';
  if (!is_cve) {
    StringMember("pattern", pattern, false, out);
    StringMember("pattern_type", "stix", false, out);
    StringMember("pattern_version", "2.1", false, out);
  }
  if (ind.revoked) {
    Key("revoked", false, out);
    out += "true";
  }
  StringMember("spec_version", "2.1", false, out);
  StringMember("type", head.type, false, out);
  if (!is_cve) {
    int64_t valid_from = ind.first_seen > 0 ? ind.first_seen : created;
    if (ind.valid_until > 0) valid_from = std::min(valid_from, ind.valid_until - 1);
    TimeMember("valid_from", valid_from, false, out);
    if (ind.valid_until > 0) {
      TimeMember("valid_until", ind.valid_until, false, out);
    }
  }
  out += '}';
  return true;
}

}  // namespace caravan::protocol
