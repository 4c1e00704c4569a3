#include "daemon/net/failure_tally.h"

#include <algorithm>
#include <utility>

namespace caravan::daemon::net {

FailureTally::FailureTally(Options options) : options_(options) {
  if (options_.max_sources == 0) options_.max_sources = 1;
  if (options_.max_reasons == 0) options_.max_reasons = 1;
}

bool FailureTally::Record(std::string_view source, std::string_view reason,
                          Clock::time_point now) {
  ++total_;
  auto it = open_.find(source);
  bool opened = false;
  if (it == open_.end()) {
    // The overflow bucket is always allowed, so the map holds at most
    // max_sources + 1 windows.
    std::string_view key = open_.size() < options_.max_sources
                               ? source
                               : std::string_view(kOtherSources);
    it = open_.find(key);
    if (it == open_.end()) {
      Summary fresh;
      fresh.source = std::string(key);
      fresh.first = now;
      it = open_.emplace(fresh.source, std::move(fresh)).first;
      opened = true;
    }
  }
  Summary& s = it->second;
  ++s.count;
  s.last = now;
  auto reason_it = s.reasons.find(std::string(reason));
  if (reason_it != s.reasons.end()) {
    ++reason_it->second;
  } else if (s.reasons.size() < options_.max_reasons) {
    s.reasons.emplace(std::string(reason), 1);
  } else {
    ++s.reasons[std::string(kOtherReasons)];
  }
  return opened;
}

std::vector<FailureTally::Summary> FailureTally::TakeDue(
    Clock::time_point now) {
  std::vector<Summary> due;
  for (auto it = open_.begin(); it != open_.end();) {
    if (now - it->second.first >= options_.interval) {
      due.push_back(std::move(it->second));
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(due.begin(), due.end(), [](const Summary& a, const Summary& b) {
    return a.first < b.first;
  });
  return due;
}

std::vector<FailureTally::Summary> FailureTally::TakeAll() {
  std::vector<Summary> all;
  for (auto& [source, summary] : open_) all.push_back(std::move(summary));
  open_.clear();
  std::sort(all.begin(), all.end(), [](const Summary& a, const Summary& b) {
    return a.first < b.first;
  });
  return all;
}

std::string DescribeFailures(const FailureTally::Summary& summary) {
  std::string text = std::to_string(summary.count) +
                     (summary.count == 1 ? " failure (" : " failures (");
  bool first = true;
  for (const auto& [reason, count] : summary.reasons) {
    if (!first) text += ", ";
    first = false;
    text += reason + ": " + std::to_string(count);
  }
  return text + ")";
}

}  // namespace caravan::daemon::net
