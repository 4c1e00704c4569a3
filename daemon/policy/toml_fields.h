#pragma once
// Internal to daemon/policy: line-aware, typed reading of toml++ tables for
// the policy loader, and the error list every loader step writes to.
// Not a public API; include only from daemon/policy/*.cc.
//
// Values and functions over caller-owned tables; thread-compatible.

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <toml++/toml.h>

#include "daemon/policy/policy.h"

namespace caravan::policy::detail {


using protocol::IndicatorType;
using protocol::Reshare;
using protocol::Tlp;

// All errors of one load. Reported sorted by file, then line, so that an
// operator reads them in the order of the files.
class Errors {
 public:
  void Add(std::string_view file, int line, std::string_view reason) {
    entries_.push_back({std::string(file), line < 1 ? 1 : line,
                        std::string(reason)});
  }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  std::string Join() const {
    std::vector<Entry> sorted = entries_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Entry& a, const Entry& b) {
                       return std::tie(a.file, a.line) <
                              std::tie(b.file, b.line);
                     });
    std::string out;
    for (const auto& e : sorted) {
      if (!out.empty()) out += '\n';
      out += e.file + ":" + std::to_string(e.line) + ": " + e.reason;
    }
    return out;
  }

 private:
  struct Entry {
    std::string file;
    int line;
    std::string reason;
  };
  std::vector<Entry> entries_;
};

// The line a node starts on (1-based; toml++ records it for every node).
int LineOf(const toml::node& n);
// "a string", "an integer", ... for messages.
std::string_view KindName(const toml::node& n);
std::string Quote(std::string_view s);
std::string JoinNames(const std::vector<std::string>& names);
// Reports keys of `table` outside `allowed`, suggesting a near miss; `where`
// ends the message ("in [outbound]").
void CheckKeys(const toml::table& table,
               std::initializer_list<std::string_view> allowed,
               std::string_view where, std::string_view file, Errors& errors);

struct LineString {
  std::string value;
  int line = 0;
};

// Typed access to the keys of one table, recording the line of each key
// present into the file's key_lines and reporting wrong types.
class TableReader {
 public:
  // `section` is "outbound", "inbound" or "" for the top level.
  TableReader(const toml::table& table, std::string section,
              std::string_view file, Errors& errors, PolicyFile* record)
      : table_(table), section_(std::move(section)), file_(file),
        errors_(errors), record_(record) {}

  std::string_view file() const { return file_; }
  Errors& errors() { return errors_; }

  // "'share' in [outbound]" / "'applies_to'".
  std::string Name(std::string_view key) const {
    std::string n = Quote(key);
    if (!section_.empty()) n += " in [" + section_ + "]";
    return n;
  }

  void Error(int line, std::string_view reason) {
    errors_.Add(file_, line, reason);
  }

  const toml::node* Get(std::string_view key) {
    const toml::node* n = table_.get(key);
    if (n != nullptr && record_ != nullptr) {
      const std::string full =
          section_.empty() ? std::string(key) : section_ + "." + std::string(key);
      record_->key_lines[full] = LineOf(*n);
    }
    return n;
  }

  void TypeError(std::string_view key, const toml::node& n,
                 std::string_view expected) {
    Error(LineOf(n), Name(key) + " must be " + std::string(expected) +
                         ", not " + std::string(KindName(n)));
  }

  std::optional<bool> Bool(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) {
      TypeError(key, *n, "true or false");
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }

  // An integer in [lo, hi].
  std::optional<int64_t> Int(std::string_view key, int64_t lo, int64_t hi) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer()) {
      TypeError(key, *n, "an integer");
      return std::nullopt;
    }
    const int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) {
      Error(LineOf(*n), Name(key) + " is " + std::to_string(v) +
                            ", out of range " + std::to_string(lo) + ".." +
                            std::to_string(hi));
      return std::nullopt;
    }
    return v;
  }

  std::optional<LineString> String(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) {
      TypeError(key, *n, "a string");
      return std::nullopt;
    }
    return LineString{n->as_string()->get(), LineOf(*n)};
  }

  // An array of strings; nullopt (with errors reported) on any non-string.
  std::optional<std::vector<LineString>> StringArray(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_array()) {
      TypeError(key, *n, "an array of strings");
      return std::nullopt;
    }
    std::vector<LineString> out;
    bool ok = true;
    for (const toml::node& e : *n->as_array()) {
      if (!e.is_string()) {
        Error(LineOf(e), "every entry of " + Name(key) +
                             " must be a string, not " +
                             std::string(KindName(e)));
        ok = false;
        continue;
      }
      out.push_back({e.as_string()->get(), LineOf(e)});
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // The table's own line, for errors about the table as a whole.
  int line() const { return LineOf(table_); }

 private:
  const toml::table& table_;
  std::string section_;
  std::string_view file_;
  Errors& errors_;
  PolicyFile* record_;
};

}  // namespace caravan::policy::detail
