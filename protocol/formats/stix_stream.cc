#include "protocol/formats/stix_stream.h"

#include <string>
#include <utility>

#include "protocol/formats/json_stream.h"

namespace caravan::protocol {
namespace {

using nlohmann::json;

enum Role { kRoot = 0, kObjects = 1 };

// The document's shape, as ImportStixBundle decides it.
enum class Shape { kEmptyBundle, kObjectsArray, kSingleObject };

// Pass 1: reads only the top level ("type", whether "objects" is an
// array) and checks the syntax of everything.
class ShapeWalker : public JsonStreamWalker {
 public:
  ShapeWalker() : JsonStreamWalker("stix", kMaxStreamObjectBytes) {}

  Result<Shape> Decided() const {
    if (!has_type_ && !has_objects_) {
      return InvalidInput("stix: neither a bundle, an envelope nor a STIX object");
    }
    const bool bundle = has_type_ && type_ == "bundle";
    if (bundle && !has_objects_) return Shape::kEmptyBundle;
    if (bundle || !has_type_) {
      if (!objects_array_) return InvalidInput("stix: objects is not an array");
      return Shape::kObjectsArray;
    }
    if (!type_.is_string()) {
      return InvalidInput("stix: neither a bundle, an envelope nor a STIX object");
    }
    return Shape::kSingleObject;
  }

 protected:
  Decision Decide(const Position& at) override {
    if (at.parent_role == kRootRole) {
      if (at.kind != Kind::kObject) {
        Fail(InvalidInput("stix: top level is not a JSON object"));
        return {};
      }
      return {Action::kDescend, kRoot};
    }
    if (at.parent_role != kRoot) return {};
    if (at.key == "type" || at.key == "objects") {
      bool& seen = at.key == "type" ? has_type_ : has_objects_;
      if (seen) {
        Fail(InvalidInput("stix: the top-level object has \"" + std::string(at.key) +
                          "\" twice"));
        return {};
      }
      seen = true;
      if (at.key == "objects") {
        objects_array_ = at.kind == Kind::kArray;
        return {};
      }
      return {Action::kCapture, 0};
    }
    return {};
  }
  void Captured(const Position&, json&& value) override { type_ = std::move(value); }
  // A huge "type": only whether it was a string matters (it cannot be
  // "bundle").
  void TooLarge(const Position& at) override {
    type_ = at.kind == Kind::kScalar ? json("(too large)") : json::object();
  }

 private:
  bool has_type_ = false, has_objects_ = false, objects_array_ = false;
  json type_;
};

// Pass 2: each element of "objects" (or the single object) through the
// per-object mapping, straight to the sink.
class ItemWalker : public JsonStreamWalker {
 public:
  ItemWalker(Shape shape, const StixStreamSink& sink)
      : JsonStreamWalker("stix", kMaxStreamObjectBytes), shape_(shape), sink_(sink) {}

  const StixStreamTotals& totals() const { return totals_; }

 protected:
  Decision Decide(const Position& at) override {
    if (at.parent_role == kRootRole) {
      if (shape_ == Shape::kSingleObject) return {Action::kCapture, 0};
      return {Action::kDescend, kRoot};
    }
    if (at.parent_role == kRoot && at.key == "objects" && at.kind == Kind::kArray) {
      return {Action::kDescend, kObjects};
    }
    if (at.parent_role == kObjects) return {Action::kCapture, 0};
    return {};
  }

  void Captured(const Position& at, json&& value) override {
    const size_t index = IndexOf(at);
    ++totals_.objects;
    ImportStixObject(value, index, &scratch_);
    Drain();
  }

  void TooLarge(const Position& at) override {
    const size_t index = IndexOf(at);
    ++totals_.objects;
    scratch_.skipped.push_back(
        {"", index,
         "object " + std::to_string(index) + " (at byte " + std::to_string(at.offset) +
             "): larger than " + std::to_string(kMaxStreamObjectBytes) +
             " bytes; not imported"});
    Drain();
  }

 private:
  static size_t IndexOf(const Position& at) {
    return at.parent_role == kObjects ? static_cast<size_t>(at.index) + 1 : 1;
  }

  void Drain() {
    totals_.other_objects += scratch_.other_objects;
    for (StixImportItem& it : scratch_.items) {
      ++totals_.items;
      if (Status s = sink_.item(std::move(it)); !s.ok()) {
        Fail(std::move(s));
        break;
      }
    }
    for (const StixSkipped& s : scratch_.skipped) {
      ++totals_.skipped;
      sink_.skipped(s);
    }
    scratch_ = StixImport();
  }

  Shape shape_;
  const StixStreamSink& sink_;
  StixImport scratch_;
  StixStreamTotals totals_;
};

}  // namespace

Result<StixStreamTotals> StreamStixImport(std::istream& in, const StixStreamSink& sink) {
  const std::streampos start = in.tellg();
  ShapeWalker shape;
  CARAVAN_RETURN_IF_ERROR(shape.Run(in));
  auto decided = shape.Decided();
  if (!decided.ok()) return decided.status();
  if (*decided == Shape::kEmptyBundle) return StixStreamTotals();
  in.clear();
  in.seekg(start);
  if (!in) return Unavailable("stix: cannot rewind the input for the second pass");
  ItemWalker items(*decided, sink);
  CARAVAN_RETURN_IF_ERROR(items.Run(in));
  return items.totals();
}

}  // namespace caravan::protocol
