#include "daemon/feeds/spool_format.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "protocol/formats/bulk_reader.h"

namespace caravan::feeds {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr size_t kMaxHeadKeys = 64;
constexpr size_t kMaxHeadText = 64;  // bytes kept of a key or "type" value

bool IsJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view StripBom(std::string_view s) {
  if (s.substr(0, kBom.size()) == kBom) s.remove_prefix(kBom.size());
  return s;
}

// Control bytes other than white space, or bytes that are not UTF-8, mean
// a file no text reader should see (an archive, an image, a key file): the
// reports would be noise. A multi-byte sequence cut at the end of `head`
// is fine (the caller cut it there).
Status CheckText(std::string_view head) {
  auto reject = [&](size_t i, const char* what) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "binary content: %s 0x%02x at offset %zu; the spool takes "
                  "text (txt, csv, jsonl, STIX or MISP JSON)",
                  what, static_cast<unsigned>(static_cast<uint8_t>(head[i])),
                  i);
    return InvalidInput(buf);
  };
  size_t i = 0;
  while (i < head.size()) {
    const auto c = static_cast<uint8_t>(head[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' &&
           c != '\v') ||
          c == 0x7f) {
        return reject(i, "byte");
      }
      ++i;
      continue;
    }
    size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    } else {
      return reject(i, "non-UTF-8 byte");
    }
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= head.size()) return Status::Ok();  // cut by the caller
      const auto cont = static_cast<uint8_t>(head[i + k]);
      if ((cont & 0xC0) != 0x80) return reject(i, "non-UTF-8 byte");
    }
    i += len;
  }
  return Status::Ok();
}

bool Has(const JsonHead& h, std::string_view key) {
  return std::find(h.keys.begin(), h.keys.end(), key) != h.keys.end();
}

Result<SpoolFormat> ClassifyJson(std::string_view head) {
  const JsonHead h = ScanJsonHead(head);
  if (!h.is_object) {
    return InvalidInput(
        "JSON that is not an object: the spool takes a STIX bundle, a MISP "
        "event or JSON lines (one object per line)");
  }
  if (h.malformed) {
    return InvalidInput("malformed JSON (a control character inside a "
                        "string) near the start of the file");
  }
  // MISP: {"Event": ...}, a REST response, or a bare event object.
  if (Has(h, "Event") || Has(h, "response") || Has(h, "Attribute") ||
      Has(h, "Object") ||
      (Has(h, "info") && (Has(h, "uuid") || Has(h, "threat_level_id")))) {
    return SpoolFormat::kMisp;
  }
  // STIX: a bundle, a TAXII envelope, or one object.
  if (h.type == "bundle" || Has(h, "objects") || Has(h, "spec_version")) {
    return SpoolFormat::kStix;
  }
  // caravan JSON lines: each line an object with a "value".
  if (Has(h, "value")) return SpoolFormat::kJsonl;
  std::string keys;
  for (const auto& k : h.keys) {
    if (!keys.empty()) keys += ", ";
    keys += k;
  }
  if (keys.empty()) keys = "none";
  if (!h.closed && h.keys.size() < kMaxHeadKeys && head.size() >= kSpoolSniffBytes) {
    keys += ", ... (no telling key in the first " +
            std::to_string(kSpoolSniffBytes) + " bytes)";
  }
  return InvalidInput(
      "JSON document is neither a STIX bundle, a MISP event nor JSON lines "
      "with a \"value\" (top-level keys: " + keys + ")");
}

// The first line that is not blank and not a '#' comment.
std::string_view FirstContentLine(std::string_view text) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t b = 0;
    while (b < line.size() && (IsJsonSpace(line[b]) || line[b] == '\f' ||
                               line[b] == '\v')) {
      ++b;
    }
    line.remove_prefix(b);
    if (line.empty() || line[0] == '#') continue;
    return line;
  }
  return {};
}

// A CSV header names a `value` column (bulk_reader.h).
bool LooksLikeCsvHeader(std::string_view line) {
  if (line.find(',') == std::string_view::npos) return false;
  std::string field;
  bool quoted = false;
  auto is_value = [&] {
    std::string_view f(field);
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t' || f.back() == '\r')) {
      f.remove_suffix(1);
    }
    return Lower(f) == "value";
  };
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      if (is_value()) return true;
      field.clear();
    } else if (field.size() < 16) {
      field.push_back(c);
    }
  }
  return is_value();
}

}  // namespace

std::string_view SpoolFormatName(SpoolFormat format) {
  switch (format) {
    case SpoolFormat::kTxt: return "txt";
    case SpoolFormat::kCsv: return "csv";
    case SpoolFormat::kJsonl: return "jsonl";
    case SpoolFormat::kStix: return "stix";
    case SpoolFormat::kMisp: return "misp";
  }
  return "?";
}

JsonHead ScanJsonHead(std::string_view text) {
  JsonHead h;
  const char* const origin = text.data();
  text = StripBom(text);
  size_t i = 0;
  while (i < text.size() && IsJsonSpace(text[i])) ++i;
  if (i >= text.size() || text[i] != '{') return h;
  h.is_object = true;
  ++i;
  size_t depth = 1;
  bool expect_key = true;  // at depth 1: the next string is a key
  std::string last_key;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      std::string s;
      size_t j = i + 1;
      bool ended = false;
      while (j < text.size()) {
        const char d = text[j];
        if (d == '\\') {
          if (depth == 1 && s.size() < kMaxHeadText) s.push_back(d);
          ++j;
          if (j < text.size() && depth == 1 && s.size() < kMaxHeadText) {
            s.push_back(text[j]);
          }
          ++j;
          continue;
        }
        if (d == '"') {
          ended = true;
          break;
        }
        if (static_cast<uint8_t>(d) < 0x20) {
          h.malformed = true;
          return h;
        }
        if (depth == 1 && s.size() < kMaxHeadText) s.push_back(d);
        ++j;
      }
      if (!ended) return h;  // the string runs past `text`
      if (depth == 1) {
        if (expect_key) {
          if (h.keys.size() < kMaxHeadKeys) h.keys.push_back(s);
          last_key = std::move(s);
          expect_key = false;
        } else if (last_key == "type" && h.type.empty()) {
          h.type = std::move(s);
        }
      }
      i = j + 1;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) {
        h.closed = true;
        h.end = static_cast<size_t>(text.data() - origin) + i + 1;
        return h;
      }
    } else if (c == ',' && depth == 1) {
      expect_key = true;
    }
    ++i;
  }
  return h;
}

Result<SpoolFormat> DetectSpoolFormat(std::string_view name,
                                      std::string_view head) {
  CARAVAN_RETURN_IF_ERROR(CheckText(head));
  const std::string ext =
      Lower(std::filesystem::path(std::string(name)).extension().string());
  if (ext == ".json") return ClassifyJson(head);
  if (auto bulk = protocol::BulkFormatFromPath(name)) {
    switch (*bulk) {
      case protocol::BulkFormat::kTxt: return SpoolFormat::kTxt;
      case protocol::BulkFormat::kCsv: return SpoolFormat::kCsv;
      case protocol::BulkFormat::kJsonl: return SpoolFormat::kJsonl;
    }
  }
  const std::string_view line = FirstContentLine(StripBom(head));
  if (!line.empty() && line[0] == '{') {
    return ClassifyJson(head.substr(static_cast<size_t>(line.data() - head.data())));
  }
  if (!line.empty() && line[0] == '[') {
    return InvalidInput(
        "a JSON array: the spool takes a STIX bundle, a MISP event or JSON "
        "lines (one object per line)");
  }
  if (LooksLikeCsvHeader(line)) return SpoolFormat::kCsv;
  return SpoolFormat::kTxt;
}

}  // namespace caravan::feeds
