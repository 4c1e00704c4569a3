#include "protocol/formats/misp_stream.h"

#include <string>
#include <utility>
#include <vector>

#include "protocol/formats/json_stream.h"

namespace caravan::protocol {
namespace {

using nlohmann::json;

enum Role {
  kRoot = 0,          // the document (a bare event in the bare shape)
  kResponse,          // "response": [...]
  kEntry,             // one response entry {"Event": ...}
  kEvent,             // an event object
  kObjects,           // an event's "Object": [...]
  kObjectEntry,       // one MISP object
  kAttributes,        // an event's "Attribute": [...]
  kObjectAttributes,  // an object's "Attribute": [...]
};

// Where the events come from, as ImportMispEvent decides it.
enum class Shape { kResponse, kEventMember, kBare };

// Members that decide the shape; each may appear once per object.
enum SeenBit : uint32_t { kSeenResponse = 1, kSeenEvent = 2, kSeenAttribute = 4, kSeenObject = 8 };

uint32_t SeenBitOf(std::string_view key) {
  if (key == "response") return kSeenResponse;
  if (key == "Event") return kSeenEvent;
  if (key == "Attribute") return kSeenAttribute;
  if (key == "Object") return kSeenObject;
  return 0;
}

// Pass 1: checks the whole document and keeps each event's "uuid" and
// "Tag" for the second pass.
class ShapeWalker : public JsonStreamWalker {
 public:
  ShapeWalker() : JsonStreamWalker("misp", kMaxStreamObjectBytes) {}

  // The events of the shape ImportMispEvent would read, or its error.
  Result<std::pair<Shape, std::vector<MispEventContext>>> Decided() const {
    Shape shape;
    if (root_seen_ & kSeenResponse) {
      shape = Shape::kResponse;
    } else if (root_seen_ & kSeenEvent) {
      shape = Shape::kEventMember;
    } else if ((root_seen_ & (kSeenAttribute | kSeenObject)) ||
               (bare_has_uuid_ && bare_has_info_)) {
      shape = Shape::kBare;
    } else {
      return InvalidInput(
          "misp: no Event (expected {\"Event\": …}, a bare event or "
          "{\"response\": […]})");
    }
    const Source& source = sources_[static_cast<int>(shape)];
    if (!source.error.empty()) return InvalidInput(source.error);
    if (source.events.empty()) return InvalidInput("misp: no event");
    std::vector<MispEventContext> contexts;
    contexts.reserve(source.events.size());
    for (const json& e : source.events) contexts.push_back(MispEventContextOf(e));
    return std::pair{shape, std::move(contexts)};
  }

 protected:
  Decision Decide(const Position& at) override {
    if (at.parent_role == kRootRole) {
      if (at.kind != Kind::kObject) {
        Fail(InvalidInput("misp: top level is not a JSON object"));
        return {};
      }
      return Descend(kRoot, Shape::kBare, 0);
    }
    Frame& f = frames_.back();
    if (!at.in_array) {
      if (const uint32_t bit = SeenBitOf(at.key); bit != 0) {
        if (f.seen & bit) {
          Fail(InvalidInput("misp: \"" + std::string(at.key) +
                            "\" appears twice in one object (near byte " +
                            std::to_string(at.offset) + ")"));
          return {};
        }
        f.seen |= bit;
      }
    }
    switch (at.parent_role) {
      case kRoot:
        if (at.key == "response") {
          if (at.kind == Kind::kArray) return Descend(kResponse, Shape::kResponse, 0);
          if (at.kind == Kind::kObject) return Descend(kEntry, Shape::kResponse, 0);
          Error(Shape::kResponse, "misp: response entry without Event");
          return {};
        }
        if (at.key == "Event") return EventAt(at, Shape::kEventMember);
        if (at.key == "uuid") bare_has_uuid_ = true;
        if (at.key == "info") bare_has_info_ = true;
        // The root may be the event itself (the bare shape).
        if (sources_[static_cast<int>(Shape::kBare)].events.empty()) {
          sources_[static_cast<int>(Shape::kBare)].events.push_back(json::object());
        }
        return EventMember(at, f.shape, 0);
      case kResponse:
        if (at.kind == Kind::kObject) return Descend(kEntry, Shape::kResponse, 0);
        Error(Shape::kResponse, "misp: response entry without Event");
        return {};
      case kEntry:
        if (at.key == "Event") return EventAt(at, Shape::kResponse);
        return {};
      case kEvent:
        return EventMember(at, f.shape, f.event);
      case kObjects:
        // A non-object element is reported by the second pass.
        if (at.kind == Kind::kObject) return Descend(kObjectEntry, f.shape, f.event);
        return {};
      case kObjectEntry:
        if (at.key == "Attribute" && at.kind != Kind::kArray) {
          Error(f.shape, "misp: Attribute is not an array");
        }
        return {};
      default:
        return {};
    }
  }

  void Captured(const Position& at, json&& value) override {
    sources_[static_cast<int>(capture_shape_)].events[capture_event_][std::string(at.key)] =
        std::move(value);
  }
  void TooLarge(const Position& at) override {
    Error(capture_shape_, "misp: event " + std::string(at.key) + " (near byte " +
                              std::to_string(at.offset) + ") larger than " +
                              std::to_string(kMaxStreamObjectBytes) + " bytes");
  }

  void Closed(int role, uint64_t) override {
    const Frame f = frames_.back();
    frames_.pop_back();
    if (role == kRoot) root_seen_ = f.seen;
    if (role == kEntry && !(f.seen & kSeenEvent)) {
      Error(Shape::kResponse, "misp: response entry without Event");
    }
  }

 private:
  struct Frame {
    Shape shape = Shape::kBare;
    size_t event = 0;   // index into its source's events
    uint32_t seen = 0;  // SeenBit members met so far
  };
  struct Source {
    std::vector<json> events;  // {"uuid": …, "Tag": …} of each event
    std::string error;         // the first thing ImportMispEvent refuses
  };

  Decision Descend(Role role, Shape shape, size_t event) {
    frames_.push_back({shape, event, 0});
    return {Action::kDescend, role};
  }

  void Error(Shape shape, std::string why) {
    std::string& error = sources_[static_cast<int>(shape)].error;
    if (error.empty()) error = std::move(why);
  }

  // The value of an "Event" member: one more event of `shape`.
  Decision EventAt(const Position& at, Shape shape) {
    if (at.kind != Kind::kObject) {
      Error(shape, "misp: event is not a JSON object");
      return {};
    }
    Source& source = sources_[static_cast<int>(shape)];
    source.events.push_back(json::object());
    return Descend(kEvent, shape, source.events.size() - 1);
  }

  // A member of an event: its context, or a check of its lists.
  Decision EventMember(const Position& at, Shape shape, size_t event) {
    if (at.key == "uuid" || at.key == "Tag") {
      capture_shape_ = shape;
      capture_event_ = event;
      return {Action::kCapture, 0};
    }
    if (at.key == "Attribute" && at.kind != Kind::kArray) {
      Error(shape, "misp: Attribute is not an array");
    }
    if (at.key == "Object") {
      if (at.kind == Kind::kArray) return Descend(kObjects, shape, event);
      Error(shape, "misp: Object is not an array");
    }
    return {};
  }

  std::vector<Frame> frames_;  // one per descended container
  Source sources_[3];
  uint32_t root_seen_ = 0;  // kept when the root closes, for Decided
  bool bare_has_uuid_ = false, bare_has_info_ = false;
  Shape capture_shape_ = Shape::kBare;
  size_t capture_event_ = 0;
};

// Pass 2: each attribute through the per-attribute mapping, straight to
// the sink, with the context its event got in pass 1.
class ItemWalker : public JsonStreamWalker {
 public:
  ItemWalker(Shape shape, std::vector<MispEventContext> contexts, const MispStreamSink& sink)
      : JsonStreamWalker("misp", kMaxStreamObjectBytes),
        shape_(shape),
        contexts_(std::move(contexts)),
        sink_(sink) {}

  MispStreamTotals totals() const {
    MispStreamTotals t = totals_;
    t.events = next_event_;
    t.attributes = scratch_.attributes;
    return t;
  }

 protected:
  Decision Decide(const Position& at) override {
    switch (at.parent_role) {
      case kRootRole:
        if (shape_ == Shape::kBare) StartEvent();
        return {Action::kDescend, kRoot};
      case kRoot:
        if (shape_ == Shape::kResponse && at.key == "response") {
          return {Action::kDescend, at.kind == Kind::kArray ? kResponse : kEntry};
        }
        if (shape_ == Shape::kEventMember && at.key == "Event") {
          StartEvent();
          return {Action::kDescend, kEvent};
        }
        if (shape_ == Shape::kBare) return EventMember(at);
        return {};
      case kResponse:
        return {Action::kDescend, kEntry};
      case kEntry:
        if (at.key != "Event") return {};
        StartEvent();
        return {Action::kDescend, kEvent};
      case kEvent:
        return EventMember(at);
      case kObjects:
        if (at.kind == Kind::kObject) return {Action::kDescend, kObjectEntry};
        scratch_.skipped.push_back({Context().uuid, "", "object is not a JSON object"});
        Drain();
        return {};
      case kObjectEntry:
        if (at.key == "Attribute") return {Action::kDescend, kObjectAttributes};
        return {};
      case kAttributes:
      case kObjectAttributes:
        return {Action::kCapture, 0};
      default:
        return {};
    }
  }

  void Captured(const Position&, json&& value) override {
    ImportMispAttribute(value, Context(), &scratch_);
    Drain();
  }

  void TooLarge(const Position& at) override {
    ++scratch_.attributes;
    scratch_.skipped.push_back(
        {Context().uuid, "",
         "attribute #" + std::to_string(scratch_.attributes) + " (at byte " +
             std::to_string(at.offset) + "): larger than " +
             std::to_string(kMaxStreamObjectBytes) + " bytes; not imported"});
    Drain();
  }

 private:
  Decision EventMember(const Position& at) {
    if (at.key == "Attribute") return {Action::kDescend, kAttributes};
    if (at.key == "Object") return {Action::kDescend, kObjects};
    return {};
  }

  void StartEvent() { current_ = next_event_++; }

  const MispEventContext& Context() const {
    static const MispEventContext kNone;
    return current_ < contexts_.size() ? contexts_[current_] : kNone;
  }

  void Drain() {
    for (MispImportItem& it : scratch_.items) {
      ++totals_.items;
      if (Status s = sink_.item(std::move(it)); !s.ok()) {
        Fail(std::move(s));
        break;
      }
    }
    for (const MispSkipped& s : scratch_.skipped) {
      ++totals_.skipped;
      sink_.skipped(s);
    }
    scratch_.items.clear();
    scratch_.skipped.clear();
  }

  Shape shape_;
  std::vector<MispEventContext> contexts_;
  const MispStreamSink& sink_;
  MispImport scratch_;  // attributes counts on; items and skipped drained
  MispStreamTotals totals_;
  size_t current_ = 0, next_event_ = 0;
};

}  // namespace

Result<MispStreamTotals> StreamMispImport(std::istream& in, const MispStreamSink& sink) {
  const std::streampos start = in.tellg();
  ShapeWalker shape;
  CARAVAN_RETURN_IF_ERROR(shape.Run(in));
  auto decided = shape.Decided();
  if (!decided.ok()) return decided.status();
  in.clear();
  in.seekg(start);
  if (!in) return Unavailable("misp: cannot rewind the input for the second pass");
  ItemWalker items(decided->first, std::move(decided->second), sink);
  CARAVAN_RETURN_IF_ERROR(items.Run(in));
  return items.totals();
}

}  // namespace caravan::protocol
