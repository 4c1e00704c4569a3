#include "tools/sibling_binary.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace caravan::tools {
namespace {

std::filesystem::path FindBinary(const std::string& name) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate :
         {self.parent_path() / name,
          self.parent_path().parent_path() / "daemon" / name,
          self.parent_path().parent_path() / "sbin" / name}) {
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return name;  // posix_spawnp searches PATH
}

}  // namespace

Status RunSiblingBinary(const std::string& name,
                        const std::vector<std::string>& args) {
  const std::string path = FindBinary(name).string();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, path.c_str(), nullptr, nullptr, argv.data(),
                        environ);
  if (rc != 0) {
    return Unavailable("cannot run " + name + ": " + std::strerror(rc));
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return Status::Ok();
  const int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  if (code == 4 || code == 78) {
    return InvalidInput(name + " refused it (exit " + std::to_string(code) +
                        ")");
  }
  return Internal(name + " failed (exit " + std::to_string(code) + ")");
}

}  // namespace caravan::tools
