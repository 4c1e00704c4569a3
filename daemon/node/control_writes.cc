// Change requests: submit, revoke, sight, quarantine decisions, roster.
#include <capnp/message.h>

#include <ctime>
#include <map>

#include "crypto/key_text.h"
#include "daemon/control/control_response.h"
#include "daemon/node/control_dispatcher.h"
#include "daemon/node/control_wire.h"
#include "daemon/node/hub_delay_json.h"
#include "daemon/node/id_lookup.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "daemon/node/peer_health_json.h"
#include "protocol/control_framing.h"
#include "protocol/id_prefix.h"
#include "protocol/indicator_parse.h"
#include "protocol/record_codec.h"
#include "protocol/config/roster_file.h"

namespace caravan::daemon {
namespace {

// `peers list`: when the member's identity key last rotated (null: never).
nlohmann::json KeyRotatedAt(const sync::KeyChains& chains, const protocol::PublicKey& key) {
  const crypto::RotationStatement* s = chains.IntroducedBy(key);
  return s == nullptr ? nlohmann::json(nullptr) : TimeOrNull(s->rotated_at);
}

// The id a revocation names: its id (or a unique prefix), or with
// `revoke --value TYPE VALUE` this node's own indicator of that value (only
// the origin revokes, so the id is computable without a search).
Result<protocol::IndicatorId> RevokeTarget(Node& node,
                                           protocol::wire::Revoke::Reader r) {
  const std::string value = Str(r.getValue());
  if (value.empty()) {
    return node.WithReader([&](store::Reader& reader) {
      return ResolveId(reader, Str(r.getId()));
    });
  }
  const std::string type_text = Str(r.getType());
  auto type = protocol::ParseTypeName(type_text);
  if (!type) return InvalidInput("unknown type '" + type_text + "'");
  auto normalized = protocol::NormalizeValue(*type, value);
  if (!normalized.ok()) return normalized.status();
  // Made under our current key or one we rotated away from.
  for (const auto& key : node.own_keys()) {
    const auto id = protocol::ComputeIndicatorId(key, *type, *normalized);
    auto held = node.WithReader([&](store::Reader& reader) {
      return reader.Get(id);
    });
    if (!held.ok()) return held.status();
    if (held->has_value()) return id;
  }
  return NotFound("this node made no " + type_text + " indicator '" +
                  *normalized + "' (only its origin revokes one)");
}

// The quarantined indicators a decision names: its ids (each an id or a
// unique prefix), or every one held from one peer.
Result<std::vector<protocol::IndicatorId>> DecisionTargets(
    Node& node, protocol::wire::QuarantineDecision::Reader d) {
  return node.WithReader(
      [&](store::Reader& reader) -> Result<std::vector<protocol::IndicatorId>> {
        std::vector<protocol::IndicatorId> ids;
        const std::string from = Str(d.getAllFrom());
        if (!from.empty()) {
          // Page through the quarantine (the quarantined index), keeping
          // that peer's; one decision takes at most kMaxQueryLimit.
          store::QueryFilter f;
          f.quarantine = store::QuarantineFilter::kOnly;
          f.include_revoked = true;
          f.limit = 1000;
          do {
            auto page = reader.Query(f);
            if (!page.ok()) return page.status();
            for (const auto& row : page->rows) {
              if (row.received_from == from &&
                  ids.size() < store::kMaxQueryLimit) {
                ids.push_back(row.id);
              }
            }
            f.after = page->next_after;
          } while (f.after != 0 && ids.size() < store::kMaxQueryLimit);
          if (ids.empty()) {
            return NotFound("nothing from '" + from + "' is in quarantine");
          }
          return ids;
        }
        std::vector<std::string> texts;
        if (d.getId().size() > 0) texts.push_back(Str(d.getId()));
        for (auto t : d.getIds()) texts.push_back(Str(t));
        if (texts.empty()) return InvalidInput("no indicator id given");
        if (texts.size() > store::kMaxQueryLimit) {
          return InvalidInput("at most " +
                              std::to_string(store::kMaxQueryLimit) +
                              " ids per decision");
        }
        for (const auto& text : texts) {
          auto id = ResolveId(reader, text);
          if (!id.ok()) return id.status();
          ids.push_back(*id);
        }
        return ids;
      });
}

}  // namespace

std::vector<uint8_t> ControlDispatcher::Submit(
    protocol::wire::Submit::Reader s, const std::string& actor) {
  auto items = s.getItems();
  if (items.size() > kMaxSubmitBatch) {
    return ErrorResponse(InvalidInput(
        "submit batch of " + std::to_string(items.size()) +
        " items exceeds the limit of " + std::to_string(kMaxSubmitBatch)));
  }
  std::vector<SubmissionInput> inputs;
  inputs.reserve(items.size());
  for (auto item : items) inputs.push_back(SubmissionFromWire(item));
  for (auto& in : inputs) {
    in.force = s.getForce();
    in.replace = s.getReplace();
  }
  const auto outcomes = node_.submitter().Submit(inputs, actor);
  node_.NotifyCommitted();
  // A record forced now may have been withheld as flagged before.
  if (s.getForce()) node_.RerunWithheld();

  capnp::MallocMessageBuilder message;
  auto response = message.initRoot<protocol::wire::Response>();
  response.setCode(0);
  auto results = response.initSubmitResult().initResults(
      static_cast<unsigned>(outcomes.size()));
  for (unsigned i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    results[i].setLine(o.line);
    if (!o.error.ok()) {
      const std::string text = o.error.message();
      results[i].setError(capnp::Text::Reader(text.c_str(), text.size()));
      results[i].setErrorCode(static_cast<uint8_t>(o.error.code()));
      continue;
    }
    auto stored = results[i].initStored();
    const std::string id = protocol::IdToHex(o.id);
    stored.setId(capnp::Text::Reader(id.c_str(), id.size()));
    stored.setRevision(o.revision);
    stored.setUnchanged(o.unchanged);
    auto changes = stored.initChanges(static_cast<unsigned>(o.changes.size()));
    for (unsigned k = 0; k < o.changes.size(); ++k) {
      changes.set(k, capnp::Text::Reader(o.changes[k].c_str(),
                                         o.changes[k].size()));
    }
    if (o.warninglist) {
      const auto& wl = *o.warninglist;
      stored.setWarninglist(capnp::Text::Reader(wl.list.c_str(), wl.list.size()));
      stored.setWarninglistEntry(
          capnp::Text::Reader(wl.entry.c_str(), wl.entry.size()));
      stored.setForced(o.forced);
    }
  }
  // One reply line per item: at most kMaxSubmitBatch items whose ids and
  // messages are bounded, yet a reply over the frame limit must be an
  // error, never an abort.
  auto framed = protocol::FrameMessageWithin(
      message, node_.config().control.max_frame_bytes);
  if (!framed.ok()) return ErrorResponse(framed.status());
  return std::move(*framed);
}

Result<std::string> ControlDispatcher::Revoke(protocol::wire::Revoke::Reader r,
                                              const std::string& actor) {
  auto id = RevokeTarget(node_, r);
  if (!id.ok()) return id.status();
  auto outcome = node_.submitter().Revoke(*id, Str(r.getReason()), actor);
  if (!outcome.ok()) return outcome.status();
  node_.NotifyCommitted();
  return DumpJson({{"id", protocol::IdToHex(outcome->id)},
                   {"revision", outcome->revision}});
}

Result<std::string> ControlDispatcher::Sight(protocol::wire::Sight::Reader s,
                                             const std::string& actor) {
  const std::string target = Str(s.getTarget());
  const std::string note = Str(s.getNote());
  if (note.size() > store::kMaxNoteBytes) {
    return InvalidInput("sighting note longer than " +
                        std::to_string(store::kMaxNoteBytes) + " bytes");
  }
  // The target is an id, or a value held from one or more origins.
  std::vector<protocol::IndicatorId> ids;
  // Hex digits are an id or a prefix of one; a prefix nothing starts with
  // may still be a value (an md5 is hex too).
  auto by_id = protocol::LooksLikeIdPrefix(target)
                   ? node_.WithReader([&](store::Reader& reader) {
                       return ResolveId(reader, target);
                     })
                   : Result<protocol::IndicatorId>(NotFound(""));
  if (by_id.ok()) {
    ids.push_back(*by_id);
  } else if (by_id.status().code() != StatusCode::kNotFound) {
    return by_id.status();
  } else {
    auto parsed = protocol::DetectAndNormalize(target);
    if (!parsed.ok()) {
      return InvalidInput("'" + target + "' is neither an indicator id nor "
                          "a value: " + parsed.status().message());
    }
    auto found = node_.WithReader(
        [&](store::Reader& reader) -> Result<store::QueryPage> {
          store::QueryFilter f;
          f.value = parsed->value;
          f.type = parsed->type;
          f.include_revoked = true;
          f.limit = 100;
          return reader.Query(f);
        });
    if (!found.ok()) return found.status();
    for (const auto& row : found->rows) ids.push_back(row.id);
  }
  if (ids.empty()) return NotFound("no indicator matches '" + target + "'");
  Status written = node_.store().Write([&](store::WriteTxn& txn) -> Status {
    for (const auto& id : ids) {
      auto current = txn.Current(id);
      if (!current.ok()) return current.status();
      if (!current->has_value()) {
        return NotFound("no indicator " + protocol::IdToHex(id));
      }
      CARAVAN_RETURN_IF_ERROR(txn.AddSighting({id, txn.now(), note, actor}));
      auto audited = txn.AppendAudit(
          {txn.now(), actor, "sight", protocol::IdToHex(id), "",
           DumpJson({{"note", note}})});
      if (!audited.ok()) return audited.status();
    }
    return Status::Ok();
  }).get();
  if (!written.ok()) return written;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& id : ids) list.push_back(protocol::IdToHex(id));
  return DumpJson({{"id", list.size() == 1 ? list[0] : list},
                   {"ids", list}});
}

Result<std::string> ControlDispatcher::QuarantineDecide(
    protocol::wire::QuarantineDecision::Reader d, const std::string& actor) {
  auto ids = DecisionTargets(node_, d);
  if (!ids.ok()) return ids.status();
  const bool approve = d.getApprove();
  // All or nothing: one id not in quarantine decides none of them.
  Status written = node_.store().Write([&](store::WriteTxn& txn) -> Status {
    for (const auto& id : *ids) {
      const std::string id_hex = protocol::IdToHex(id);
      auto current = txn.Current(id);
      if (!current.ok()) return current.status();
      if (!current->has_value() || !(*current)->quarantined) {
        return NotFound("no quarantined indicator " + id_hex);
      }
      if (approve) {
        CARAVAN_RETURN_IF_ERROR(txn.SetQuarantined(id, false));
      } else {
        auto deleted = txn.DeleteIndicator(id);
        if (!deleted.ok()) return deleted.status();
      }
      auto audited = txn.AppendAudit(
          {txn.now(), actor,
           approve ? "quarantine-approve" : "quarantine-reject", id_hex, "",
           "{}"});
      if (!audited.ok()) return audited.status();
    }
    return Status::Ok();
  }).get();
  if (!written.ok()) return written;
  nlohmann::json decided = nlohmann::json::array();
  for (const auto& id : *ids) decided.push_back(protocol::IdToHex(id));
  return DumpJson({{"id", decided.size() == 1 ? decided[0] : decided},
                   {"ids", std::move(decided)},
                   {"approved", approve}});
}

Result<std::string> ControlDispatcher::PeersList() {
  return node_.WithReader([&](store::Reader& reader) -> Result<std::string> {
    auto peers = PeersJson(reader);
    if (!peers.ok()) return peers.status();
    return DumpJson({{"peers", std::move(*peers)}});
  });
}

Result<nlohmann::json> ControlDispatcher::PeersJson(store::Reader& reader) {
  auto roster = protocol::LoadRosterFile(node_.config().peers.roster);
  if (!roster.ok() && roster.status().code() != StatusCode::kNotFound) {
    return roster.status();
  }
  std::vector<protocol::RosterMember> members;
  // Identity key rotations held move members to their current keys.
  const auto rotations = node_.roster();
  if (roster.ok()) members = rotations->chains().Apply(std::move(*roster));
  const auto links = node_.LinkStates();
  const bool hub = node_.config().hub.enabled;
  auto last_log_seq = reader.LastLogSeq();
  if (!last_log_seq.ok()) return last_log_seq.status();
  // A hub shows what it holds for each member (one index-only query).
  std::map<protocol::PublicKey, store::HubDepth> depth;
  if (hub) {
    auto depths = reader.HubQueueDepths();
    if (!depths.ok()) return depths.status();
    for (const auto& d : *depths) depth[d.recipient_key] = d;
  }
  // Hub accountability (docs/federation.md): per member reached via a hub,
  // our sealed batches the hub holds vs those the member receipted, and
  // the faults we saw in its chain to us.
  auto outbox = reader.SealedOutboxCounts();
  if (!outbox.ok()) return outbox.status();
  auto chains_in = reader.SealedChainsIn();
  if (!chains_in.ok()) return chains_in.status();
  nlohmann::json peers = nlohmann::json::array();
  const auto link_health = node_.LinkHealthByPeer();
  const auto prekey_views = node_.PrekeyViews();
  const auto delays = node_.HubDelayViews();
  for (const auto& m : members) {
    auto state = reader.GetPeerState(m.name);
    if (!state.ok()) return state.status();
    nlohmann::json queued_at_hub = nullptr, awaiting_receipt = nullptr;
    nlohmann::json hub_faults = nullptr;
    if (!m.via.empty()) {
      queued_at_hub = 0;
      awaiting_receipt = 0;
      for (const auto& c : *outbox) {
        if (c.recipient_key != m.key) continue;
        queued_at_hub = c.queued_at_hub;
        awaiting_receipt = c.awaiting_receipt;
      }
      hub_faults = {{"gaps", 0}, {"duplicates", 0}, {"refused", 0},
                    {"broken", 0}, {"last_fault", nullptr}};
      for (const auto& c : *chains_in) {
        if (c.sender_key != m.key) continue;
        hub_faults = {{"gaps", c.gaps},
                      {"duplicates", c.duplicates},
                      {"refused", c.refused},
                      {"broken", c.broken},
                      {"last_fault", c.last_fault_at == 0
                                         ? nlohmann::json(nullptr)
                                         : TimeOrNull(c.last_fault_at)}};
      }
    }
    // Forward secrecy: the member's prekey we seal to, and whether our
    // batches wait for one (never sealed to its identity key).
    nlohmann::json prekey = nullptr, awaiting_prekey = nullptr;
    if (!m.via.empty()) awaiting_prekey = false;
    if (auto it = prekey_views.find(m.key); it != prekey_views.end()) {
      if (it->second.id != 0) {
        prekey = {{"id", it->second.id},
                  {"valid_until", TimeOrNull(it->second.not_after)}};
      }
      if (!m.via.empty()) awaiting_prekey = it->second.awaiting;
    }
    // Hub accountability: how long the member's sealed envelopes took
    // through its hub lately (docs/federation.md "Delay"); null when none
    // came in the recent window (or the member is not reached via a hub).
    nlohmann::json hub_delay = nullptr;
    if (!m.via.empty()) {
      if (auto it = delays.find({m.via, m.name}); it != delays.end()) {
        hub_delay = HubDelayJson(it->second);
      }
    }
    nlohmann::json queued_envelopes = nullptr, queued_bytes = nullptr;
    if (hub) {
      auto it = depth.find(m.key);
      queued_envelopes = it == depth.end() ? 0 : it->second.envelopes;
      queued_bytes = it == depth.end() ? 0 : it->second.bytes;
    }
    peers.push_back(
        {{"name", m.name},
         {"country", m.country},
         {"key", protocol::PublicKeyToText(m.key)},
         {"fingerprint", crypto::Fingerprint(m.key)},
         {"key_rotated_at", KeyRotatedAt(rotations->chains(), m.key)},
         {"endpoint", m.endpoint ? nlohmann::json(m.endpoint->ToString())
                                 : nlohmann::json(nullptr)},
         {"via", m.via.empty() ? nlohmann::json(nullptr)
                               : nlohmann::json(m.via)},
         {"hub_queued_envelopes", queued_envelopes},
         {"hub_queued_bytes", queued_bytes},
         {"queued_at_hub", queued_at_hub},
         {"awaiting_receipt", awaiting_receipt},
         {"awaiting_prekey", awaiting_prekey},
         {"prekey", prekey},
         {"delivered_seq", m.via.empty() ? nlohmann::json(nullptr)
                                         : nlohmann::json(state->acked_seq)},
         {"hub_faults", hub_faults},
         {"hub_delay", hub_delay},
         {"link", links.count(m.name) ? links.at(m.name) : "down"},
         {"last_contact", TimeOrNull(state->last_contact)},
         {"backlog", *last_log_seq > state->acked_seq
                         ? *last_log_seq - state->acked_seq
                         : 0},
         {"acked_seq", state->acked_seq},
         {"bytes_sent", state->bytes_sent},
         {"bytes_received", state->bytes_received}});
    CARAVAN_RETURN_IF_ERROR(AddPeerHealthJson(reader, link_health, peers.back()));
  }
  return peers;
}

Result<std::string> ControlDispatcher::PeersAdd(
    protocol::wire::PeerAdd::Reader p, const std::string& actor) {
  protocol::RosterMember member;
  member.name = Str(p.getName());
  member.country = Str(p.getCountry());
  if (std::string e = protocol::NameError(member.name); !e.empty()) {
    return InvalidInput("peer name: " + e);
  }
  if (!protocol::IsCountryCode(member.country)) {
    return InvalidInput("--country must be an ISO 3166-1 alpha-2 code in "
                        "capitals (got '" + member.country + "')");
  }
  auto key = protocol::ParsePublicKeyText(Str(p.getKey()));
  if (!key.ok()) return InvalidInput("--key: " + key.status().message());
  member.key = *key;
  if (p.getEndpoint().size() > 0) {
    auto endpoint = protocol::ParseHostPort(Str(p.getEndpoint()));
    if (!endpoint.ok()) {
      return InvalidInput("--endpoint: " + endpoint.status().message());
    }
    member.endpoint = *endpoint;
  }
  member.via = Str(p.getVia());
  const auto& path = node_.config().peers.roster;
  auto roster = protocol::LoadRosterFile(path);
  if (!roster.ok() && roster.status().code() != StatusCode::kNotFound) {
    return roster.status();
  }
  std::vector<protocol::RosterMember> members;
  if (roster.ok()) members = std::move(*roster);
  // The loader's own rules, so the file written next always loads again.
  CARAVAN_RETURN_IF_ERROR(protocol::CheckNewMember(
      members, member, node_.identity().public_key()));
  if (node_.IsOwnKey(member.key)) {
    return InvalidInput("key " + protocol::PublicKeyToText(member.key) +
                        " is an identity key this node rotated away from, not a peer's");
  }
  CARAVAN_RETURN_IF_ERROR(CheckNotCompromised(member.key));
  members.push_back(member);
  CARAVAN_RETURN_IF_ERROR(protocol::WriteRosterFile(path, members));
  Status audited = node_.store().Write([&](store::WriteTxn& txn) -> Status {
    // Added again: its records are a member's again (member_departure.cc).
    CARAVAN_RETURN_IF_ERROR(txn.ForgetDeparted(member.key));
    auto r = txn.AppendAudit(
        {txn.now(), actor, "peer-add", member.name, member.name,
         DumpJson({{"country", member.country},
                   {"key", protocol::PublicKeyToText(member.key)},
                   {"endpoint", member.endpoint
                                    ? nlohmann::json(member.endpoint->ToString())
                                    : nlohmann::json(nullptr)},
                   {"via", member.via.empty() ? nlohmann::json(nullptr)
                                              : nlohmann::json(member.via)}})});
    return r.ok() ? Status::Ok() : r.status();
  }).get();
  if (!audited.ok()) return audited;
  CARAVAN_RETURN_IF_ERROR(node_.ReloadRoster());
  return DumpJson({{"name", member.name},
                   {"country", member.country},
                   {"fingerprint", crypto::Fingerprint(member.key)},
                   {"via", member.via.empty() ? nlohmann::json(nullptr)
                                              : nlohmann::json(member.via)}});
}

Result<std::string> ControlDispatcher::PeersRemove(const std::string& name,
                                                   const std::string& actor) {
  // An older CLI's request: keep the records (member_departure.cc).
  return PeersDepart(name, /*purge=*/false, actor);
}

}  // namespace caravan::daemon
