#include "protocol/formats/bulk_reader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "protocol/time_text.h"

namespace caravan::protocol {
namespace {

constexpr int kMaxJsonDepth = 8;

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' ||
                        v.back() == '\n')) {
    v.remove_suffix(1);
  }
  return v;
}

// Short printable form of untrusted text for messages.
std::string Shown(std::string_view v) {
  std::string out(v.substr(0, 64));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  if (v.size() > 64) out += "...";
  return out;
}

std::optional<std::string> ParseConfidence(std::string_view text, int* out) {
  int v = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0 || v > 100) {
    return "confidence '" + Shown(text) + "' is not an integer 0..100";
  }
  *out = v;
  return std::nullopt;
}

std::optional<std::string> ParseFileTime(std::string_view field,
                                         std::string_view text, int64_t* out) {
  auto t = ParseAbsoluteTime(text);
  if (!t.ok()) return std::string(field) + ": " + t.status().message();
  *out = *t;
  return std::nullopt;
}

void SplitTags(std::string_view text, std::vector<std::string>* tags) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view tag = Trim(text.substr(start, end - start));
    if (!tag.empty()) tags->emplace_back(tag);
    start = end + 1;
  }
}

// Splits one RFC 4180 record. nullopt + `*error` on malformed quoting.
std::optional<std::vector<std::string>> SplitCsv(std::string_view rec,
                                                 std::string* error) {
  std::vector<std::string> fields;
  std::string field;
  size_t i = 0;
  for (;;) {
    field.clear();
    // Leading blanks before an opening quote are tolerated.
    size_t j = i;
    while (j < rec.size() && rec[j] == ' ') ++j;
    if (j < rec.size() && rec[j] == '"') {
      i = j + 1;
      bool closed = false;
      while (i < rec.size()) {
        if (rec[i] == '"') {
          if (i + 1 < rec.size() && rec[i + 1] == '"') {
            field += '"';
            i += 2;
          } else {
            closed = true;
            ++i;
            break;
          }
        } else {
          field += rec[i++];
        }
      }
      if (!closed) {
        *error = "unterminated quoted field";
        return std::nullopt;
      }
      while (i < rec.size() && rec[i] == ' ') ++i;
      if (i < rec.size() && rec[i] != ',') {
        *error = "text after a closing quote (column " +
                 std::to_string(fields.size() + 1) + ")";
        return std::nullopt;
      }
    } else {
      while (i < rec.size() && rec[i] != ',') {
        if (rec[i] == '"') {
          *error = "quote inside an unquoted field (column " +
                   std::to_string(fields.size() + 1) + ")";
          return std::nullopt;
        }
        field += rec[i++];
      }
      field = std::string(Trim(field));
    }
    fields.push_back(field);
    if (i >= rec.size()) break;
    ++i;  // the comma
  }
  return fields;
}

// Nesting depth of a JSON text, ignoring brackets inside strings; bounded
// before parsing so a line of 64 Ki '[' cannot exhaust anything.
int JsonDepth(std::string_view s) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace

std::optional<BulkFormat> ParseBulkFormat(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "txt" || n == "text" || n == "plain") return BulkFormat::kTxt;
  if (n == "csv") return BulkFormat::kCsv;
  if (n == "jsonl" || n == "ndjson" || n == "json-lines") return BulkFormat::kJsonl;
  return std::nullopt;
}

std::optional<BulkFormat> BulkFormatFromPath(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string ext = Lower(base.substr(dot + 1));
  if (ext == "txt" || ext == "list" || ext == "lst") return BulkFormat::kTxt;
  if (ext == "csv") return BulkFormat::kCsv;
  if (ext == "jsonl" || ext == "ndjson") return BulkFormat::kJsonl;
  return std::nullopt;
}

BulkReader::BulkReader(std::istream& in, BulkFormat format)
    : in_(in), format_(format) {}

bool BulkReader::ReadLine(bool csv_record) {
  using Traits = std::char_traits<char>;
  std::streambuf* sb = in_.rdbuf();
  line_.clear();
  too_long_ = false;
  record_line_ = line_number_ + 1;
  if (sb == nullptr) return false;
  bool any = false;
  bool in_quotes = false;
  bool field_start = true;  // RFC 4180: a quote opens only at field start
  bool just_closed = false;
  for (;;) {
    const int c = sb->sbumpc();
    if (Traits::eq_int_type(c, Traits::eof())) {
      if (!any) return false;
      ++line_number_;
      break;
    }
    any = true;
    const char ch = Traits::to_char_type(c);
    if (ch == '\n') {
      ++line_number_;
      if (!in_quotes) break;
    }
    // Once a record is cut, quote tracking stops: a stray quote must not
    // turn the rest of the file into one record.
    if (csv_record && !too_long_) {
      if (ch == '"') {
        if (in_quotes) {
          in_quotes = false;
          just_closed = true;
        } else if (field_start || just_closed) {
          in_quotes = true;  // opening quote, or the 2nd of an escaped ""
          just_closed = false;
        }
        field_start = false;
      } else {
        just_closed = false;
        if (!in_quotes && ch == ',') field_start = true;
        else if (ch != ' ') field_start = false;
      }
    }
    if (line_.size() < kMaxBulkLineBytes) {
      line_ += ch;
    } else {
      too_long_ = true;
      in_quotes = false;
    }
  }
  if (first_read_) {
    first_read_ = false;
    if (line_.compare(0, 3, "\xEF\xBB\xBF") == 0) line_.erase(0, 3);
  }
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

bool BulkReader::Next(BulkItem* item) {
  if (stopped_) return false;
  *item = BulkItem();
  switch (format_) {
    case BulkFormat::kTxt: return NextTxt(item);
    case BulkFormat::kCsv: return NextCsv(item);
    case BulkFormat::kJsonl: return NextJsonl(item);
  }
  return false;
}

bool BulkReader::NextTxt(BulkItem* item) {
  while (ReadLine(false)) {
    item->line = record_line_;
    if (too_long_) {
      item->error = "line longer than " + std::to_string(kMaxBulkLineBytes) + " bytes";
      return true;
    }
    std::string_view v = Trim(line_);
    if (v.empty() || v.front() == '#') continue;
    v = Trim(v.substr(0, v.find('\t')));
    item->value = std::string(v);
    return true;
  }
  return false;
}

bool BulkReader::NextCsv(BulkItem* item) {
  while (ReadLine(true)) {
    item->line = record_line_;
    if (too_long_) {
      item->error = "record longer than " + std::to_string(kMaxBulkLineBytes) + " bytes";
      if (!columns_) stopped_ = true;  // no header, nothing else is readable
      return true;
    }
    std::string_view trimmed = Trim(line_);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    std::string error;
    auto fields = SplitCsv(line_, &error);
    if (!columns_) {
      // The header. Any problem here makes every later record meaningless.
      stopped_ = true;
      if (!fields) {
        item->error = "csv header: " + error;
        return true;
      }
      std::vector<Column> columns;
      for (const std::string& raw : *fields) {
        const std::string name = Lower(Trim(raw));
        Column c;
        if (name == "value") c = Column::kValue;
        else if (name == "type") c = Column::kType;
        else if (name == "tlp") c = Column::kTlp;
        else if (name == "confidence") c = Column::kConfidence;
        else if (name == "tags") c = Column::kTags;
        else if (name == "description") c = Column::kDescription;
        else if (name == "valid_until") c = Column::kValidUntil;
        else if (name == "first_seen") c = Column::kFirstSeen;
        else if (name == "last_seen") c = Column::kLastSeen;
        else if (name == "reshare") c = Column::kReshare;
        else {
          item->error = "csv header: unknown column '" + Shown(raw) +
                        "' (known: value, type, tlp, confidence, tags, "
                        "description, valid_until, first_seen, last_seen, "
                        "reshare)";
          return true;
        }
        if (std::find(columns.begin(), columns.end(), c) != columns.end()) {
          item->error = "csv header: duplicate column '" + name + "'";
          return true;
        }
        columns.push_back(c);
      }
      if (std::find(columns.begin(), columns.end(), Column::kValue) == columns.end()) {
        item->error = "csv header: no 'value' column";
        return true;
      }
      columns_ = std::move(columns);
      stopped_ = false;
      continue;
    }
    if (!fields) {
      item->error = error;
      return true;
    }
    if (fields->size() != columns_->size()) {
      item->error = "has " + std::to_string(fields->size()) +
                    " fields, the header has " + std::to_string(columns_->size());
      return true;
    }
    for (size_t k = 0; k < fields->size(); ++k) {
      std::string& f = (*fields)[k];
      std::optional<std::string> bad;
      switch ((*columns_)[k]) {
        case Column::kValue: item->value = std::move(f); break;
        case Column::kType: item->type = std::move(f); break;
        case Column::kTlp: item->tlp = std::move(f); break;
        case Column::kDescription: item->description = std::move(f); break;
        case Column::kReshare: item->reshare = std::move(f); break;
        case Column::kTags: SplitTags(f, &item->tags); break;
        case Column::kConfidence:
          if (!f.empty()) bad = ParseConfidence(f, &item->confidence);
          break;
        case Column::kValidUntil:
          if (!f.empty()) bad = ParseFileTime("valid_until", f, &item->valid_until);
          break;
        case Column::kFirstSeen:
          if (!f.empty()) bad = ParseFileTime("first_seen", f, &item->first_seen);
          break;
        case Column::kLastSeen:
          if (!f.empty()) bad = ParseFileTime("last_seen", f, &item->last_seen);
          break;
      }
      if (bad) {
        const uint64_t line = item->line;
        *item = BulkItem();
        item->line = line;
        item->error = std::move(bad);
        return true;
      }
    }
    if (item->value.empty()) {
      const uint64_t line = item->line;
      *item = BulkItem();
      item->line = line;
      item->error = "value is empty";
    }
    return true;
  }
  if (!columns_ && !stopped_) {
    // Nothing but comments: an empty file is fine, a missing header is not
    // worth an error when there are no records either.
  }
  return false;
}

bool BulkReader::NextJsonl(BulkItem* item) {
  using nlohmann::json;
  while (ReadLine(false)) {
    item->line = record_line_;
    if (too_long_) {
      item->error = "line longer than " + std::to_string(kMaxBulkLineBytes) + " bytes";
      return true;
    }
    std::string_view v = Trim(line_);
    if (v.empty()) continue;
    auto fail = [&](std::string why) {
      const uint64_t line = item->line;
      *item = BulkItem();
      item->line = line;
      item->error = std::move(why);
      return true;
    };
    if (JsonDepth(v) > kMaxJsonDepth) return fail("JSON nested too deeply");
    json j = json::parse(v, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return fail("not valid JSON");
    if (!j.is_object()) return fail("not a JSON object");
    for (const auto& [key, val] : j.items()) {
      if (val.is_null()) continue;
      std::string* text = nullptr;
      if (key == "value") text = &item->value;
      else if (key == "type") text = &item->type;
      else if (key == "tlp") text = &item->tlp;
      else if (key == "description") text = &item->description;
      else if (key == "reshare") text = &item->reshare;
      if (text != nullptr) {
        if (!val.is_string()) return fail("'" + key + "' must be a string");
        *text = val.get<std::string>();
        continue;
      }
      if (key == "confidence") {
        if (!val.is_number_integer() || val.get<int64_t>() < 0 ||
            val.get<int64_t>() > 100) {
          return fail("confidence must be an integer 0..100");
        }
        item->confidence = static_cast<int>(val.get<int64_t>());
      } else if (key == "tags") {
        if (!val.is_array()) return fail("tags must be an array of strings");
        for (const auto& t : val) {
          if (!t.is_string()) return fail("tags must be an array of strings");
          item->tags.push_back(t.get<std::string>());
        }
      } else if (key == "valid_until" || key == "first_seen" ||
                 key == "last_seen") {
        int64_t* out = key == "valid_until" ? &item->valid_until
                       : key == "first_seen" ? &item->first_seen
                                             : &item->last_seen;
        if (val.is_number_integer() && val.get<int64_t>() >= 0) {
          *out = val.get<int64_t>();
        } else if (val.is_string()) {
          if (auto bad = ParseFileTime(key, val.get<std::string>(), out)) {
            return fail(*bad);
          }
        } else {
          return fail(key + " must be an RFC 3339 string or Unix seconds");
        }
      } else {
        return fail("unknown field '" + Shown(key) + "'");
      }
    }
    if (item->value.empty()) return fail("missing or empty 'value'");
    return true;
  }
  return false;
}

}  // namespace caravan::protocol
