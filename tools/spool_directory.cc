#include "tools/spool_directory.h"

#include <stdlib.h>

#include <cstdlib>

namespace caravan::tools {

SpoolDirectory::~SpoolDirectory() {
  if (!temporary_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Result<SpoolDirectory> MispSpoolDirectory(const std::string& output) {
  if (!output.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(output, ec);
    if (ec) return Unavailable("cannot create " + output + ": " + ec.message());
    return SpoolDirectory(output, false);
  }
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                     "/caravan-export-XXXXXX";
  if (mkdtemp(path.data()) == nullptr) {
    return Unavailable("cannot create a temporary directory like " + path);
  }
  return SpoolDirectory(path, true);
}

}  // namespace caravan::tools
