#pragma once
// A walker over one JSON document read from a stream, for importers that
// must not hold the document in memory (docs/stix.md, "Streaming import").
//
// nlohmann::json's SAX parser reads the bytes (so what is valid JSON is
// exactly what the whole-document parser accepts: UTF-8, number range,
// syntax); the walker tracks where each value starts and asks its subclass
// what to do with it: ignore it (only its syntax is checked), descend into
// it (its members are asked about in turn), or capture it (built as one
// nlohmann::json value and handed over when it ends). Memory stays bounded
// whatever the document's size: the path of descended containers, plus one
// captured value of at most `max_value_bytes` (a larger one is dropped
// while it is read and reported through TooLarge with its start offset).
// Nesting is bounded by kMaxJsonDepth, like ParseBoundedJson.
//
// One thread; a walker is used for one Run.

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/status.h"

namespace caravan::protocol {

class JsonStreamWalker {
 public:
  enum class Kind { kObject, kArray, kScalar };
  enum class Action { kIgnore, kDescend, kCapture };

  // Where a value starts: inside the descended container with `parent_role`
  // (kRootRole for the document itself), as member `key` of an object or
  // element `index` (0-based) of an array.
  static constexpr int kRootRole = -1;
  struct Position {
    int parent_role = kRootRole;
    bool in_array = false;
    std::string_view key;
    uint64_t index = 0;
    Kind kind = Kind::kScalar;
    uint64_t offset = 0;  // byte offset in the stream where it starts
  };
  struct Decision {
    Action action = Action::kIgnore;
    int role = 0;  // for kDescend: the role its members see as parent_role
  };

  JsonStreamWalker(std::string what, size_t max_value_bytes);
  virtual ~JsonStreamWalker() = default;

  // Parses the one document `in` holds from its current position to the
  // end. Fails (InvalidInput) on a syntax error ("<what>: not valid JSON
  // (byte N): ..."), nesting deeper than kMaxJsonDepth, or the first
  // Status a hook passed to Fail.
  Status Run(std::istream& in);

 protected:
  // Called at the start of every value inside a descended container (and
  // of the document itself). A scalar can be ignored or captured.
  virtual Decision Decide(const Position& at) = 0;
  // The captured value that started at `at`, complete.
  virtual void Captured(const Position& at, nlohmann::json&& value) = 0;
  // The captured value at `at` was over max_value_bytes (it was dropped).
  virtual void TooLarge(const Position& at) = 0;
  // A descended container with `role` ended; `members` is how many
  // members or elements it had.
  virtual void Closed(int role, uint64_t members) {
    (void)role;
    (void)members;
  }

  // Stops the walk; Run returns `why`. The first call wins.
  void Fail(Status why);
  const std::string& what() const { return what_; }
  size_t max_value_bytes() const { return max_value_bytes_; }

 private:
  class Sax;
  friend class Sax;
  struct Frame {
    int role = 0;
    bool array = false;
    std::string key;  // the member whose value comes next
    uint64_t members = 0;
  };

  // A value starts: decides (or passes it to the capture in progress).
  // Returns false to stop parsing.
  bool BeginValue(Kind kind);
  // A container ends.
  bool EndContainer();
  // A scalar value (already converted) arrives.
  bool Scalar(nlohmann::json&& value, size_t bytes);
  // Adds `value` to the capture in progress; returns where it went.
  nlohmann::json* Put(nlohmann::json&& value);
  void FinishCapture();

  class CountingBuf;

  std::string what_;
  size_t max_value_bytes_;
  Status failed_ = Status::Ok();
  const CountingBuf* buf_ = nullptr;   // set during Run: byte offsets
  bool started_ = false;               // the document's value has begun
  std::vector<Frame> frames_;          // descended containers
  size_t depth_ = 0;                   // all open containers
  size_t ignore_depth_ = 0;            // open containers inside an ignored value
  // The capture in progress (capture_open_ = its containers still open).
  bool capturing_ = false;
  size_t capture_open_ = 0;
  size_t capture_bytes_ = 0;
  bool capture_too_large_ = false;
  Position capture_at_;
  std::string capture_key_;      // capture_at_.key points here
  nlohmann::json capture_root_;
  std::vector<nlohmann::json*> capture_stack_;
  std::string capture_member_;  // key for the next value in an object
  bool Key(std::string& key);
  bool Nest();  // one more open container; false past kMaxJsonDepth
  uint64_t Offset() const;
};

}  // namespace caravan::protocol
