#pragma once
// The hub's prekey book across restarts (docs/federation.md, "Prekeys").
//
// A hub passes every member's signed prekey statement to every other
// member, so senders can seal to a member that is offline. It keeps them
// in the store (table hub_prekey_book), so a restarted hub serves an
// offline member's prekey before that member reconnects. What it reads
// back is not trusted blindly: a row is served only if its bytes decode,
// name the owner, id and expiry the row says, are signed by a member the
// roster knows (under its current key), and have not expired. Anything
// else is refused, with a reason, and deleted by the caller; the owner's
// next older valid statement (at most kHubPrekeysPerOwner are kept) is
// served instead, or none until the owner reconnects.
//
// LoadPrekeyBook and PrekeyBookRow are pure; Restore, Keep and Prune do
// blocking store I/O (call them on the worker pool, or before the
// io_context runs). Thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/store/hub_types.h"
#include "daemon/store/store.h"
#include "daemon/sync/inbound.h"
#include "daemon/sync/prekey_statement.h"

namespace caravan::daemon::sync {

struct LoadedPrekeyBook {
  // The newest statement per owner that passed every check.
  std::map<protocol::PublicKey, PrekeyStatement> book;
  struct Refused {
    protocol::PublicKey owner{};
    uint64_t prekey_id = 0;
    std::string why;  // names what was wrong; never key material
  };
  // Rows never to be served (the caller deletes them and logs why).
  std::vector<Refused> refused;
};

// Checks every stored row at `now` against `roster` (see above).
LoadedPrekeyBook LoadPrekeyBook(const std::vector<store::HubPrekeyRow>& rows,
                                const RosterIndex& roster, int64_t now);

// The row a hub stores for a statement it accepted (stored_at is set by
// the store).
store::HubPrekeyRow PrekeyBookRow(const PrekeyStatement& s);

// A hub starting: reads the stored book, prunes expired and malformed
// rows, and returns what LoadPrekeyBook serves. Each refused row is
// deleted, logged and audited (`hub_prekey_refused`, subject the owner's
// roster name or key, detail the prekey id and why); malformed rows are
// audited once, as a count. Fails only when the store does.
Result<std::map<protocol::PublicKey, PrekeyStatement>> RestoreHubPrekeyBook(
    store::Store& store, const RosterIndex& roster, int64_t now);

// Keeps a statement the hub accepted (store::WriteTxn::HubPrekeyPut).
Status KeepHubPrekey(store::Store& store, const PrekeyStatement& s);

// Deletes the stored statements expired at `now`; returns how many.
Result<uint64_t> PruneHubPrekeys(store::Store& store, int64_t now);

}  // namespace caravan::daemon::sync
