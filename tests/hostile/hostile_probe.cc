#include "tests/hostile/hostile_probe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

namespace caravan::hostile {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int64_t FileBytes(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

int64_t CountLines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return -1;
  int64_t lines = 0;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) lines += buf[i] == '\n';
  }
  return lines;
}

// The value in kB of `key` ("VmRSS:") in /proc/PID/status, -1 if absent.
int64_t StatusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      return std::strtoll(line.c_str() + key.size(), nullptr, 10);
    }
  }
  return -1;
}

}  // namespace

int64_t RssKb(pid_t pid) { return pid > 0 ? StatusKb(pid, "VmRSS:") : -1; }

Footprint TakeFootprint(const TestNode& node) {
  Footprint f;
  if (node.running()) {
    f.rss_kb = StatusKb(node.pid(), "VmRSS:");
    // VmHWM is updated lazily and may trail a fresh VmRSS.
    f.hwm_kb = std::max(StatusKb(node.pid(), "VmHWM:"), f.rss_kb);
  }
  const fs::path db = node.database();
  f.store_bytes = FileBytes(db) + FileBytes(db.string() + "-wal");
  f.log_bytes = FileBytes(node.log());
  f.log_lines = CountLines(node.log());
  return f;
}

void AttackReport::Metric(const std::string& name, int64_t value) const {
  // One write per line: concurrent output cannot split it.
  const std::string line = "HOSTILE attack=" + attack_ + " metric=" + name +
                           " value=" + std::to_string(value) + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
  ::testing::Test::RecordProperty(attack_ + "." + name, std::to_string(value));
}

void AttackReport::Growth(const Footprint& before,
                          const Footprint& after) const {
  Metric("rss_before_kb", before.rss_kb);
  Metric("rss_peak_kb", after.hwm_kb);
  Metric("rss_after_kb", after.rss_kb);
  Metric("store_growth_bytes", after.store_bytes - before.store_bytes);
  Metric("log_growth_bytes", after.log_bytes - before.log_bytes);
  Metric("log_growth_lines", after.log_lines - before.log_lines);
}

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                               start);
}

TimedCommand TimedCli(const TestNode& node,
                      const std::vector<std::string>& args,
                      std::chrono::seconds timeout) {
  std::vector<std::string> argv = {integration::CaravanPath(), "--config",
                                   node.config().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto start = Clock::now();
  TimedCommand t;
  t.result = integration::RunProgram(argv, "", timeout);
  t.elapsed = Since(start);
  return t;
}

TimedHttp TimedRequest(uint16_t port, const integration::HttpRequest& request) {
  const auto start = Clock::now();
  TimedHttp t;
  t.reply = integration::SendHttp(port, request);
  t.elapsed = Since(start);
  return t;
}

int64_t CountAuditEntries(const TestNode& node,
                          const std::vector<std::string>& needles) {
  const TimedCommand audit = TimedCli(
      node, {"--json", "audit", "--limit", "10000"}, std::chrono::seconds(60));
  const auto doc = nlohmann::json::parse(audit.result.out, nullptr, false);
  if (audit.result.exit_code != 0 || doc.is_discarded() ||
      !doc.contains("entries")) {
    return -1;
  }
  int64_t count = 0;
  for (const auto& entry : doc["entries"]) {
    std::string text = entry.dump();
    for (auto& c : text) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (const auto& needle : needles) {
      if (text.find(needle) != std::string::npos) {
        ++count;
        break;
      }
    }
  }
  return count;
}

int64_t AuditedEventually(TestNode& node,
                          const std::vector<std::string>& needles,
                          int64_t baseline, std::chrono::seconds wait) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    const int64_t count = CountAuditEntries(node, needles);
    if (count > baseline) return count - baseline;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  node.Stop();
  std::string why;
  if (!node.Start(&why)) {
    ADD_FAILURE() << "restart to flush summaries: " << why;
    return -1;
  }
  return CountAuditEntries(node, needles) - baseline;
}

}  // namespace caravan::hostile
