#include "daemon/link/link_manager.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <set>

#include "daemon/link/backoff.h"
#include "daemon/link/handshake.h"
#include "daemon/link/handshake_slots.h"
#include "daemon/link/refusal_episodes.h"
#include "daemon/link/roster_refusal.h"
#include "daemon/net/failure_tally.h"
#include "daemon/net/listener.h"
#include "daemon/observe/log.h"
#include "protocol/config/roster_file.h"

namespace caravan::daemon::link {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::use_awaitable;

namespace {

using Clock = std::chrono::steady_clock;

// A dialer whose peer accepted the TCP connection but dropped it (or let it
// time out) before the handshake ended retries within this long at most:
// the peer is up but busy (a flood may be taking its handshake slots), and
// it must get its link back seconds after the flood, not after the long
// backoff meant for a peer that is down (the 44 s of issue 14).
constexpr std::chrono::seconds kBusyRetryMax{5};

// Addresses a member resolves to, kept per member for the known-address
// check (a bound on what a hostile DNS answer can make us hold).
constexpr size_t kMaxAddressesPerMember = 8;

// How often due failure summaries are looked for.
constexpr std::chrono::seconds kReportTick{1};

// Roster refusal episodes (refusal_episodes.h): reported at most this
// often while they last; an episode ends when the link comes up or after
// kRefusalIdleEnd (at least twice the longest refused backoff) without a
// refusal.
constexpr std::chrono::seconds kRefusalReportEvery{3600};
constexpr std::chrono::seconds kRefusalIdleEnd{900};
// Open episodes tracked per side (the rest folded into one).
constexpr size_t kMaxRefusalEpisodes = 256;
// How long a refusing responder waits for the refused initiator to close
// (reading and dropping what it sends) before closing itself.
constexpr std::chrono::milliseconds kRefusalLinger{2000};

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The address part of `address` as a key: IPv4-mapped IPv6 addresses (a
// dual-stack listener) as plain IPv4, so they match resolved endpoints.
std::string AddressKey(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

std::string AddressKeyOf(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string() : AddressKey(endpoint.address());
}

// The kPreauthReasons name for a failed handshake.
const char* ReasonOf(const HandshakeOutcome& outcome) {
  if (outcome.timed_out) return "timeout";
  switch (outcome.status.code()) {
    case StatusCode::kUnavailable: return "closed";
    case StatusCode::kCorrupt: return "malformed";
    case StatusCode::kDenied: return "unknown_identity";
    default: return "other";
  }
}

void LogFailure(const char* what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    LogError(what, " failed: ", ex.what());
  }
}

std::string EndpointText(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

struct LinkManager::Impl : std::enable_shared_from_this<Impl> {
  struct Member {
    PeerIdentity id;
    std::shared_ptr<Link> link;  // the live link, if any
    // Bumped when the dialer must stop (member removed, endpoint changed,
    // Stop): a dialer only acts while its generation is current.
    uint64_t generation = 0;
    // The dialer sleeps on this (backoff, or waiting for the link to drop).
    std::shared_ptr<asio::steady_timer> wake;
    std::string state = "down";
    Clock::time_point backoff_until{};
    int64_t last_contact = 0;
    uint64_t bytes_sent_before = 0;  // totals of links already closed
    uint64_t bytes_received_before = 0;
    LinkStatus app_before;  // only its app_* counters: closed links' totals
    // Known addresses (HandshakeSlots): what its endpoint resolved to when
    // last dialed, and where its last link came from.
    std::vector<std::string> resolved;
    std::string last_address;
    // Set by RotateLinkKey: the dialer's next attempt skips its backoff
    // (the link was closed on purpose, the peer is up).
    bool redial_now = false;
    // Set by RetryRefused: the refused backoff starts again from
    // backoff_initial and the next attempt skips its wait.
    bool retry_refused = false;
  };

  // What one dial attempt came to.
  struct DialOutcome {
    std::shared_ptr<Link> link;  // the started link, or nullptr
    // Failed after the TCP connection was accepted, for want of an answer
    // (closed or timed out): the peer is up but busy.
    bool busy = false;
    std::string address;  // the address connected to
    // The peer completed the handshake and then refused us (a roster refusal,
    // authenticated under the handshake's keys).
    std::optional<LinkRefusalInfo> refusal;
  };

  Impl(asio::io_context& io_in, const crypto::IdentityKey& identity_in,
       LinkCredential link_key_in, LinkOptions options_in, SessionRunner runner_in,
       std::function<void(const LinkEvent&)> on_event_in)
      : io(io_in),
        identity(identity_in),
        own(std::make_shared<const LinkCredential>(std::move(link_key_in))),
        options(std::move(options_in)),
        runner(std::move(runner_in)),
        on_event(std::move(on_event_in)),
        slots(HandshakeSlots::Options{options.max_handshakes,
                                      options.max_handshakes_per_source}),
        failures(net::FailureTally::Options{
            std::chrono::duration_cast<std::chrono::milliseconds>(
                options.failure_report_interval),
            1024, 8}),
        dial_refusals(RefusalOptions(options)),
        listen_refusals(RefusalOptions(options)) {
    for (const char* reason : kPreauthReasons) failures_by_reason[reason] = 0;
  }

  asio::io_context& io;
  const crypto::IdentityKey& identity;
  // This node's link key; replaced by RotateLinkKey (handshakes in
  // progress keep the one they started with).
  std::shared_ptr<const LinkCredential> own;
  const LinkOptions options;
  SessionRunner runner;
  std::function<void(const LinkEvent&)> on_event;

  bool started = false;
  bool running = false;
  uint64_t next_generation = 1;
  // Accepts inbound connections; its live connections are the inbound
  // handshakes in progress (a backstop; HandshakeSlots is the real cap).
  std::unique_ptr<net::Listener<tcp>> listener;
  std::map<protocol::PublicKey, Member> members;
  // Sockets in connect or handshake, so Stop can close them.
  std::set<std::shared_ptr<tcp::socket>> pending;
  // Inbound handshake slots, shared fairly per source address.
  HandshakeSlots slots;
  // Pre-authentication failures per source address, summarised.
  net::FailureTally failures;
  std::map<std::string, uint64_t> failures_by_reason;  // for /metrics
  // Roster refusals (docs/wire.md 4.4): episodes of members refusing us,
  // by member name, and of identities we refused, by source address.
  RefusalEpisodes dial_refusals;
  RefusalEpisodes listen_refusals;
  // For /metrics: refusals by reason, received (as a dialer) and sent.
  std::map<std::string, uint64_t> refusals_received;
  std::map<std::string, uint64_t> refusals_sent;
  // Addresses of roster members (resolved endpoints, last links).
  std::set<std::string> known_addresses;
  std::unique_ptr<asio::steady_timer> report_timer;
  // Highest link certificate serial seen per member identity.
  std::map<protocol::PublicKey, uint64_t> link_serials;
  std::function<void(const std::string&, const protocol::PublicKey&, uint64_t, int64_t)>
      on_serial_raised;
  // Our rotation chain and the roster's chain lookup (SetIdentityChain).
  HandshakeChain chain;

  static RefusalEpisodes::Options RefusalOptions(const LinkOptions& options) {
    RefusalEpisodes::Options o;
    o.report_every = kRefusalReportEvery;
    o.idle_end = std::max<std::chrono::seconds>(kRefusalIdleEnd,
                                                2 * options.refused_backoff_max);
    o.max_episodes = kMaxRefusalEpisodes;
    return o;
  }

  // Ok when `serial` is not below the highest seen for `peer`; kDenied
  // naming both serials otherwise (a retired link key).
  Status CheckLinkSerial(const PeerIdentity& peer, uint64_t serial) const {
    auto it = link_serials.find(peer.key);
    if (it == link_serials.end() || serial >= it->second) return Status::Ok();
    return Denied("retired link key: " + peer.name +
                  " presented a link certificate with serial " + std::to_string(serial) +
                  ", but serial " + std::to_string(it->second) +
                  " has been seen (its link key was rotated)");
  }

  // A handshake with `outcome`'s member completed: remember its serial.
  void RecordLinkSerial(const HandshakeOutcome& outcome) {
    uint64_t& seen = link_serials[outcome.peer.key];
    if (outcome.peer_serial <= seen) return;
    seen = outcome.peer_serial;
    if (on_serial_raised) {
      on_serial_raised(outcome.peer.name, outcome.peer.key, outcome.peer_serial,
                       outcome.peer_not_before);
    }
  }

  // The one place link events are logged (the node audits them; it does
  // not log them again).
  void Emit(LinkEvent::Kind kind, std::string peer_name, std::string endpoint,
            std::string detail) {
    LinkEvent event;
    event.kind = kind;
    event.peer_name = std::move(peer_name);
    event.remote_endpoint = std::move(endpoint);
    event.detail = std::move(detail);
    Emit(std::move(event));
  }

  void Emit(LinkEvent event) {
    if (event.quiet) {  // status only: counted inside a reported episode
      if (on_event) on_event(event);
      return;
    }
    const LinkEvent::Kind kind = event.kind;
    const bool bad = kind == LinkEvent::kHandshakeFailed || kind == LinkEvent::kUnknownPeer ||
                     kind == LinkEvent::kProtocolViolation ||
                     kind == LinkEvent::kHandshakeFailures ||
                     kind == LinkEvent::kRosterRefused || kind == LinkEvent::kRosterRefusals;
    const std::string line = std::string("link ") + std::string(LinkEventKindName(kind)) +
                             ": peer=" + (event.peer_name.empty() ? "?" : event.peer_name) +
                             " remote=" + event.remote_endpoint + " " + event.detail;
    if (bad) {
      LogWarning(line);
    } else {
      LogNotice(line);
    }
    if (on_event) on_event(event);
  }

  // A handshake from or to `source` (an address) failed or was refused
  // before anyone was authenticated. Counted always; logged and emitted
  // (audited) at once only when it opens the source's window, the rest
  // later as one summary per source and interval (ReportDue): an attacker
  // decides how often this runs, never how much the log or the store grows.
  void RecordPreauthFailure(const std::string& source, const char* reason,
                            LinkEvent::Kind kind, std::string peer_name,
                            std::string remote, std::string detail) {
    ++failures_by_reason[reason];
    if (!failures.Record(source.empty() ? "?" : source, reason, Clock::now())) return;
    detail += " (more failures from " + (source.empty() ? std::string("?") : source) +
              " within " + std::to_string(options.failure_report_interval.count()) +
              "s are summarised)";
    Emit(kind, std::move(peer_name), std::move(remote), std::move(detail));
  }

  void EmitSummaries(std::vector<net::FailureTally::Summary> due) {
    for (auto& summary : due) {
      if (summary.count <= 1) continue;  // the one failure was emitted already
      LinkEvent event;
      event.kind = LinkEvent::kHandshakeFailures;
      event.remote_endpoint = summary.source;
      const auto seconds =
          std::chrono::duration_cast<std::chrono::seconds>(summary.last - summary.first);
      event.detail = net::DescribeFailures(summary) + " from " + summary.source + " in " +
                     std::to_string(seconds.count()) + "s before authentication";
      event.failure_count = summary.count;
      event.failure_reasons = std::move(summary.reasons);
      Emit(std::move(event));
    }
  }

  static asio::awaitable<void> ReportLoop(std::weak_ptr<Impl> weak) {
    for (;;) {
      std::shared_ptr<Impl> self = weak.lock();
      if (!self || !self->running || !self->report_timer) co_return;
      asio::steady_timer& timer = *self->report_timer;
      timer.expires_after(kReportTick);
      self.reset();  // the manager may go while we sleep
      auto [ec] = co_await timer.async_wait(asio::as_tuple(use_awaitable));
      if (ec) co_return;
      self = weak.lock();
      if (!self || !self->running) co_return;
      self->EmitSummaries(self->failures.TakeDue(Clock::now()));
      for (auto& report : self->dial_refusals.TakeDue(Clock::now())) {
        self->EmitRefusalReport(std::move(report), /*dialer=*/true, "");
      }
      for (auto& report : self->listen_refusals.TakeDue(Clock::now())) {
        self->EmitRefusalReport(std::move(report), /*dialer=*/false, "");
      }
    }
  }

  // The dialer side: the member `name` refused us (authenticated). The
  // first refusal of an episode is reported (logged, audited) at once; the
  // rest only update what status shows until the episode's report.
  void RecordRefusalReceived(const std::string& name, const std::string& remote,
                             const LinkRefusalInfo& refusal) {
    const std::string reason = refusal.reason.empty() ? "other" : refusal.reason;
    ++refusals_received[reason];
    const bool opened = dial_refusals.Record(name, reason, Clock::now(), UnixNow());
    const auto episode = dial_refusals.Peek(name);
    LinkEvent event;
    event.kind = LinkEvent::kRosterRefused;
    event.peer_name = name;
    event.remote_endpoint = remote;
    event.quiet = !opened;
    event.refusal_reason = reason;
    event.refused_since = episode ? episode->first_unix : UnixNow();
    event.refused_count = episode ? episode->count : 1;
    event.failure_count = event.refused_count;
    // Named as our roster names it: the key we pinned is what answered.
    event.detail = reason == kRefusalNotOnRoster
                       ? "not on " + name + "'s roster (told by " + name + ", authenticated)"
                       : "refused by " + name + " (authenticated): " + reason;
    if (opened) {
      event.detail += "; redialing with backoff up to " +
                      std::to_string(options.refused_backoff_max.count()) +
                      "s; repeats are summarised";
    }
    Emit(std::move(event));
  }

  // The listener side: an authenticated identity not on our roster was
  // refused; the first of an address's episode is reported at once.
  void RecordRefusalSent(const std::string& source, const std::string& remote,
                         const protocol::PublicKey& key) {
    ++refusals_sent[kRefusalNotOnRoster];
    // Kept in the unknown_identity count of the handshake failures too.
    ++failures_by_reason["unknown_identity"];
    const std::string key_text = protocol::PublicKeyToText(key);
    const std::string address = source.empty() ? "?" : source;
    if (!listen_refusals.Record(address, key_text, Clock::now(), UnixNow())) return;
    LinkEvent event;
    // The listener's first of an episode keeps the name operators know.
    event.kind = LinkEvent::kUnknownPeer;
    event.remote_endpoint = remote;
    event.refusal_reason = kRefusalNotOnRoster;
    event.refused_since = UnixNow();
    event.refused_count = 1;
    event.failure_count = 1;
    event.detail = "inbound: identity " + key_text +
                   " is not in the roster; told it so (authenticated) and closed; "
                   "repeats from " + address + " are summarised";
    Emit(std::move(event));
  }

  // A "still refused N times since T" report of an episode (`dialer`: a
  // member refusing us, keyed by name; else an address we refused).
  // `why_ended` names what ended it, if it ended.
  void EmitRefusalReport(RefusalEpisodes::Report report, bool dialer,
                         const std::string& why_ended) {
    LinkEvent event;
    event.kind = LinkEvent::kRosterRefusals;
    if (dialer) {
      event.peer_name = report.key;
    } else {
      event.remote_endpoint = report.key;
    }
    event.refusal_reason = dialer && !report.details.empty() ? report.details.front()
                                                             : kRefusalNotOnRoster;
    event.refused_since = report.first_unix;
    event.refused_count = report.count;
    event.failure_count = report.count;
    event.ended = report.ended;
    std::string detail = dialer ? "by " + report.key + ": " : "inbound from " + report.key + ": ";
    detail += DescribeEpisode(report);
    if (!dialer && !report.details.empty()) {
      detail += " (identities:";
      for (const auto& d : report.details) detail += " " + d;
      detail += ")";
    }
    detail += report.ended ? "; episode over" + (why_ended.empty() ? "" : " (" + why_ended + ")")
                           : "; still refused";
    event.detail = std::move(detail);
    Emit(std::move(event));
  }

  // Ends the refusal episodes a new link from `source` to member `name`
  // answers.
  void EndRefusals(const std::string& name, const std::string& source) {
    if (auto report = dial_refusals.End(name)) {
      EmitRefusalReport(std::move(*report), true, "link up");
    } else if (!name.empty()) {
      LinkEvent cleared;  // status: no refusal any more
      cleared.kind = LinkEvent::kRosterRefusals;
      cleared.peer_name = name;
      cleared.quiet = true;
      cleared.ended = true;
      Emit(std::move(cleared));
    }
    if (!source.empty()) {
      if (auto report = listen_refusals.End(source)) {
        EmitRefusalReport(std::move(*report), false, "link up");
      }
    }
  }

  void RebuildKnown() {
    known_addresses.clear();
    for (const auto& [key, m] : members) {
      for (const auto& a : m.resolved) known_addresses.insert(a);
      if (!m.last_address.empty()) known_addresses.insert(m.last_address);
      if (m.id.endpoint) {
        // A literal address is known before the first dial resolves it.
        boost::system::error_code ec;
        auto literal = asio::ip::make_address(m.id.endpoint->host, ec);
        if (!ec) known_addresses.insert(AddressKey(literal));
      }
    }
  }

  Member* Find(const protocol::PublicKey& key) {
    auto it = members.find(key);
    return it == members.end() ? nullptr : &it->second;
  }

  Member* Find(const protocol::PublicKey& key, uint64_t generation) {
    Member* m = Find(key);
    return m != nullptr && m->generation == generation ? m : nullptr;
  }

  std::optional<PeerIdentity> Lookup(const protocol::PublicKey& key) {
    Member* m = Find(key);
    if (m == nullptr) return std::nullopt;
    return m->id;
  }

  void StartDialer(Member& m) {
    if (!running || !m.id.endpoint) return;
    m.generation = next_generation++;
    if (m.wake) m.wake->cancel();
    m.wake = std::make_shared<asio::steady_timer>(io);
    asio::co_spawn(io, DialLoop(shared_from_this(), m.id.key, m.generation),
                   [](std::exception_ptr e) { LogFailure("dialer", e); });
  }

  void StopDialer(Member& m) {
    m.generation = next_generation++;
    if (m.wake) m.wake->cancel();
  }

  static asio::awaitable<void> Sleep(std::shared_ptr<asio::steady_timer> timer,
                                     Clock::duration delay) {
    timer->expires_after(delay);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(use_awaitable));
    (void)ec;  // cancelled: woken early, the caller re-checks
  }

  static asio::awaitable<void> DialLoop(std::shared_ptr<Impl> self, protocol::PublicKey key,
                                        uint64_t generation) {
    Backoff backoff(self->options.backoff_initial, self->options.backoff_max);
    Backoff busy_backoff(self->options.backoff_initial,
                         std::min<std::chrono::seconds>(self->options.backoff_max, kBusyRetryMax));
    // After an authenticated "not on my roster" (docs/wire.md 4.4): the
    // answer changes only when the other operator acts, so back off to
    // minutes, whatever the (often short) dial_backoff_max.
    Backoff refused_backoff(self->options.backoff_initial, self->options.refused_backoff_max);
    bool wait_first = false;
    bool last_busy = false;
    bool last_refused = false;
    for (;;) {
      Member* m = self->Find(key, generation);
      if (!self->running || m == nullptr) co_return;
      std::shared_ptr<asio::steady_timer> timer = m->wake;
      if (m->link && m->link->is_open()) {
        // Up (dialed by either side): sleep until it drops.
        backoff.Reset();
        busy_backoff.Reset();
        refused_backoff.Reset();
        wait_first = true;
        last_busy = false;
        last_refused = false;
        co_await Sleep(timer, std::chrono::hours(24));
        continue;
      }
      if (m->retry_refused) {
        // Something that could change the peer's answer happened here.
        m->retry_refused = false;
        refused_backoff.Reset();
        if (last_refused) m->redial_now = true;
      }
      if (wait_first && !m->redial_now) {
        const auto delay = last_refused ? refused_backoff.Next()
                           : last_busy  ? busy_backoff.Next()
                                        : backoff.Next();
        m->state = "backoff";
        m->backoff_until = Clock::now() + delay;
        co_await Sleep(timer, delay);
        m = self->Find(key, generation);
        if (!self->running || m == nullptr) co_return;
        if (m->link && m->link->is_open()) continue;
      }
      wait_first = true;
      m->redial_now = false;
      m->state = "connecting";
      const protocol::HostPort endpoint = *m->id.endpoint;
      DialOutcome dialed = co_await Connect(self, endpoint, key);
      std::shared_ptr<Link> link = std::move(dialed.link);
      m = self->Find(key, generation);
      if (link == nullptr) {
        last_busy = dialed.busy;
        last_refused = dialed.refusal.has_value();
        // A peer that is down still backs off to the long maximum.
        if (!last_busy) busy_backoff.Reset();
        if (last_refused && m != nullptr && self->running) {
          self->RecordRefusalReceived(m->id.name, dialed.address, *dialed.refusal);
        }
        continue;
      }
      if (!self->running || m == nullptr) {
        link->Close(self->running ? "member removed from roster" : "node stopping");
        co_return;
      }
      backoff.Reset();
      busy_backoff.Reset();
      refused_backoff.Reset();
      last_busy = false;
      last_refused = false;
      self->Register(link, dialed.address);
    }
  }

  // Resolves, connects and runs the handshake as initiator; the started
  // link, or nullptr (the failure is logged and, if it is the peer's fault,
  // emitted as an event).
  static asio::awaitable<DialOutcome> Connect(std::shared_ptr<Impl> self,
                                              protocol::HostPort endpoint,
                                              protocol::PublicKey key) {
    const std::string name = self->Lookup(key) ? self->Lookup(key)->name : "";
    tcp::resolver resolver(self->io);
    auto [rec, results] = co_await resolver.async_resolve(
        endpoint.host, std::to_string(endpoint.port), asio::as_tuple(use_awaitable));
    if (rec) {
      LogInfo("link: cannot resolve ", endpoint.ToString(), " for ", name, ": ", rec.message());
      co_return DialOutcome{};
    }
    if (Member* m = self->Find(key)) {
      m->resolved.clear();
      for (const auto& entry : results) {
        if (m->resolved.size() >= kMaxAddressesPerMember) break;
        m->resolved.push_back(AddressKey(entry.endpoint().address()));
      }
      self->RebuildKnown();
    }
    auto socket = std::make_shared<tcp::socket>(self->io);
    self->pending.insert(socket);
    // The deadline closes the socket (no awaitable `||`: Boost 1.81's
    // operators have a use-after-free in cancellation, asio issue 1332).
    auto expired = std::make_shared<bool>(false);
    asio::steady_timer timer(self->io);
    timer.expires_after(self->options.handshake_timeout);
    timer.async_wait([socket, expired](boost::system::error_code ec) {
      if (ec) return;
      *expired = true;
      boost::system::error_code ignored;
      socket->close(ignored);
    });
    auto [cec, connected_to] =
        co_await asio::async_connect(*socket, results, asio::as_tuple(use_awaitable));
    timer.cancel();
    if (cec || *expired) {
      self->pending.erase(socket);
      LogInfo("link: cannot connect to ", name, " at ", endpoint.ToString(), ": ",
              *expired ? std::string("timed out") : cec.message());
      co_return DialOutcome{};
    }
    DialOutcome outcome;
    outcome.address = AddressKey(connected_to.address());
    bool busy = false;
    outcome.link = co_await Handshake(self, socket, true, key, &busy);
    outcome.busy = busy;
    if (outcome.link == nullptr) co_return outcome;
    // The link counts as up once the peer has spoken (its Hello): a peer
    // that does not have us on its roster sends a refusal instead and
    // closes (docs/wire.md 4.4), and then no link was ever up. A peer
    // silent for first_message_timeout is registered all the same.
    co_await outcome.link->WaitForFirstMessage(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::max<std::chrono::seconds>(self->options.first_message_timeout,
                                           std::chrono::seconds(1))));
    if (!outcome.link->is_open()) {
      outcome.refusal = outcome.link->refusal();
      if (!outcome.refusal) {
        // Closed before saying anything (an older node refusing us, or a
        // busy one): an ordinary failure, retried soon.
        LogInfo("link: ", name, " closed the link before its first message: ",
                outcome.link->close_reason());
        outcome.busy = true;
      }
      outcome.link = nullptr;
    }
    co_return outcome;
  }

  // Runs the handshake on `socket` (registered in `pending`); the started
  // link or nullptr. On failure `*busy` (if given) says whether the other
  // side went silent or closed (rather than answered wrongly).
  static asio::awaitable<std::shared_ptr<Link>> Handshake(
      std::shared_ptr<Impl> self, std::shared_ptr<tcp::socket> socket, bool initiator,
      std::optional<protocol::PublicKey> expected, bool* busy = nullptr) {
    Impl* impl = self.get();
    // The link writer already gathers every queued frame into one write, so
    // Nagle's algorithm only adds delay: a small frame sent while the peer
    // delays its ACK waited up to 40 ms (Linux's delayed-ACK timer), the
    // tail of the one-hop latency (docs/performance.md).
    boost::system::error_code nodelay_error;
    socket->set_option(tcp::no_delay(true), nodelay_error);
    if (nodelay_error) {
      LogDebug("link: cannot set TCP_NODELAY on ", EndpointText(*socket), ": ",
               nodelay_error.message());
    }
    const RosterLookup lookup = [impl](const protocol::PublicKey& k) { return impl->Lookup(k); };
    const SerialCheck check_serial = [impl](const PeerIdentity& peer, uint64_t serial) {
      return impl->CheckLinkSerial(peer, serial);
    };
    const std::string remote = EndpointText(*socket);
    const std::string source = AddressKeyOf(*socket);
    // Held for the whole handshake: a rotation may replace self->own.
    const std::shared_ptr<const LinkCredential> own = self->own;
    HandshakeOutcome outcome =
        co_await RunHandshake(*socket, initiator, self->identity, *own, lookup, check_serial,
                              expected, self->options.handshake_timeout,
                              self->options.first_message_timeout, self->chain);
    self->pending.erase(socket);
    if (outcome.status.ok() && self->running && own != self->own) {
      // Rotated while this handshake ran: no link under the old key.
      boost::system::error_code ignored;
      socket->close(ignored);
      if (busy != nullptr) *busy = true;  // redial soon
      co_return nullptr;
    }
    const bool retired = outcome.retired_key;
    if (outcome.status.ok() && self->running) self->RecordLinkSerial(outcome);
    std::shared_ptr<Link> none;
    if (!self->running) {
      boost::system::error_code ignored;
      socket->close(ignored);
      co_return none;
    }
    if (outcome.unknown_identity && !initiator) {
      // Authenticated, but not on our roster: say so under the
      // handshake's keys and close, reading nothing of theirs.
      self->RecordRefusalSent(source, remote, outcome.unknown_identity_key);
      co_await SendRefusalAndClose(*socket, outcome.transport,
                                   "not on the roster of " + self->options.own_name + " (" +
                                       self->options.own_country + ")",
                                   kRefusalLinger);
      co_return none;
    }
    if (!outcome.status.ok()) {
      boost::system::error_code ignored;
      socket->close(ignored);
      std::string peer_name = retired ? outcome.peer.name : std::string();
      if (expected && peer_name.empty()) {
        if (auto member = self->Lookup(*expected)) peer_name = member->name;
      }
      const char* reason = retired ? "retired_link_key" : ReasonOf(outcome);
      if (busy != nullptr) {
        *busy = outcome.timed_out || outcome.status.code() == StatusCode::kUnavailable;
      }
      self->RecordPreauthFailure(
          source, reason,
          outcome.status.code() == StatusCode::kDenied && !retired
              ? LinkEvent::kUnknownPeer
              : LinkEvent::kHandshakeFailed,
          peer_name, remote,
          std::string(initiator ? "outbound: " : "inbound: ") + outcome.status.message());
      co_return none;
    }
    auto link = std::make_shared<Link>(std::move(*socket), std::move(outcome.transport),
                                       std::move(outcome.peer), initiator, self->options,
                                       outcome.bytes_sent, outcome.bytes_received);
    std::weak_ptr<Impl> weak = self;
    link->Start([weak](Link& closed, const std::string& reason, bool violation) {
      if (auto impl = weak.lock()) impl->OnClosed(closed, reason, violation);
    });
    co_return link;
  }

  // The listener's handler: runs the inbound handshake on an accepted
  // connection and registers the link. Returns once the link is registered
  // (or the handshake failed), which frees the listener's slot.
  static asio::awaitable<void> Inbound(std::weak_ptr<Impl> weak, tcp::socket accepted) {
    std::shared_ptr<Impl> self = weak.lock();
    if (!self || !self->running) co_return;  // closes `accepted`
    const std::string source = AddressKeyOf(accepted);
    const bool known = self->known_addresses.count(source) != 0;
    const HandshakeSlots::Decision decision = self->slots.Acquire(source, known);
    if (decision != HandshakeSlots::Decision::kAdmitted) {
      const std::string why =
          decision == HandshakeSlots::Decision::kSourceFull
              ? "this address already has " + std::to_string(self->slots.PerSourceCap(known)) +
                    " handshakes in progress"
              : std::string("every handshake slot open to ") +
                    (known ? "known" : "unknown") + " addresses is taken";
      self->RecordPreauthFailure(source, "over_capacity", LinkEvent::kHandshakeFailed, "",
                                 EndpointText(accepted), "inbound: refused: " + why);
      co_return;  // closes `accepted`
    }
    // Frees the slot however the handshake ends (the frame may also be
    // destroyed without resuming when the io_context goes).
    struct SlotRelease {
      std::shared_ptr<Impl> impl;
      std::string source;
      bool known;
      ~SlotRelease() { impl->slots.Release(source, known); }
    } release{self, source, known};
    auto socket = std::make_shared<tcp::socket>(std::move(accepted));
    self->pending.insert(socket);
    std::shared_ptr<Link> link = co_await Handshake(self, socket, false, std::nullopt);
    if (link == nullptr) co_return;
    if (!self->running) {
      link->Close("node stopping");
      co_return;
    }
    self->Register(link, source);
  }

  // The initiator's identity key of `link`.
  const protocol::PublicKey& InitiatorKey(const Link& link) const {
    return link.initiator() ? identity.public_key() : link.peer().key;
  }

  // `address`: where the link's other end is (a known address from now on).
  void Register(const std::shared_ptr<Link>& link, const std::string& address) {
    Member* m = Find(link->peer().key);
    if (m == nullptr) {
      link->Close("not in the roster");
      return;
    }
    if (!link->is_open()) return;  // died before we got here
    if (!address.empty() && m->last_address != address) {
      m->last_address = address;
      RebuildKnown();
    }
    std::shared_ptr<Link> existing = m->link;
    if (existing && existing->is_open()) {
      const protocol::PublicKey& new_initiator = InitiatorKey(*link);
      const protocol::PublicKey& old_initiator = InitiatorKey(*existing);
      const bool keep_new = new_initiator == old_initiator || new_initiator < old_initiator;
      std::shared_ptr<Link> loser = keep_new ? existing : link;
      if (keep_new) m->link = link;
      Emit(LinkEvent::kDuplicateClosed, m->id.name, loser->remote_endpoint(),
           std::string("closing the link ") + (loser->initiator() ? "we" : "they") +
               " initiated; keeping the one " + (m->link->initiator() ? "we" : "they") +
               " initiated");
      if (keep_new) AddClosedTotals(*m, *existing);
      loser->Close("duplicate link");
      if (!keep_new) return;
    } else {
      m->link = link;
    }
    m->state = "up";
    m->last_contact = link->last_activity();
    Emit(LinkEvent::kUp, m->id.name, link->remote_endpoint(),
         link->initiator() ? "outbound" : "inbound");
    EndRefusals(m->id.name, address);
    if (m->wake) m->wake->cancel();  // the dialer now waits for the drop
    if (runner) {
      std::shared_ptr<Link> for_runner = link;
      asio::co_spawn(io, runner(for_runner), [for_runner](std::exception_ptr e) {
        LogFailure("session runner", e);
        for_runner->Close(e ? "session failed" : "session ended");
      });
    }
  }

  static void AddClosedTotals(Member& m, const Link& link) {
    m.bytes_sent_before += link.bytes_sent();
    m.bytes_received_before += link.bytes_received();
    m.app_before.AddAppBytes(link);
    m.last_contact = std::max(m.last_contact, link.last_activity());
  }

  void OnClosed(Link& link, const std::string& reason, bool violation) {
    Member* m = Find(link.peer().key);
    const std::string name = m != nullptr ? m->id.name : link.peer().name;
    if (violation) {
      Emit(LinkEvent::kProtocolViolation, name, link.remote_endpoint(), reason);
    }
    if (m == nullptr || m->link.get() != &link) return;  // a duplicate, or removed
    AddClosedTotals(*m, link);
    m->link.reset();
    m->state = "down";
    Emit(LinkEvent::kDown, name, link.remote_endpoint(), reason);
    if (m->wake) m->wake->cancel();  // the dialer starts its backoff
  }
};

LinkManager::LinkManager(asio::io_context& io, const crypto::IdentityKey& identity,
                         LinkCredential link_key, LinkOptions options, SessionRunner runner,
                         std::function<void(const LinkEvent&)> on_event)
    : impl_(std::make_shared<Impl>(io, identity, std::move(link_key), std::move(options),
                                   std::move(runner), std::move(on_event))) {}

LinkManager::LinkManager(asio::io_context& io, const crypto::IdentityKey& identity,
                         const crypto::LinkKey& link_key, LinkOptions options,
                         SessionRunner runner, std::function<void(const LinkEvent&)> on_event)
    : LinkManager(io, identity,
                  LinkCredential{std::shared_ptr<const crypto::LinkKey>(
                                     std::shared_ptr<const crypto::LinkKey>(), &link_key),
                                 0, 0},
                  std::move(options), std::move(runner), std::move(on_event)) {}

LinkManager::~LinkManager() { Stop(); }

Status LinkManager::Start(const std::vector<PeerIdentity>& roster) {
  Impl& impl = *impl_;
  if (impl.started) return InvalidInput("link manager already started");
  if (impl.options.listen) {
    const protocol::HostPort& listen = *impl.options.listen;
    boost::system::error_code ec;
    tcp::resolver resolver(impl.io);
    auto results = resolver.resolve(listen.host, std::to_string(listen.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      return Unavailable("cannot resolve peer listen address " + listen.ToString() + ": " +
                         ec.message());
    }
    tcp::acceptor acceptor(impl.io);
    const tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable("cannot listen for peers on " + listen.ToString() + ": " + ec.message());
    }
    net::ListenerOptions options;
    options.name = "link listener";
    // A backstop only: the handler applies the fair per-source limits
    // (HandshakeSlots) and refuses at once, so the listener's count also
    // holds connections about to be refused; room for them keeps a known
    // peer from being refused here first.
    options.max_connections = 2 * std::max<size_t>(impl.options.max_handshakes, 1);
    // The handler holds the manager weakly: the listener is the manager's.
    std::weak_ptr<Impl> weak = impl_;
    impl.listener = std::make_unique<net::Listener<tcp>>(
        impl.io, std::move(acceptor), std::move(options),
        [weak](tcp::socket socket) { return Impl::Inbound(weak, std::move(socket)); });
  }
  impl.started = true;
  impl.running = true;
  if (impl.listener) impl.listener->Start();
  impl.report_timer = std::make_unique<asio::steady_timer>(impl.io);
  asio::co_spawn(impl.io, Impl::ReportLoop(impl_),
                 [](std::exception_ptr e) { LogFailure("link failure reports", e); });
  UpdateRoster(roster);
  return Status::Ok();
}

void LinkManager::UpdateRoster(const std::vector<PeerIdentity>& roster) {
  Impl& impl = *impl_;
  std::set<protocol::PublicKey> keep;
  for (const PeerIdentity& id : roster) keep.insert(id.key);
  for (auto it = impl.members.begin(); it != impl.members.end();) {
    if (keep.count(it->first) != 0) {
      ++it;
      continue;
    }
    Impl::Member& m = it->second;
    impl.StopDialer(m);
    if (auto report = impl.dial_refusals.End(m.id.name)) {
      impl.EmitRefusalReport(std::move(*report), true, "removed from the roster");
    }
    std::shared_ptr<Link> link = std::move(m.link);
    const std::string name = m.id.name;
    it = impl.members.erase(it);
    if (link) {
      // OnClosed finds no member, so the link's end is told here: a member
      // still listed by the node (a compromised key, issue 16) must not
      // keep showing "up".
      link->Close("removed from roster");
      impl.Emit(LinkEvent::kDown, name, link->remote_endpoint(),
                "removed from the link roster");
    }
  }

  for (const PeerIdentity& id : roster) {
    Impl::Member* m = impl.Find(id.key);
    if (m == nullptr) {
      Impl::Member& added = impl.members[id.key];
      added.id = id;
      impl.StartDialer(added);
      continue;
    }
    const bool endpoint_changed = m->id.endpoint != id.endpoint;
    m->id = id;
    if (endpoint_changed) {
      impl.StopDialer(*m);
      impl.StartDialer(*m);
    }
  }
  // Members and endpoints may have changed (resolved addresses are
  // refreshed by each member's next dial).
  impl.RebuildKnown();
  // A roster change here may follow the other side's (peers were talking).
  RetryRefused();
}

void LinkManager::RetryRefused() {
  for (auto& [key, m] : impl_->members) {
    if (impl_->dial_refusals.Peek(m.id.name) == std::nullopt) continue;
    m.retry_refused = true;
    if (m.wake && !(m.link && m.link->is_open())) m.wake->cancel();
  }
}

std::map<std::string, uint64_t> LinkManager::RefusalsReceived() const {
  return impl_->refusals_received;
}

std::map<std::string, uint64_t> LinkManager::RefusalsSent() const {
  return impl_->refusals_sent;
}

void LinkManager::Stop() {
  Impl& impl = *impl_;
  if (!impl.running) return;
  impl.running = false;
  boost::system::error_code ignored;
  if (impl.listener) impl.listener->Stop();
  std::vector<std::shared_ptr<Link>> links;
  for (auto& [key, m] : impl.members) {
    impl.StopDialer(m);
    if (m.link) links.push_back(m.link);
  }
  for (auto& link : links) link->Close("node stopping");
  for (const auto& socket : impl.pending) socket->close(ignored);
  if (impl.report_timer) impl.report_timer->cancel();
  // What the open windows counted is still reported (and audited).
  impl.EmitSummaries(impl.failures.TakeAll());
  for (auto& report : impl.dial_refusals.TakeAll()) {
    impl.EmitRefusalReport(std::move(report), true, "node stopping");
  }
  for (auto& report : impl.listen_refusals.TakeAll()) {
    impl.EmitRefusalReport(std::move(report), false, "node stopping");
  }
}

std::map<std::string, uint64_t> LinkManager::PreauthFailures() const {
  return impl_->failures_by_reason;
}

size_t LinkManager::handshakes_in_progress() const { return impl_->slots.in_use(); }

std::map<std::string, LinkManager::LinkStatus> LinkManager::LinkStates() const {
  std::map<std::string, LinkStatus> states;
  const auto now = Clock::now();
  for (const auto& [key, m] : impl_->members) {
    LinkStatus& s = states[m.id.name];
    s.bytes_sent = m.bytes_sent_before;
    s.bytes_received = m.bytes_received_before;
    s.app_sent_plain = m.app_before.app_sent_plain;
    s.app_sent_carried = m.app_before.app_sent_carried;
    s.app_received_plain = m.app_before.app_received_plain;
    s.app_received_carried = m.app_before.app_received_carried;
    s.last_contact = m.last_contact;
    if (m.link && m.link->is_open()) {
      s.state = "up";
      s.bytes_sent += m.link->bytes_sent();
      s.bytes_received += m.link->bytes_received();
      s.AddAppBytes(*m.link);
      s.last_contact = m.link->last_activity();
    } else if (m.state == "backoff" && impl_->running) {
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(m.backoff_until - now);
      s.state = "backoff " + std::to_string(std::max<int64_t>(left.count(), 0)) + "s";
    } else if (m.state == "connecting" && impl_->running) {
      s.state = "connecting";
    } else {
      s.state = "down";
    }
  }
  return states;
}

std::shared_ptr<Link> LinkManager::LinkTo(const std::string& name) const {
  for (const auto& [key, m] : impl_->members) {
    if (m.id.name == name && m.link && m.link->is_open()) return m.link;
  }
  return nullptr;
}

void LinkManager::WakeAll() {
  for (auto& [key, m] : impl_->members) {
    if (m.wake && !(m.link && m.link->is_open())) m.wake->cancel();
  }
}

Status LinkManager::RotateLinkKey(LinkCredential next) {
  Impl& impl = *impl_;
  if (next.key == nullptr) return InvalidInput("link key rotation without a key");
  if (next.serial <= impl.own->serial) {
    return InvalidInput("link key serial " + std::to_string(next.serial) +
                        " is not above the current " + std::to_string(impl.own->serial));
  }
  impl.own = std::make_shared<const LinkCredential>(std::move(next));
  // Links keep the key they were made with until closed: close them all so
  // that from now on nothing speaks under the old key. The dialers (ours,
  // and the peers' for members that dial us) bring them back.
  std::vector<std::shared_ptr<Link>> links;
  for (auto& [key, m] : impl.members) {
    if (m.link) links.push_back(m.link);
    m.redial_now = true;
  }
  for (auto& link : links) link->Close("link key rotated");
  RetryRefused();
  WakeAll();
  return Status::Ok();
}

const LinkCredential& LinkManager::link_credential() const { return *impl_->own; }

void LinkManager::SetLinkSerials(
    std::map<protocol::PublicKey, uint64_t> known,
    std::function<void(const std::string&, const protocol::PublicKey&, uint64_t, int64_t)>
        on_raised) {
  impl_->link_serials = std::move(known);
  impl_->on_serial_raised = std::move(on_raised);
}

void LinkManager::SetIdentityChain(HandshakeChain chain) { impl_->chain = std::move(chain); }

uint16_t LinkManager::listen_port() const {
  return impl_->listener ? impl_->listener->local_endpoint().port() : 0;
}

}  // namespace caravan::daemon::link
