#include "daemon/node/control_dispatcher.h"

#include <capnp/dynamic.h>
#include <capnp/serialize.h>

#include <chrono>

#include "daemon/observe/log.h"
#include "daemon/control/control_response.h"
#include "daemon/node/control_wire.h"
#include "daemon/node/node.h"
#include "daemon/sync/offload.h"
#include "protocol/control_framing.h"

namespace caravan::daemon {

SubmissionInput SubmissionFromWire(protocol::wire::Submission::Reader s) {
  SubmissionInput in;
  in.type = Str(s.getType());
  in.value = Str(s.getValue());
  in.tlp = Str(s.getTlp());
  in.confidence = s.getConfidence();
  for (auto tag : s.getTags()) in.tags.push_back(Str(tag));
  in.description = Str(s.getDescription());
  in.valid_until = s.getValidUntil();
  in.first_seen = s.getFirstSeen();
  in.last_seen = s.getLastSeen();
  in.reshare = Str(s.getReshare());
  in.line = s.getLine();
  return in;
}

boost::asio::awaitable<std::vector<uint8_t>> ControlDispatcher::Handle(
    std::vector<capnp::word> request, ControlCall call) {
  // The request moves into a shared_ptr in its own statement: g++ 12
  // destroys a coroutine parameter twice when it is moved straight into a
  // lambda capture inside a co_await expression.
  auto shared = std::make_shared<std::vector<capnp::word>>(std::move(request));
  auto work = [this, shared, call]() { return HandleNow(*shared, call); };
  std::optional<std::vector<uint8_t>> reply =
      co_await Offload(node_.pool(), std::move(work));
  co_return std::move(*reply);
}

std::vector<uint8_t> ControlDispatcher::HandleNow(
    const std::vector<capnp::word>& words, const ControlCall& call) {
  const std::string actor = "uid:" + std::to_string(call.peer.uid);
  const auto started = std::chrono::steady_clock::now();
  // The request kind is the union field's schema name ("submit",
  // "auditVerify"): bounded by the schema, and new kinds need no table here.
  std::string kind = "malformed";
  auto observe = [&] {
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - started;
    node_.metrics().control_request_seconds.With({kind}).Observe(took.count());
  };
  try {
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(words.data(), words.size()),
        protocol::ControlReaderOptions(node_.config().control.max_frame_bytes));
    auto request = reader.getRoot<Request>();
    KJ_IF_MAYBE(field, capnp::toDynamic(request).which()) {
      kind = field->getProto().getName().cStr();
    } else {
      kind = "unknown";
    }
    if (auto skip = Abandoned(request, call, kind)) {
      observe();
      return std::move(*skip);
    }
    auto reply = Dispatch(request, actor);
    observe();
    return reply;
  } catch (const kj::Exception& e) {
    observe();
    // Cap'n Proto throws on malformed messages (bad pointers, limits): that
    // is bad input from the client, not a daemon failure.
    return ErrorResponse(InvalidInput(
        std::string("malformed control request: ") +
        e.getDescription().cStr()));
  }
}

std::optional<std::vector<uint8_t>> ControlDispatcher::Abandoned(
    Request::Reader request, const ControlCall& call, const std::string& kind) {
  // The request may have waited behind others in the pool's queue: a client
  // that gave up must not find its submit run minutes later.
  if (call.client_gone->load()) {
    node_.metrics().control_requests_abandoned.With({"client_gone"}).Inc();
    LogNotice("control: ", kind, " request not run: its client hung up");
    return std::vector<uint8_t>();
  }
  const int64_t deadline_ms = request.getDeadlineUnixMs();
  if (deadline_ms <= 0) return std::nullopt;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  if (now_ms < deadline_ms) return std::nullopt;
  node_.metrics().control_requests_abandoned.With({"deadline"}).Inc();
  LogNotice("control: ", kind, " request not run: its deadline passed ",
            now_ms - deadline_ms, " ms before it could start");
  return ErrorResponse(RetryLater(
      "request not run: its deadline passed " +
      std::to_string(now_ms - deadline_ms) +
      " ms before caravand could start it (the daemon is busy)"));
}


std::vector<uint8_t> ControlDispatcher::Reply(const Result<std::string>& json) {
  if (!json.ok()) return ErrorResponse(json.status());
  return JsonResponse(*json, node_.config().control.max_frame_bytes);
}

std::vector<uint8_t> ControlDispatcher::Dispatch(Request::Reader r,
                                                 const std::string& actor) {
  switch (r.which()) {
    case Request::STATUS:
      return Reply(NodeStatus());
    case Request::SUBMIT:
      return Submit(r.getSubmit(), actor);
    case Request::QUERY:
      return Reply(Query(r.getQuery(), /*for_export=*/false));
    case Request::SHOW:
      return Reply(Show(Str(r.getShow())));
    case Request::REVOKE:
      return Reply(Revoke(r.getRevoke(), actor));
    case Request::SIGHT:
      return Reply(Sight(r.getSight(), actor));
    case Request::AUDIT:
      return Reply(Audit(r.getAudit()));
    case Request::AUDIT_VERIFY:
      return Reply(AuditVerify());
    case Request::EXPORT:
      return Reply(Query(r.getExport(), /*for_export=*/true));
    case Request::POLICY_RELOAD:
      return Reply(PolicyReload(actor));
    case Request::POLICY_EXPLAIN:
      return Reply(PolicyExplain(r.getPolicyExplain()));
    case Request::PEERS_LIST:
      return Reply(PeersList());
    case Request::PEERS_ADD:
      return Reply(PeersAdd(r.getPeersAdd(), actor));
    case Request::PEERS_REMOVE:
      return Reply(PeersRemove(Str(r.getPeersRemove()), actor));
    case Request::QUARANTINE_LIST:
      return Reply(QuarantineList());
    case Request::QUARANTINE_DECIDE:
      return Reply(QuarantineDecide(r.getQuarantineDecide(), actor));
    case Request::KEY_SHOW:
      return Reply(KeyShow());
    case Request::REPORT:
      return Reply(Report(r.getReport()));
    case Request::PEERS_DEPART:
      return Reply(PeersDepart(Str(r.getPeersDepart().getName()),
                               r.getPeersDepart().getPurge(), actor));
    case Request::PEERS_COMPROMISED:
      return Reply(PeersCompromised(r.getPeersCompromised(), actor));
    case Request::KEY_COMPROMISED:
      return Reply(KeyCompromised(r.getKeyCompromised().getSince(),
                                  Str(r.getKeyCompromised().getKey()), actor));
    case Request::KEY_ROTATE:
      if (!r.getKeyRotate().getLink()) return Reply(node_.RotateIdentityKey(actor));
      return Reply(node_.RotateLinkKey(actor, /*scheduled=*/false));
  }
  // A newer CLI may send a request this daemon does not know.
  return ErrorResponse(
      InvalidInput("unknown control request (is caravand older than the "
                   "caravan CLI?)"));
}

}  // namespace caravan::daemon
