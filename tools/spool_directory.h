#pragma once
// Where `caravan export --format misp` keeps its per-origin spool files:
// the feed directory given with --output (created if needed), or a fresh
// private directory under $TMPDIR (default /tmp) removed with the object.

#include <filesystem>
#include <string>

#include "protocol/status.h"

namespace caravan::tools {

class SpoolDirectory {
 public:
  SpoolDirectory(std::filesystem::path path, bool temporary)
      : path_(std::move(path)), temporary_(temporary) {}
  ~SpoolDirectory();
  SpoolDirectory(SpoolDirectory&& other) noexcept
      : path_(std::move(other.path_)), temporary_(other.temporary_) {
    other.temporary_ = false;
  }
  SpoolDirectory(const SpoolDirectory&) = delete;
  SpoolDirectory& operator=(const SpoolDirectory&) = delete;
  SpoolDirectory& operator=(SpoolDirectory&&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool temporary_;
};

// `output` (a feed directory) when set, else a temporary directory.
// Fails (Unavailable) naming the directory that cannot be made.
Result<SpoolDirectory> MispSpoolDirectory(const std::string& output);

}  // namespace caravan::tools
