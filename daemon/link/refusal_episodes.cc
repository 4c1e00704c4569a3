#include "daemon/link/refusal_episodes.h"

#include <algorithm>

#include "protocol/time_text.h"

namespace caravan::daemon::link {

RefusalEpisodes::RefusalEpisodes(Options options) : options_(options) {
  options_.max_episodes = std::max<size_t>(options_.max_episodes, 1);
}

bool RefusalEpisodes::Record(std::string_view key, std::string_view detail,
                             Clock::time_point now, int64_t unix_now) {
  auto it = open_.find(key);
  bool opened = false;
  if (it == open_.end()) {
    // A full table folds new keys into one shared episode, so a crowd of
    // strangers grows neither this map nor the audit.
    // (One entry is kept for kOtherKeys itself.)
    const bool full = open_.size() + 1 >= options_.max_episodes;
    const std::string_view slot = full ? kOtherKeys : key;
    it = open_.find(slot);
    if (it == open_.end()) {
      Episode fresh;
      fresh.report.key = std::string(slot);
      fresh.report.first_unix = unix_now;
      fresh.last_report = now;
      it = open_.emplace(std::string(slot), std::move(fresh)).first;
      opened = true;
    }
  }
  Episode& e = it->second;
  ++e.report.count;
  e.report.last_unix = unix_now;
  e.last = now;
  // The opening refusal is reported by the caller at once.
  if (!opened) ++e.report.since_last_report;
  auto& details = e.report.details;
  const std::string cut(detail.substr(0, kMaxDetailBytes));
  if (!cut.empty() && details.size() < options_.max_details &&
      std::find(details.begin(), details.end(), cut) == details.end()) {
    details.push_back(cut);
  }
  return opened;
}

std::optional<RefusalEpisodes::Report> RefusalEpisodes::End(std::string_view key) {
  auto it = open_.find(key);
  if (it == open_.end()) return std::nullopt;
  Report report = std::move(it->second.report);
  open_.erase(it);
  if (report.since_last_report == 0) return std::nullopt;
  report.ended = true;
  return report;
}

std::vector<RefusalEpisodes::Report> RefusalEpisodes::TakeDue(Clock::time_point now) {
  std::vector<Report> due;
  for (auto it = open_.begin(); it != open_.end();) {
    Episode& e = it->second;
    if (now - e.last >= options_.idle_end) {
      Report report = std::move(e.report);
      it = open_.erase(it);
      if (report.since_last_report == 0) continue;
      report.ended = true;
      due.push_back(std::move(report));
      continue;
    }
    if (e.report.since_last_report > 0 && now - e.last_report >= options_.report_every) {
      due.push_back(e.report);
      e.report.since_last_report = 0;
      e.last_report = now;
    }
    ++it;
  }
  std::sort(due.begin(), due.end(),
            [](const Report& a, const Report& b) { return a.first_unix < b.first_unix; });
  return due;
}

std::vector<RefusalEpisodes::Report> RefusalEpisodes::TakeAll() {
  std::vector<Report> all;
  for (auto& [key, e] : open_) {
    if (e.report.since_last_report == 0) continue;
    e.report.ended = true;
    all.push_back(std::move(e.report));
  }
  open_.clear();
  return all;
}

std::optional<RefusalEpisodes::Report> RefusalEpisodes::Peek(std::string_view key) const {
  auto it = open_.find(key);
  if (it == open_.end()) return std::nullopt;
  return it->second.report;
}

std::string DescribeEpisode(const RefusalEpisodes::Report& report) {
  return "refused " + std::to_string(report.count) +
         (report.count == 1 ? " time" : " times") + " since " +
         protocol::FormatTime(report.first_unix);
}

}  // namespace caravan::daemon::link
