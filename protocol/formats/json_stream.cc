#include "protocol/formats/json_stream.h"

#include <streambuf>
#include <utility>

#include "protocol/formats/stix.h"  // kMaxJsonDepth

namespace caravan::protocol {

using nlohmann::json;

// Reads the walker's input in blocks and knows how many bytes the parser
// has taken, for offsets in messages.
class JsonStreamWalker::CountingBuf : public std::streambuf {
 public:
  explicit CountingBuf(std::istream& in) : in_(in) {}
  uint64_t Offset() const {
    return consumed_ + static_cast<uint64_t>(gptr() - eback());
  }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    consumed_ += static_cast<uint64_t>(egptr() - eback());
    in_.read(block_, sizeof block_);
    const std::streamsize n = in_.gcount();
    if (n <= 0) {
      setg(block_, block_, block_);
      return traits_type::eof();
    }
    setg(block_, block_, block_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::istream& in_;
  char block_[64 * 1024];
  uint64_t consumed_ = 0;
};

// nlohmann's SAX interface, forwarded to the walker.
class JsonStreamWalker::Sax {
 public:
  explicit Sax(JsonStreamWalker& w) : w_(w) {}
  bool null() { return w_.Scalar(nullptr, 4); }
  bool boolean(bool v) { return w_.Scalar(v, 5); }
  bool number_integer(json::number_integer_t v) { return w_.Scalar(v, 8); }
  bool number_unsigned(json::number_unsigned_t v) { return w_.Scalar(v, 8); }
  bool number_float(json::number_float_t v, const std::string& text) {
    return w_.Scalar(v, text.size());
  }
  bool string(std::string& s) {
    const size_t bytes = s.size() + 2;
    return w_.Scalar(std::move(s), bytes);
  }
  bool binary(json::binary_t&) { return false; }  // JSON text has none
  bool start_object(std::size_t) { return w_.BeginValue(Kind::kObject); }
  bool key(std::string& k) { return w_.Key(k); }
  bool end_object() { return w_.EndContainer(); }
  bool start_array(std::size_t) { return w_.BeginValue(Kind::kArray); }
  bool end_array() { return w_.EndContainer(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) {
    w_.Fail(InvalidInput(w_.what_ + ": not valid JSON (byte " +
                         std::to_string(position) + "): " + e.what()));
    return false;
  }

 private:
  JsonStreamWalker& w_;
};

namespace {
// What a value costs in memory beyond its text, counted against
// max_value_bytes so that many tiny values cannot build a huge tree.
constexpr size_t kValueOverhead = 32;
}  // namespace

JsonStreamWalker::JsonStreamWalker(std::string what, size_t max_value_bytes)
    : what_(std::move(what)), max_value_bytes_(max_value_bytes) {}

void JsonStreamWalker::Fail(Status why) {
  if (failed_.ok()) failed_ = std::move(why);
}

uint64_t JsonStreamWalker::Offset() const {
  return buf_ == nullptr ? 0 : buf_->Offset();
}

Status JsonStreamWalker::Run(std::istream& in) {
  CountingBuf buf(in);
  std::istream counted(&buf);
  buf_ = &buf;
  Sax sax(*this);
  bool parsed = false;
  try {
    parsed = json::sax_parse(counted, &sax, json::input_format_t::json, true);
  } catch (const std::exception& e) {
    // sax_parse reports by parse_error; this only catches what the
    // library throws outside it (allocation failure and the like).
    Fail(InvalidInput(what_ + ": unreadable JSON: " + e.what()));
  }
  buf_ = nullptr;
  if (!failed_.ok()) return failed_;
  if (!parsed) return InvalidInput(what_ + ": not valid JSON");
  return Status::Ok();
}

bool JsonStreamWalker::Nest() {
  if (++depth_ > kMaxJsonDepth) {
    Fail(InvalidInput(what_ + ": JSON nested deeper than " +
                      std::to_string(kMaxJsonDepth) + " at byte " +
                      std::to_string(Offset())));
    return false;
  }
  return true;
}

json* JsonStreamWalker::Put(json&& value) {
  if (capture_stack_.empty()) {
    capture_root_ = std::move(value);
    return &capture_root_;
  }
  json& parent = *capture_stack_.back();
  if (parent.is_array()) {
    parent.push_back(std::move(value));
    return &parent.back();
  }
  // A repeated member replaces the earlier one, as nlohmann's parser does.
  json& slot = parent[capture_member_];
  slot = std::move(value);
  return &slot;
}

void JsonStreamWalker::FinishCapture() {
  capturing_ = false;
  capture_stack_.clear();
  if (capture_too_large_) {
    TooLarge(capture_at_);
  } else {
    Captured(capture_at_, std::move(capture_root_));
  }
  capture_root_ = json();
}

bool JsonStreamWalker::BeginValue(Kind kind) {
  const bool container = kind != Kind::kScalar;
  if (ignore_depth_ > 0) {
    if (!container) return true;
    ++ignore_depth_;
    return Nest();
  }
  if (capturing_) {
    capture_bytes_ += kValueOverhead;
    if (!capture_too_large_ && capture_bytes_ > max_value_bytes_) {
      capture_too_large_ = true;
      capture_stack_.clear();
      capture_root_ = json();
    }
    if (!container) return true;  // Scalar() adds it
    ++capture_open_;
    if (!capture_too_large_) {
      capture_stack_.push_back(
          Put(kind == Kind::kObject ? json::object() : json::array()));
    }
    return Nest();
  }

  Position at;
  at.kind = kind;
  at.offset = Offset();
  if (!frames_.empty()) {
    Frame& f = frames_.back();
    at.parent_role = f.role;
    at.in_array = f.array;
    if (f.array) {
      at.index = f.members++;
    } else {
      at.key = f.key;
    }
  } else if (started_) {
    return true;  // only reached for a second top-level value: parser fails
  }
  started_ = true;
  const Decision d = Decide(at);
  if (!failed_.ok()) return false;
  switch (d.action) {
    case Action::kIgnore:
      if (container) {
        ignore_depth_ = 1;
        return Nest();
      }
      return true;
    case Action::kDescend:
      if (!container) return true;  // nothing to descend into
      frames_.push_back({d.role, kind == Kind::kArray, "", 0});
      return Nest();
    case Action::kCapture:
      capturing_ = true;
      capture_at_ = at;
      capture_key_ = std::string(at.key);
      capture_at_.key = capture_key_;
      capture_bytes_ = kValueOverhead;
      capture_too_large_ = false;
      capture_member_.clear();
      if (!container) return true;  // Scalar() adds it and finishes
      capture_open_ = 1;
      capture_stack_.push_back(
          Put(kind == Kind::kObject ? json::object() : json::array()));
      return Nest();
  }
  return true;
}

bool JsonStreamWalker::Scalar(json&& value, size_t bytes) {
  if (!BeginValue(Kind::kScalar)) return false;
  if (!capturing_) return true;
  capture_bytes_ += bytes;
  if (!capture_too_large_ && capture_bytes_ > max_value_bytes_) {
    capture_too_large_ = true;
    capture_stack_.clear();
    capture_root_ = json();
  }
  if (!capture_too_large_) Put(std::move(value));
  if (capture_open_ == 0) FinishCapture();
  return failed_.ok();
}

bool JsonStreamWalker::Key(std::string& key) {
  if (ignore_depth_ > 0) return true;
  if (capturing_) {
    capture_bytes_ += key.size() + 3;
    capture_member_ = key;
    return true;
  }
  if (frames_.empty()) return true;
  Frame& f = frames_.back();
  f.key = key;
  ++f.members;
  return true;
}

bool JsonStreamWalker::EndContainer() {
  if (depth_ > 0) --depth_;
  if (ignore_depth_ > 0) {
    --ignore_depth_;
    return true;
  }
  if (capturing_) {
    --capture_open_;
    if (!capture_too_large_ && !capture_stack_.empty()) capture_stack_.pop_back();
    if (capture_open_ == 0) FinishCapture();
    return failed_.ok();
  }
  if (frames_.empty()) return true;
  const Frame f = std::move(frames_.back());
  frames_.pop_back();
  Closed(f.role, f.members);
  return failed_.ok();
}

}  // namespace caravan::protocol
