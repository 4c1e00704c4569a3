#pragma once
// Attacks on the link port (peer listener) from one host (kAttacker):
// - LinkFlood: a background thread that keeps `stalled` connections open
//   that never send a byte (re-opening each one the daemon closes), and
//   starts `garbage_per_second` garbage handshakes beside them: the
//   handshake-slot exhaustion of issue 14, finding 3.
// - SpamHandshakes: failed handshakes one after another (a few in flight):
//   finding 2, unauthenticated store and log growth.
//
// A garbage handshake is a well-framed Noise message 1 (32 random bytes, a
// valid-looking ephemeral key, so the daemon pays for its message 2) then
// a message 3 of random bytes that cannot decrypt: the handshake fails on
// the daemon's side after real work, as a scanner's or a forger's would.
//
// LinkFlood owns its thread and sockets; Stop() (or the destructor) joins
// the thread and closes them. Its counters may be read from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace caravan::hostile {

// Noise message 1 and a message 3 that cannot decrypt, each with its
// 2-byte big-endian length prefix (docs/wire.md).
std::string GarbageHandshake();

class LinkFlood {
 public:
  LinkFlood(uint16_t port, int stalled, int garbage_per_second)
      : port_(port),
        stalled_(stalled),
        garbage_per_second_(garbage_per_second) {}
  ~LinkFlood() { Stop(); }
  LinkFlood(const LinkFlood&) = delete;
  LinkFlood& operator=(const LinkFlood&) = delete;

  void Start();
  void Stop();

  // Stalled connections open right now.
  int64_t stalled_open() const { return stalled_open_.load(); }
  // Connections opened so far (stalled and garbage).
  int64_t connections() const { return connections_.load(); }
  // Garbage handshakes whose bytes were all sent.
  int64_t garbage_sent() const { return garbage_sent_.load(); }

 private:
  void Run();

  const uint16_t port_;
  const int stalled_;
  const int garbage_per_second_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> stalled_open_{0};
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> garbage_sent_{0};
  std::thread thread_;
};

// Sends `count` garbage handshakes to 127.0.0.1:`port` from kAttacker, at
// most `in_flight` at a time, each waited for until the daemon closes it
// (or 5 s). Stops at `deadline`. Returns how many were sent in full.
int64_t SpamHandshakes(uint16_t port, int count, int in_flight,
                       std::chrono::steady_clock::time_point deadline);

}  // namespace caravan::hostile
