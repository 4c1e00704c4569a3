#pragma once
// Runs another caravan program (caravand) installed beside this one, for
// work only the daemon's code can do (`caravan init` creating the database,
// `caravan policy check` without a running daemon).

#include <string>
#include <vector>

#include "protocol/status.h"

namespace caravan::tools {

// Finds `name` in the directory of the running executable, then in the
// build tree layout (../daemon/), then in PATH; runs it with `args`,
// inheriting stdout and stderr, and waits. Ok when it exits 0; otherwise a
// Status whose code follows the child's exit code (4 -> invalid input).
Status RunSiblingBinary(const std::string& name,
                        const std::vector<std::string>& args);

}  // namespace caravan::tools
