// query_latency: exact-value query latency through caravand's control
// socket, without the cost of spawning `caravan` per query. Sends Query
// requests (the same message `caravan query VALUE` or `caravan query
// --cidr NET` sends) over one connection, one at a time, and reports the
// round-trip percentiles.
//
//   query_latency SOCKET VALUES_FILE QUERIES [exact|cidr24|cidr24dense]
//
// Values are taken round-robin from VALUES_FILE after a deterministic
// shuffle (so queries hit all parts of the store). exact (the default)
// looks each value up; cidr24 asks for the /24 around each IPv4 value of
// the file (other lines are skipped), so every network holds at least one
// stored indicator. cidr24dense asks only for the /24s that hold at least
// kDenseNetwork IPv4 values of the file, each network once in the cycle:
// the networks whose rows (each one signature check) make a /24 query
// expensive, whatever share of a mix they are. Prints one line:
// "query_latency mode=M n=N found=F p50_us=.. p90_us=.. p99_us=.. max_us=..".
// Exit 1 if the daemon is unreachable or answers with an error.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "protocol/control.capnp.h"
#include "protocol/control_framing.h"

namespace {

using caravan::protocol::FrameDecoder;
namespace wire = caravan::protocol::wire;

int Connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::vector<uint8_t>& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent,
                     MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += size_t(n);
  }
  return true;
}

// One reply's words, or empty on a broken connection.
std::vector<capnp::word> ReadReply(int fd, FrameDecoder& decoder) {
  uint8_t buf[65536];
  for (;;) {
    auto next = decoder.Next();
    if (!next.ok()) return {};
    if (next->has_value()) return std::move(**next);
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return {};
    decoder.Append(std::span<const uint8_t>(buf, size_t(n)));
  }
}

// "a.b.c.0/24" for a dotted IPv4 address, or "" for anything else.
std::string Slash24(const std::string& value) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(value.c_str(), "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d,
                  &tail) != 4 ||
      a > 255 || b > 255 || c > 255 || d > 255) {
    return "";
  }
  return std::to_string(a) + "." + std::to_string(b) + "." +
         std::to_string(c) + ".0/24";
}

// A /24 is "dense" from this many values of the file on (a real blocklist
// network; a query returns up to the page limit of 100 rows).
constexpr size_t kDenseNetwork = 64;

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 5 ? argv[4] : "exact";
  if ((argc != 4 && argc != 5) ||
      (mode != "exact" && mode != "cidr24" && mode != "cidr24dense")) {
    std::fprintf(stderr,
                 "usage: query_latency SOCKET VALUES_FILE QUERIES "
                 "[exact|cidr24|cidr24dense]\n");
    return 2;
  }
  const bool cidr = mode != "exact";
  std::vector<std::string> values;
  {
    std::ifstream in(argv[2]);
    for (std::string l; std::getline(in, l);) {
      if (cidr) l = Slash24(l);
      if (!l.empty()) values.push_back(l);
    }
  }
  if (mode == "cidr24dense") {
    std::map<std::string, size_t> per_network;
    for (const std::string& v : values) ++per_network[v];
    values.clear();
    for (const auto& [network, n] : per_network) {
      if (n >= kDenseNetwork) values.push_back(network);
    }
  }
  if (values.empty()) {
    std::fprintf(stderr, "query_latency: no %s in %s\n",
                 mode == "cidr24dense" ? "/24 holding 64 IPv4 values"
                 : cidr                ? "IPv4 values"
                                       : "values",
                 argv[2]);
    return 2;
  }
  std::shuffle(values.begin(), values.end(), std::mt19937(42));
  const size_t queries = std::stoul(argv[3]);
  const int fd = Connect(argv[1]);
  if (fd < 0) {
    std::fprintf(stderr, "query_latency: cannot connect to %s\n", argv[1]);
    return 1;
  }
  FrameDecoder decoder;
  std::vector<double> micros;
  micros.reserve(queries);
  size_t found = 0;
  for (size_t i = 0; i < queries; ++i) {
    const std::string& v = values[i % values.size()];
    capnp::MallocMessageBuilder message;
    auto q = message.initRoot<wire::Request>().initQuery();
    if (cidr) {
      q.setCidr(capnp::Text::Reader(v.c_str(), v.size()));
    } else {
      q.setValue(capnp::Text::Reader(v.c_str(), v.size()));
    }
    const auto frame = caravan::protocol::FrameMessage(message);
    const auto start = std::chrono::steady_clock::now();
    if (!SendAll(fd, frame)) return 1;
    auto words = ReadReply(fd, decoder);
    const auto end = std::chrono::steady_clock::now();
    if (words.empty()) {
      std::fprintf(stderr, "query_latency: connection lost\n");
      return 1;
    }
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(words.data(), words.size()),
        caravan::protocol::ControlReaderOptions());
    auto response = reader.getRoot<wire::Response>();
    if (response.getCode() != 0) {
      std::fprintf(stderr, "query_latency: %s: %s\n", v.c_str(),
                   response.getMessage().cStr());
      return 1;
    }
    // "count":0 means the value was not found (the values file should
    // hold only stored values).
    if (response.isJson() &&
        std::strstr(response.getJson().cStr(), "\"count\":0") == nullptr) {
      ++found;
    }
    micros.push_back(
        std::chrono::duration<double, std::micro>(end - start).count());
  }
  close(fd);
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) {
    return micros[std::min(micros.size() - 1, size_t(p * micros.size()))];
  };
  std::printf(
      "query_latency mode=%s n=%zu found=%zu p50_us=%.0f p90_us=%.0f p99_us=%.0f "
      "max_us=%.0f\n",
      mode.c_str(), micros.size(), found, pct(0.50), pct(0.90), pct(0.99), micros.back());
  return 0;
}
