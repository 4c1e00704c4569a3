#pragma once
// kill -9 of a process opening (and so migrating) a store, at random
// moments of the open: for the migration tests, which then check that the
// store is either untouched or migrated, never in between.

#include <cstdint>
#include <functional>
#include <string>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store::testing {

// Times one open of a copy of `original`, then `rounds` times: copies
// `original` to killN.db in `dir`, opens it in a child process, kills the
// child with SIGKILL after a random delay within that time (seeded by
// `seed`) and calls `after_kill` with the copy's path. Returns how many
// rounds left the store at `from_version` (killed before the commit; a
// kill before the open began counts too).
int KillDuringOpen(const TempDir& dir, const std::string& original, int rounds,
                   uint64_t seed, int64_t from_version,
                   const std::function<void(const std::string&)>& after_kill);

}  // namespace caravan::store::testing
