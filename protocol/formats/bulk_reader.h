#pragma once
// Streaming readers for bulk submission files (`caravan submit --file`,
// spool directory): one item per call, memory bounded by kMaxBulkLineBytes
// whatever the input size.
//
// Formats:
//   txt    one value per line. Blank lines and lines starting with '#' are
//          skipped; a trailing '\r' is stripped. A line "value<TAB>rest"
//          yields the value and ignores the rest, so ipsum-style
//          "IP<TAB>count" feeds load as they are published.
//   csv    RFC 4180 (quoted fields may hold commas, doubled quotes and
//          newlines). The first record is a header naming the columns
//          (case-insensitive): value (required), type, tlp, confidence,
//          tags (';'-separated), description, valid_until, first_seen,
//          last_seen, reshare. An unknown, duplicate or missing column is
//          one error item for line 1, then the reader stops. '#' lines and
//          blank lines before or between records are skipped.
//   jsonl  one JSON object per line with the same field names; "tags" is an
//          array of strings; times are strings or integers. Unknown keys
//          are an error for that line.
// Times in files: RFC 3339 or Unix seconds (relative durations are refused:
// in a file they would change meaning with the day it is read).
//
// The reader only splits, unescapes and checks structure and field types;
// values stay raw text for the daemon to normalize. A bad line yields an
// item with `error` set and reading goes on with the next line; a line over
// kMaxBulkLineBytes is skipped to its newline without being buffered.
//
// A BulkReader borrows the stream (it must outlive the reader); one thread.

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caravan::protocol {

inline constexpr size_t kMaxBulkLineBytes = 64 * 1024;

enum class BulkFormat { kTxt, kCsv, kJsonl };

// "txt", "csv", "jsonl" (case-insensitive; "ndjson" and "json-lines" too).
std::optional<BulkFormat> ParseBulkFormat(std::string_view name);
// From a file name's extension: .txt/.list/.lst, .csv, .jsonl/.ndjson.
std::optional<BulkFormat> BulkFormatFromPath(std::string_view path);

struct BulkItem {
  uint64_t line = 0;                 // 1-based line where the item starts
  std::optional<std::string> error;  // set: this line is bad, fields unset
  std::string type, value, tlp, description, reshare;  // raw text, "" = unset
  int confidence = -1;               // -1 = unset, else 0..100
  std::vector<std::string> tags;
  int64_t valid_until = 0, first_seen = 0, last_seen = 0;  // 0 = unset
};

class BulkReader {
 public:
  BulkReader(std::istream& in, BulkFormat format);

  // Fills `*item` with the next item (good or with `error`) and returns
  // true; false at the end of input.
  bool Next(BulkItem* item);

 private:
  enum class Column {
    kValue, kType, kTlp, kConfidence, kTags, kDescription, kValidUntil,
    kFirstSeen, kLastSeen, kReshare
  };

  // Reads one physical line (CSV: one record, which may span lines) into
  // line_; false at end of input. Sets too_long_ when it was cut.
  bool ReadLine(bool csv_record);
  bool NextTxt(BulkItem* item);
  bool NextCsv(BulkItem* item);
  bool NextJsonl(BulkItem* item);

  std::istream& in_;
  BulkFormat format_;
  std::string line_;
  bool too_long_ = false;
  uint64_t line_number_ = 0;  // lines consumed so far
  uint64_t record_line_ = 0;  // first line of the record in line_
  bool first_read_ = true;    // strip a UTF-8 BOM once
  bool stopped_ = false;      // a fatal header error was reported
  std::optional<std::vector<Column>> columns_;  // csv header, once read
};

}  // namespace caravan::protocol
