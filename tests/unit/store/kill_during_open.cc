#include "tests/unit/store/kill_during_open.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "daemon/store/schema.h"
#include "tests/unit/store/signed_rows_util.h"

namespace caravan::store::testing {

int KillDuringOpen(const TempDir& dir, const std::string& original, int rounds,
                   uint64_t seed, int64_t from_version,
                   const std::function<void(const std::string&)>& after_kill) {
  // How long one open (with its migration) takes here: a copy, not killed.
  const std::string timed = dir.File("timed.db");
  std::filesystem::copy_file(original, timed);
  const auto t0 = std::chrono::steady_clock::now();
  { OpenOrDie(timed); }
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  std::mt19937_64 rng(seed);
  int killed_before = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string path = dir.File("kill" + std::to_string(round) + ".db");
    std::filesystem::copy_file(original, path);
    pid_t child = fork();
    if (child < 0) {
      ADD_FAILURE() << "fork failed";
      return killed_before;
    }
    if (child == 0) {
      auto opened = Store::Open(path);
      _exit(opened.ok() ? 0 : 2);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(
        std::uniform_int_distribution<int64_t>(0, took)(rng)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    const int64_t version =
        Count(path, "SELECT coalesce(max(version), 0) FROM schema_version");
    EXPECT_TRUE(version == from_version || version == internal::kSchemaVersion)
        << "round " << round << ": version " << version;
    if (version == from_version) ++killed_before;
    after_kill(path);
  }
  return killed_before;
}

}  // namespace caravan::store::testing
