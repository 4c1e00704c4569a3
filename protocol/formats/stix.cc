#include "protocol/formats/stix.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "protocol/indicator_parse.h"
#include "protocol/record_codec.h"
#include "protocol/time_text.h"

namespace caravan::protocol {
namespace {

using nlohmann::json;

// TLP 2.0 marking definitions (oasis-open/cti-stix-common-objects,
// extension-definition-specifications/tlp-2.0) and the extension that
// defines them.
constexpr std::string_view kTlp2Ids[] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",  // clear
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",  // green
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",  // amber
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",  // amber+strict
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",  // red
};
constexpr std::string_view kTlp2ExtensionId =
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
constexpr std::string_view kTlp2Names[] = {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER",
                                           "TLP:AMBER+STRICT", "TLP:RED"};
// TLP 1.0 markings predefined by the STIX 2.1 specification (section 7.2.1.4).
constexpr std::pair<std::string_view, Tlp> kTlp1Ids[] = {
    {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::kClear},
    {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::kGreen},
    {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::kAmber},
    {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::kRed},
};

// Fixed times of the objects caravan defines once (identities of CERTs
// keep one version: a name change is not a new version of the identity).
constexpr int64_t kCaravanObjectsCreated = 1767225600;  // 2026-01-01

// indicator-type-ov: tags spelled like one become indicator_types too.
constexpr std::string_view kIndicatorTypeOv[] = {
    "anomalous-activity", "anonymization", "benign",  "compromised",
    "malicious-activity", "attribution",   "unknown"};

std::string Base64(std::span<const uint8_t> bytes, int variant) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::vector<uint8_t>> FromBase64(std::string_view text) {
  std::vector<uint8_t> out(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

// Quotes a pattern string literal: backslash and quote are escaped with a
// backslash (STIX 2.1 patterning, StringLiteral).
std::string QuoteLiteral(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string StixTime(int64_t t) {
  std::string s = FormatTime(t);  // ...:05Z
  s.insert(s.size() - 1, ".000");
  return s;
}

std::string StixTimeMillis(int64_t unix_millis) {
  int64_t secs = unix_millis / 1000;
  int64_t ms = unix_millis % 1000;
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  std::string s = FormatTime(secs);  // ...:05Z
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
  s.insert(s.size() - 1, frac);
  return s;
}

std::string UuidFromDigest(std::span<const uint8_t> d) {
  uint8_t b[16];
  std::copy_n(d.begin(), 16, b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x50);  // version 5 shape
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

std::string DerivedUuid(std::string_view domain, std::span<const uint8_t> bytes) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(domain.data()),
                            domain.size());
  const uint8_t zero = 0;  // separates domain from bytes unambiguously
  crypto_generichash_update(&st, &zero, 1);
  crypto_generichash_update(&st, bytes.data(), bytes.size());
  uint8_t out[32];
  crypto_generichash_final(&st, out, sizeof out);
  return UuidFromDigest(out);
}

std::string_view TlpMarkingId(Tlp tlp) { return kTlp2Ids[static_cast<int>(tlp)]; }

std::optional<Tlp> TlpFromMarkingId(std::string_view id) {
  for (int i = 0; i < 5; ++i) {
    if (kTlp2Ids[i] == id) return static_cast<Tlp>(i);
  }
  for (const auto& [mid, tlp] : kTlp1Ids) {
    if (mid == id) return tlp;
  }
  return std::nullopt;
}

std::string OriginKeyText(const PublicKey& key) {
  return "caravan:" + Base64(key, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

Result<std::string> StixPattern(IndicatorType type, std::string_view v) {
  const std::string q = QuoteLiteral(v);
  switch (type) {
    case IndicatorType::kIpv4: return "[ipv4-addr:value = " + q + "]";
    case IndicatorType::kIpv6: return "[ipv6-addr:value = " + q + "]";
    case IndicatorType::kDomain: return "[domain-name:value = " + q + "]";
    case IndicatorType::kUrl: return "[url:value = " + q + "]";
    case IndicatorType::kEmail: return "[email-addr:value = " + q + "]";
    case IndicatorType::kMd5: return "[file:hashes.MD5 = " + q + "]";
    case IndicatorType::kSha1: return "[file:hashes.'SHA-1' = " + q + "]";
    case IndicatorType::kSha256: return "[file:hashes.'SHA-256' = " + q + "]";
    case IndicatorType::kAsn:
      if (v.size() > 2 && v.substr(0, 2) == "AS" &&
          v.find_first_not_of("0123456789", 2) == std::string_view::npos) {
        return "[autonomous-system:number = " + std::string(v.substr(2)) + "]";
      }
      return InvalidInput("asn: '" + std::string(v) + "' is not normalized");
    case IndicatorType::kCve:
      return InvalidInput("cve: no STIX pattern; exported as a vulnerability");
  }
  return InvalidInput("unknown indicator type");
}

std::string StixIdentityId(const PublicKey& origin) {
  return "identity--" + DerivedUuid("caravan stix identity", origin);
}

json StixIdentity(const PublicKey& origin, std::string_view name,
                  std::string_view country, int64_t created) {
  json o = {{"type", "identity"},
            {"spec_version", "2.1"},
            {"id", StixIdentityId(origin)},
            {"created", StixTime(created)},
            {"modified", StixTime(created)},
            {"name", name.empty() ? OriginKeyText(origin) : std::string(name)},
            {"identity_class", "organization"}};
  if (!country.empty()) o["x_caravan_country"] = std::string(country);
  o["x_caravan_origin_key"] = OriginKeyText(origin);
  return o;
}

json StixProjectIdentity() {
  return {{"type", "identity"},
          {"spec_version", "2.1"},
          {"id", std::string(kCaravanProjectIdentityId)},
          {"created", StixTime(kCaravanObjectsCreated)},
          {"modified", StixTime(kCaravanObjectsCreated)},
          {"name", "caravan project"},
          {"identity_class", "organization"}};
}

json StixTlpMarking(Tlp tlp) {
  const int i = static_cast<int>(tlp);
  return {{"type", "marking-definition"},
          {"spec_version", "2.1"},
          {"id", std::string(kTlp2Ids[i])},
          {"created", "2022-10-01T00:00:00.000Z"},
          {"name", std::string(kTlp2Names[i])},
          {"extensions",
           {{std::string(kTlp2ExtensionId),
             {{"extension_type", "property-extension"},
              {"tlp_2_0", std::string(TlpName(tlp))}}}}}};
}

json StixProvenanceExtensionDefinition() {
  return {
      {"type", "extension-definition"},
      {"spec_version", "2.1"},
      {"id", std::string(kCaravanExtensionId)},
      {"created_by_ref", std::string(kCaravanProjectIdentityId)},
      {"created", StixTime(kCaravanObjectsCreated)},
      {"modified", StixTime(kCaravanObjectsCreated)},
      {"name", "caravan provenance"},
      {"description",
       "Provenance of an indicator shared through caravan: the origin CERT's "
       "signed record, so a recipient can verify it offline."},
      {"schema",
       "Property extension. signed_record: base64 (RFC 4648 with padding) of "
       "the caravan SignedRecord (Cap'n Proto, protocol/indicator.capnp) whose "
       "body the origin signed with Ed25519; origin_key: 'caravan:' + "
       "base64url of the origin's Ed25519 public key; caravan_id: hex "
       "BLAKE2b-256(origin || type || value); origin_seq, revision, variant: "
       "integers from the signed body; reshare: none|direct|federation; "
       "first_seen, last_seen: timestamps; revoke_reason: string. See "
       "docs/stix.md in caravan."},
      {"version", "1.0"},
      {"extension_types", {"property-extension"}}};
}

json StixIndicator(const ExportItem& item) {
  const RecordBody& body = item.body;
  const Indicator& ind = body.indicator;
  const bool is_cve = ind.type == IndicatorType::kCve;
  // `modified` is the revision's time to the millisecond (strictly
  // increasing per indicator, so each version is exact). `created` is
  // revision 1's, whose milliseconds only revision 1 itself carries (the
  // store keeps whole seconds): later versions use its second.
  const int64_t modified_ms = body.created * 1000 + body.created_millis;
  const int64_t modified = body.created;
  const int64_t created =
      item.first_created > 0 ? std::min(item.first_created, modified) : modified;
  const int64_t created_ms =
      body.revision == 1 ? modified_ms : std::min(created * 1000, modified_ms);
  const std::string type = is_cve ? "vulnerability" : "indicator";
  const bool posted_id = item.stix_id.size() > type.size() + 2 &&
                         item.stix_id.compare(0, type.size() + 2,
                                              type + "--") == 0;

  json o = {{"type", type},
            {"spec_version", "2.1"},
            {"id", posted_id ? item.stix_id
                             : type + "--" + UuidFromDigest(item.id)},
            {"created", StixTimeMillis(created_ms)},
            {"modified", StixTimeMillis(modified_ms)},
            {"created_by_ref", StixIdentityId(body.origin)},
            {"name", ind.value},
            {"confidence", ind.confidence},
            {"object_marking_refs", {std::string(TlpMarkingId(ind.tlp))}}};
  if (!ind.tags.empty()) o["labels"] = ind.tags;
  if (!ind.description.empty()) o["description"] = ind.description;
  if (ind.revoked) o["revoked"] = true;

  if (is_cve) {
    o["external_references"] = {{{"source_name", "cve"}, {"external_id", ind.value}}};
  } else {
    o["pattern"] = StixPattern(ind.type, ind.value).value();
    o["pattern_type"] = "stix";
    o["pattern_version"] = "2.1";
    // valid_from: first seen when known, else when the indicator was first
    // made; STIX requires valid_until > valid_from, so an indicator that
    // had expired before then starts one second before it ends.
    int64_t valid_from = ind.first_seen > 0 ? ind.first_seen : created;
    if (ind.valid_until > 0) {
      valid_from = std::min(valid_from, ind.valid_until - 1);
      o["valid_until"] = StixTime(ind.valid_until);
    }
    o["valid_from"] = StixTime(valid_from);
    json types = json::array();
    for (const std::string& t : ind.tags) {
      if (std::find(std::begin(kIndicatorTypeOv), std::end(kIndicatorTypeOv), t) !=
          std::end(kIndicatorTypeOv)) {
        types.push_back(t);
      }
    }
    if (!types.empty()) o["indicator_types"] = types;
  }

  json ext = {{"extension_type", "property-extension"},
              {"caravan_id", IdToHex(item.id)},
              {"origin_key", OriginKeyText(body.origin)},
              {"origin_seq", body.origin_seq},
              {"revision", body.revision},
              {"variant", body.variant},
              {"reshare", std::string(ReshareName(ind.reshare))}};
  if (!item.signed_record.empty()) {
    ext["signed_record"] = Base64(item.signed_record, sodium_base64_VARIANT_ORIGINAL);
  }
  if (ind.first_seen > 0) ext["first_seen"] = StixTime(ind.first_seen);
  if (ind.last_seen > 0) ext["last_seen"] = StixTime(ind.last_seen);
  if (!ind.revoke_reason.empty()) ext["revoke_reason"] = ind.revoke_reason;
  // A vulnerability has no valid_until of its own.
  if (is_cve && ind.valid_until > 0) ext["valid_until"] = StixTime(ind.valid_until);
  o["extensions"] = {{std::string(kCaravanExtensionId), ext}};
  return o;
}

json StixBundle(const std::vector<ExportItem>& items) {
  json objects = json::array();
  objects.push_back(StixProjectIdentity());
  objects.push_back(StixProvenanceExtensionDefinition());
  std::set<Tlp> tlps;
  for (const ExportItem& it : items) tlps.insert(it.body.indicator.tlp);
  for (Tlp t : tlps) objects.push_back(StixTlpMarking(t));
  std::set<PublicKey> seen;
  for (const ExportItem& it : items) {
    if (seen.insert(it.body.origin).second) {
      objects.push_back(StixIdentity(it.body.origin, it.origin_name,
                                     it.origin_country, kCaravanObjectsCreated));
    }
  }
  std::vector<uint8_t> key;
  for (const ExportItem& it : items) {
    objects.push_back(StixIndicator(it));
    key.insert(key.end(), it.id.begin(), it.id.end());
    for (uint32_t v : {it.body.revision, it.body.variant}) {
      for (int s = 0; s < 32; s += 8) key.push_back(static_cast<uint8_t>(v >> s));
    }
  }
  return {{"type", "bundle"},
          {"id", "bundle--" + DerivedUuid("caravan stix bundle", key)},
          {"objects", std::move(objects)}};
}

json StixIdentityFor(const ExportItem& item) {
  return StixIdentity(item.body.origin, item.origin_name, item.origin_country,
                      kCaravanObjectsCreated);
}

// ---- JSON input -------------------------------------------------------------

Result<json> ParseBoundedJson(std::string_view text, size_t max_bytes,
                              std::string_view what) {
  if (text.size() > max_bytes) {
    return InvalidInput(std::string(what) + ": input is " +
                        std::to_string(text.size()) + " bytes, limit " +
                        std::to_string(max_bytes));
  }
  // Depth pre-scan: bounds the parser's stack and the recursion of anything
  // that walks the result.
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return InvalidInput(std::string(what) + ": JSON nested deeper than " +
                            std::to_string(kMaxJsonDepth) + " at byte " +
                            std::to_string(i));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // The library reports syntax errors by exception; this is the one place
    // they become a Status.
    return InvalidInput(std::string(what) + ": not valid JSON (byte " +
                        std::to_string(e.byte) + "): " + e.what());
  } catch (const json::exception& e) {
    // Valid syntax the library still refuses: a number too large for any
    // of its types ("-453e950", out_of_range.406).
    return InvalidInput(std::string(what) + ": unreadable JSON: " + e.what());
  }
}

// ---- pattern parser ---------------------------------------------------------

namespace {

enum class Tok {
  kLBracket, kRBracket, kLParen, kRParen, kComma, kPath, kString, kInt,
  kFloat, kBool, kTimestamp, kHex, kBinary, kOp, kWord, kEnd
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;               // literal value, operator, keyword, path type
  std::vector<std::string> path;  // kPath: components after the type
  size_t pos = 0;
};

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

constexpr std::string_view kKeywords[] = {
    "AND", "OR", "NOT", "FOLLOWEDBY", "MATCHES", "LIKE", "IN", "ISSUBSET",
    "ISSUPERSET", "EXISTS", "WITHIN", "REPEATS", "TIMES", "START", "STOP",
    "SECONDS"};

Status SyntaxError(size_t pos, std::string_view what) {
  return InvalidInput("pattern syntax error at " + std::to_string(pos) + ": " +
                      std::string(what));
}

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view s) : s_(s) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' ||
                                s_[i_] == '\n' || s_[i_] == '\r')) {
        ++i_;
      }
      Token t;
      t.pos = i_;
      if (i_ == s_.size()) {
        out.push_back(t);
        return out;
      }
      if (out.size() > kMaxPatternComparisons * 8) {
        return SyntaxError(i_, "too many tokens");
      }
      const char c = s_[i_];
      if (c == '[' || c == ']' || c == '(' || c == ')' || c == ',') {
        t.kind = c == '[' ? Tok::kLBracket : c == ']' ? Tok::kRBracket
               : c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
        ++i_;
      } else if (c == '\'') {
        auto lit = ReadString();
        if (!lit.ok()) return lit.status();
        t.kind = Tok::kString;
        t.text = std::move(*lit);
      } else if (c == '=' || c == '<' || c == '>' || c == '!') {
        t.kind = Tok::kOp;
        t.text = c;
        ++i_;
        if (i_ < s_.size() && s_[i_] == '=') {
          t.text += '=';
          ++i_;
        } else if (c == '!') {
          return SyntaxError(t.pos, "expected '!='");
        }
      } else if ((c >= '0' && c <= '9') ||
                 (c == '-' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' &&
                  s_[i_ + 1] <= '9')) {
        t.kind = Tok::kInt;
        size_t j = i_ + 1;
        while (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') ++j;
        if (j + 1 < s_.size() && s_[j] == '.' && s_[j + 1] >= '0' && s_[j + 1] <= '9') {
          t.kind = Tok::kFloat;
          j += 2;
          while (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') ++j;
        }
        t.text = std::string(s_.substr(i_, j - i_));
        i_ = j;
      } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        size_t j = i_;
        while (j < s_.size() && IsIdentChar(s_[j])) ++j;
        std::string word(s_.substr(i_, j - i_));
        i_ = j;
        if (i_ < s_.size() && s_[i_] == ':') {
          ++i_;
          t.kind = Tok::kPath;
          t.text = std::move(word);
          CARAVAN_RETURN_IF_ERROR(ReadPath(&t));
        } else if ((word == "t" || word == "h" || word == "b") && i_ < s_.size() &&
                   s_[i_] == '\'') {
          auto lit = ReadString();
          if (!lit.ok()) return lit.status();
          t.kind = word == "t" ? Tok::kTimestamp : word == "h" ? Tok::kHex : Tok::kBinary;
          t.text = std::move(*lit);
        } else if (word == "true" || word == "false") {
          t.kind = Tok::kBool;
          t.text = std::move(word);
        } else if (std::find(std::begin(kKeywords), std::end(kKeywords), word) !=
                   std::end(kKeywords)) {
          t.kind = Tok::kWord;
          t.text = std::move(word);
        } else {
          return SyntaxError(t.pos, "unknown word '" + word + "'");
        }
      } else {
        return SyntaxError(t.pos, std::string("unexpected character '") + c + "'");
      }
      out.push_back(std::move(t));
    }
  }

 private:
  // At a quote: reads to the closing quote; \' and \\ are the only escapes.
  Result<std::string> ReadString() {
    const size_t start = i_++;
    std::string out;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '\'') return out;
      if (c == '\\') {
        if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '\\')) {
          out += s_[i_++];
          continue;
        }
        return SyntaxError(i_ - 1, "bad escape in string (only \\' and \\\\)");
      }
      out += c;
    }
    return SyntaxError(start, "unterminated string");
  }

  // After "type:": first component, then ".comp", ".'quoted'", "[n]", "[*]".
  Status ReadPath(Token* t) {
    bool first = true;
    while (true) {
      if (!first) {
        if (i_ < s_.size() && s_[i_] == '.') {
          ++i_;
        } else if (i_ < s_.size() && s_[i_] == '[' && i_ + 1 < s_.size() &&
                   (s_[i_ + 1] == '*' || (s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9'))) {
          size_t j = i_ + 1;
          while (j < s_.size() && s_[j] != ']' && j - i_ < 24) ++j;
          if (j == s_.size() || s_[j] != ']') return SyntaxError(i_, "unclosed '[' in path");
          t->path.push_back(std::string(s_.substr(i_, j + 1 - i_)));
          i_ = j + 1;
          continue;
        } else {
          return Status::Ok();
        }
      }
      first = false;
      if (i_ < s_.size() && s_[i_] == '\'') {
        auto lit = ReadString();
        if (!lit.ok()) return lit.status();
        t->path.push_back(std::move(*lit));
      } else {
        const size_t j0 = i_;
        while (i_ < s_.size() && IsIdentChar(s_[i_])) ++i_;
        if (i_ == j0) return SyntaxError(i_, "expected a property name in object path");
        t->path.push_back(std::string(s_.substr(j0, i_ - j0)));
      }
      if (t->path.size() > 32) return SyntaxError(i_, "object path too long");
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Why a pattern cannot be stored; lower value = reported first.
enum class Problem { kAnd, kFollowedBy, kQualifier, kNot, kOperator, kPath, kLiteral };

class PatternParser {
 public:
  explicit PatternParser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Result<std::vector<PatternValue>> Run() {
    CARAVAN_RETURN_IF_ERROR(ObsExprs());
    if (Peek().kind != Tok::kEnd) return SyntaxError(Peek().pos, "unexpected token after pattern");
    if (!problems_.empty()) return InvalidInput(problems_.begin()->second);
    if (values_.size() > kMaxPatternComparisons) {
      return InvalidInput("pattern has more than " +
                          std::to_string(kMaxPatternComparisons) + " comparisons");
    }
    return values_;
  }

 private:
  const Token& Peek() const { return t_[k_]; }
  bool IsWord(std::string_view w) const {
    return Peek().kind == Tok::kWord && Peek().text == w;
  }
  void Note(Problem p, std::string why) { problems_.emplace(p, std::move(why)); }
  Status Expect(Tok kind, std::string_view what) {
    if (Peek().kind != kind) return SyntaxError(Peek().pos, "expected " + std::string(what));
    ++k_;
    return Status::Ok();
  }
  Status Enter() {
    if (++depth_ > 32) return SyntaxError(Peek().pos, "nested too deeply");
    return Status::Ok();
  }

  Status ObsExprs() {
    CARAVAN_RETURN_IF_ERROR(ObsOr());
    while (IsWord("FOLLOWEDBY")) {
      Note(Problem::kFollowedBy, "pattern uses FOLLOWEDBY; caravan stores single values");
      ++k_;
      CARAVAN_RETURN_IF_ERROR(ObsOr());
    }
    return Status::Ok();
  }
  Status ObsOr() {
    CARAVAN_RETURN_IF_ERROR(ObsAnd());
    while (IsWord("OR")) {
      ++k_;
      CARAVAN_RETURN_IF_ERROR(ObsAnd());
    }
    return Status::Ok();
  }
  Status ObsAnd() {
    CARAVAN_RETURN_IF_ERROR(Obs());
    while (IsWord("AND")) {
      Note(Problem::kAnd, "pattern uses AND; caravan stores single values");
      ++k_;
      CARAVAN_RETURN_IF_ERROR(Obs());
    }
    return Status::Ok();
  }
  Status Obs() {
    CARAVAN_RETURN_IF_ERROR(Enter());
    if (Peek().kind == Tok::kLBracket) {
      ++k_;
      CARAVAN_RETURN_IF_ERROR(CmpOr());
      CARAVAN_RETURN_IF_ERROR(Expect(Tok::kRBracket, "']'"));
    } else if (Peek().kind == Tok::kLParen) {
      ++k_;
      CARAVAN_RETURN_IF_ERROR(ObsExprs());
      CARAVAN_RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
    } else {
      return SyntaxError(Peek().pos, "expected '[' or '('");
    }
    --depth_;
    while (IsWord("WITHIN") || IsWord("REPEATS") || IsWord("START")) {
      const std::string q = Peek().text;
      Note(Problem::kQualifier, "pattern uses qualifier " + q +
                                    "; caravan stores single values");
      ++k_;
      if (q == "WITHIN") {
        if (Peek().kind != Tok::kInt && Peek().kind != Tok::kFloat) {
          return SyntaxError(Peek().pos, "expected a number after WITHIN");
        }
        ++k_;
        if (!IsWord("SECONDS")) return SyntaxError(Peek().pos, "expected SECONDS");
        ++k_;
      } else if (q == "REPEATS") {
        CARAVAN_RETURN_IF_ERROR(Expect(Tok::kInt, "an integer after REPEATS"));
        if (!IsWord("TIMES")) return SyntaxError(Peek().pos, "expected TIMES");
        ++k_;
      } else {
        CARAVAN_RETURN_IF_ERROR(Expect(Tok::kTimestamp, "t'...' after START"));
        if (!IsWord("STOP")) return SyntaxError(Peek().pos, "expected STOP");
        ++k_;
        CARAVAN_RETURN_IF_ERROR(Expect(Tok::kTimestamp, "t'...' after STOP"));
      }
    }
    return Status::Ok();
  }
  Status CmpOr() {
    CARAVAN_RETURN_IF_ERROR(CmpAnd());
    while (IsWord("OR")) {
      ++k_;
      CARAVAN_RETURN_IF_ERROR(CmpAnd());
    }
    return Status::Ok();
  }
  Status CmpAnd() {
    CARAVAN_RETURN_IF_ERROR(PropTest());
    while (IsWord("AND")) {
      Note(Problem::kAnd, "pattern uses AND; caravan stores single values");
      ++k_;
      CARAVAN_RETURN_IF_ERROR(PropTest());
    }
    return Status::Ok();
  }
  static bool IsLiteral(Tok k) {
    return k == Tok::kString || k == Tok::kInt || k == Tok::kFloat ||
           k == Tok::kBool || k == Tok::kTimestamp || k == Tok::kHex ||
           k == Tok::kBinary;
  }
  Status PropTest() {
    if (Peek().kind == Tok::kLParen) {
      CARAVAN_RETURN_IF_ERROR(Enter());
      ++k_;
      CARAVAN_RETURN_IF_ERROR(CmpOr());
      CARAVAN_RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
      --depth_;
      return Status::Ok();
    }
    if (IsWord("EXISTS")) {
      Note(Problem::kOperator, "pattern uses operator EXISTS; caravan imports only '='");
      ++k_;
      return Expect(Tok::kPath, "an object path after EXISTS");
    }
    if (Peek().kind != Tok::kPath) return SyntaxError(Peek().pos, "expected an object path");
    const Token path = Peek();
    ++k_;
    if (IsWord("NOT")) {
      Note(Problem::kNot, "pattern uses NOT; caravan imports only '='");
      ++k_;
    }
    const Token op = Peek();
    if (op.kind == Tok::kOp) {
      ++k_;
      if (!IsLiteral(Peek().kind)) return SyntaxError(Peek().pos, "expected a literal");
      const Token lit = Peek();
      ++k_;
      if (op.text != "=") {
        Note(Problem::kOperator, "pattern uses operator " + op.text +
                                     "; caravan imports only '='");
        return Status::Ok();
      }
      Accept(path, lit);
      return Status::Ok();
    }
    if (op.kind == Tok::kWord &&
        (op.text == "MATCHES" || op.text == "LIKE" || op.text == "ISSUBSET" ||
         op.text == "ISSUPERSET")) {
      ++k_;
      Note(Problem::kOperator, "pattern uses operator " + op.text +
                                   "; caravan imports only '='");
      return Expect(Tok::kString, "a string after " + op.text);
    }
    if (op.kind == Tok::kWord && op.text == "IN") {
      ++k_;
      Note(Problem::kOperator, "pattern uses operator IN; caravan imports only '='");
      CARAVAN_RETURN_IF_ERROR(Expect(Tok::kLParen, "'(' after IN"));
      if (Peek().kind == Tok::kRParen) {
        ++k_;
        return Status::Ok();
      }
      while (true) {
        if (!IsLiteral(Peek().kind)) return SyntaxError(Peek().pos, "expected a literal");
        ++k_;
        if (Peek().kind == Tok::kComma) {
          ++k_;
          continue;
        }
        return Expect(Tok::kRParen, "')'");
      }
    }
    return SyntaxError(op.pos, "expected a comparison operator");
  }

  // Maps "type:path" = literal onto a caravan type, or notes why not.
  void Accept(const Token& path, const Token& lit) {
    std::string full = path.text + ":";
    for (size_t i = 0; i < path.path.size(); ++i) full += (i ? "." : "") + path.path[i];
    const auto& p = path.path;
    std::optional<IndicatorType> type;
    static const std::map<std::string, IndicatorType, std::less<>> kValuePaths = {
        {"ipv4-addr", IndicatorType::kIpv4},   {"ipv6-addr", IndicatorType::kIpv6},
        {"domain-name", IndicatorType::kDomain}, {"url", IndicatorType::kUrl},
        {"email-addr", IndicatorType::kEmail}};
    if (auto it = kValuePaths.find(path.text);
        it != kValuePaths.end() && p.size() == 1 && p[0] == "value") {
      type = it->second;
    } else if (path.text == "file" && p.size() == 2 && p[0] == "hashes") {
      std::string h;
      for (char c : p[1]) h += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (h == "MD5") type = IndicatorType::kMd5;
      if (h == "SHA-1" || h == "SHA1") type = IndicatorType::kSha1;
      if (h == "SHA-256" || h == "SHA256") type = IndicatorType::kSha256;
    } else if (path.text == "autonomous-system" && p.size() == 1 && p[0] == "number") {
      if (lit.kind != Tok::kInt || lit.text[0] == '-') {
        Note(Problem::kLiteral, "autonomous-system:number must be compared with a "
                                "non-negative integer");
        return;
      }
      values_.push_back({IndicatorType::kAsn, "AS" + lit.text});
      return;
    }
    if (!type) {
      Note(Problem::kPath, "object path " + full + " has no caravan type");
      return;
    }
    if (lit.kind != Tok::kString) {
      Note(Problem::kLiteral, full + " must be compared with a string");
      return;
    }
    values_.push_back({*type, lit.text});
  }

  std::vector<Token> t_;
  size_t k_ = 0;
  int depth_ = 0;
  std::vector<PatternValue> values_;
  std::multimap<Problem, std::string> problems_;
};

}  // namespace

Result<std::vector<PatternValue>> ParseStixPattern(std::string_view pattern) {
  if (pattern.size() > kMaxStixPatternBytes) {
    return InvalidInput("pattern is longer than " +
                        std::to_string(kMaxStixPatternBytes) + " bytes");
  }
  auto toks = Tokenizer(pattern).Run();
  if (!toks.ok()) return toks.status();
  return PatternParser(std::move(*toks)).Run();
}

// ---- import -----------------------------------------------------------------

namespace {

// Context fields shared by indicator and vulnerability objects.
struct Context {
  BulkItem item;
  bool revoked = false;
  std::string revoke_reason;
  std::vector<uint8_t> signed_record;
  std::string origin_key;
};

Result<int64_t> TimeField(const json& o, const char* key) {
  const json& v = o.at(key);
  if (!v.is_string()) return InvalidInput(std::string(key) + " is not a string");
  auto t = ParseAbsoluteTime(v.get_ref<const std::string&>());
  if (!t.ok()) return InvalidInput(std::string(key) + ": " + t.status().message());
  return *t;
}

Status StringList(const json& o, const char* key, std::vector<std::string>* out) {
  if (!o.contains(key)) return Status::Ok();
  const json& v = o.at(key);
  if (!v.is_array()) return InvalidInput(std::string(key) + " is not an array");
  for (const json& e : v) {
    if (!e.is_string()) return InvalidInput(std::string(key) + " holds a non-string");
    out->push_back(e.get<std::string>());
  }
  return Status::Ok();
}

Result<Context> ReadContext(const json& o) {
  Context c;
  if (o.contains("object_marking_refs")) {
    const json& refs = o.at("object_marking_refs");
    if (!refs.is_array()) return InvalidInput("object_marking_refs is not an array");
    std::optional<Tlp> tlp;
    for (const json& r : refs) {
      if (!r.is_string()) return InvalidInput("object_marking_refs holds a non-string");
      // Several TLP markings: the most restrictive one holds.
      if (auto t = TlpFromMarkingId(r.get_ref<const std::string&>())) {
        tlp = tlp ? std::max(*tlp, *t) : *t;
      }
    }
    if (tlp) c.item.tlp = std::string(TlpName(*tlp));
  }
  if (o.contains("confidence")) {
    const json& v = o.at("confidence");
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 100) {
      return InvalidInput("confidence is not an integer 0..100");
    }
    c.item.confidence = v.get<int>();
  }
  CARAVAN_RETURN_IF_ERROR(StringList(o, "labels", &c.item.tags));
  std::vector<std::string> types;
  CARAVAN_RETURN_IF_ERROR(StringList(o, "indicator_types", &types));
  for (std::string& t : types) c.item.tags.push_back(std::move(t));
  std::sort(c.item.tags.begin(), c.item.tags.end());
  c.item.tags.erase(std::unique(c.item.tags.begin(), c.item.tags.end()), c.item.tags.end());
  if (o.contains("description")) {
    if (!o.at("description").is_string()) return InvalidInput("description is not a string");
    c.item.description = o.at("description").get<std::string>();
  }
  if (o.contains("valid_until")) {
    auto t = TimeField(o, "valid_until");
    if (!t.ok()) return t.status();
    c.item.valid_until = *t;
  }
  if (o.contains("revoked")) {
    if (!o.at("revoked").is_boolean()) return InvalidInput("revoked is not a boolean");
    c.revoked = o.at("revoked").get<bool>();
  }
  if (o.contains("extensions") && o.at("extensions").is_object() &&
      o.at("extensions").contains(kCaravanExtensionId)) {
    const json& e = o.at("extensions").at(kCaravanExtensionId);
    if (!e.is_object()) return InvalidInput("caravan extension is not an object");
    auto str = [&](const char* k, std::string* out) -> Status {
      if (!e.contains(k)) return Status::Ok();
      if (!e.at(k).is_string()) {
        return InvalidInput(std::string("caravan extension: ") + k + " is not a string");
      }
      *out = e.at(k).get<std::string>();
      return Status::Ok();
    };
    CARAVAN_RETURN_IF_ERROR(str("reshare", &c.item.reshare));
    CARAVAN_RETURN_IF_ERROR(str("revoke_reason", &c.revoke_reason));
    CARAVAN_RETURN_IF_ERROR(str("origin_key", &c.origin_key));
    for (auto [k, out] : {std::pair{"first_seen", &c.item.first_seen},
                          std::pair{"last_seen", &c.item.last_seen},
                          std::pair{"valid_until", &c.item.valid_until}}) {
      if (!e.contains(k)) continue;
      auto t = TimeField(e, k);
      if (!t.ok()) return InvalidInput("caravan extension: " + t.status().message());
      *out = *t;
    }
    std::string b64;
    CARAVAN_RETURN_IF_ERROR(str("signed_record", &b64));
    if (!b64.empty()) {
      auto bytes = FromBase64(b64);
      if (!bytes) return InvalidInput("caravan extension: signed_record is not base64");
      c.signed_record = std::move(*bytes);
    }
  }
  return c;
}

void AddValue(const std::string& id, size_t index, const Context& c,
              IndicatorType type, std::string_view raw, StixImport* out) {
  auto v = NormalizeValue(type, raw);
  if (!v.ok()) {
    out->skipped.push_back({id, index, id + ": " + v.status().message()});
    return;
  }
  StixImportItem it;
  it.stix_id = id;
  it.item = c.item;
  it.item.line = index;
  it.item.type = std::string(TypeName(type));
  it.item.value = std::move(*v);
  it.revoked = c.revoked;
  it.revoke_reason = c.revoke_reason;
  it.signed_record = c.signed_record;
  it.origin_key = c.origin_key;
  out->items.push_back(std::move(it));
}

void ImportObject(const json& o, size_t index, StixImport* out) {
  if (!o.is_object() || !o.contains("type") || !o.at("type").is_string()) {
    out->skipped.push_back({"", index, "object " + std::to_string(index) +
                                           ": not a STIX object (no string type)"});
    return;
  }
  const std::string& type = o.at("type").get_ref<const std::string&>();
  if (type != "indicator" && type != "vulnerability") {
    ++out->other_objects;
    return;
  }
  const std::string id = o.contains("id") && o.at("id").is_string()
                             ? o.at("id").get<std::string>()
                             : "";
  const std::string name = id.empty() ? type + " " + std::to_string(index) : id;
  auto skip = [&](std::string why) {
    out->skipped.push_back({id, index, name + ": " + why});
  };
  if (id.rfind(type + "--", 0) != 0) return skip("id is missing or not '" + type + "--…'");
  auto ctx = ReadContext(o);
  if (!ctx.ok()) return skip(ctx.status().message());

  if (type == "vulnerability") {
    if (o.contains("external_references") && o.at("external_references").is_array()) {
      for (const json& r : o.at("external_references")) {
        if (r.is_object() && r.value("source_name", "") == "cve" &&
            r.contains("external_id") && r.at("external_id").is_string()) {
          return AddValue(id, index, *ctx, IndicatorType::kCve,
                          r.at("external_id").get<std::string>(), out);
        }
      }
    }
    return skip("vulnerability has no external reference with source_name 'cve'");
  }
  if (!o.contains("pattern_type") || !o.at("pattern_type").is_string()) {
    return skip("pattern_type is missing");
  }
  if (o.at("pattern_type") != "stix") {
    return skip("pattern_type '" + o.at("pattern_type").get<std::string>() +
                "' is not stix");
  }
  if (!o.contains("pattern") || !o.at("pattern").is_string()) {
    return skip("pattern is missing");
  }
  auto values = ParseStixPattern(o.at("pattern").get_ref<const std::string&>());
  if (!values.ok()) return skip(values.status().message());
  for (const PatternValue& v : *values) AddValue(id, index, *ctx, v.type, v.raw, out);
}

}  // namespace

void ImportStixObject(const json& object, size_t index, StixImport* out) {
  ImportObject(object, index, out);
}

Result<StixImport> ImportStixBundle(std::string_view json_text) {
  auto parsed = ParseBoundedJson(json_text, kMaxStixBytes, "stix");
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  if (!root.is_object()) return InvalidInput("stix: top level is not a JSON object");
  StixImport out;
  const json* objects = nullptr;
  const auto type = root.find("type");
  if (type != root.end() && *type == "bundle") {
    if (!root.contains("objects")) return out;  // an empty bundle
    objects = &root.at("objects");
  } else if (type == root.end() && root.contains("objects")) {
    objects = &root.at("objects");  // TAXII envelope
  } else if (type != root.end() && type->is_string()) {
    out.objects = 1;
    ImportObject(root, 1, &out);
    return out;
  } else {
    return InvalidInput("stix: neither a bundle, an envelope nor a STIX object");
  }
  if (!objects->is_array()) return InvalidInput("stix: objects is not an array");
  if (objects->size() > kMaxStixObjects) {
    return InvalidInput("stix: " + std::to_string(objects->size()) +
                        " objects, limit " + std::to_string(kMaxStixObjects));
  }
  out.objects = objects->size();
  for (size_t i = 0; i < objects->size(); ++i) ImportObject((*objects)[i], i + 1, &out);
  return out;
}

}  // namespace caravan::protocol
