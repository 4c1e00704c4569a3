// taxii_paging_client: TAXII paging throughput of a running caravand
// (issue 17, "TAXII paging 100k objects (limit 1000, next)"), with its
// baselines measured in the same run on the same store file. Driven by
// tests/bench/taxii_paging_bench.sh; not part of ctest.
//
//   taxii_paging_client PORT ACCOUNT PASSWORD COLLECTION_ID STORE_DB [LIMIT
//                       [DAEMON_PID]]
//
// Prints, each as objects (or rows) per second:
//   taxii paging     GET .../objects/?limit=LIMIT then `next` until `more`
//                    is false, over one keep-alive connection; objects are
//                    counted by scanning each body (the client must not be
//                    the bottleneck), and the first and last pages are
//                    also parsed whole to check the count and the envelope
//   raw sqlite       the same log's records (seq, signed bytes) read in
//                    keyset pages of LIMIT with one prepared statement
//   dom stix         decode each record and dump StixIndicator(item) with
//                    nlohmann: the per-object JSON building the server did
//                    before the direct writer (protocol/formats/
//                    stix_json_writer.h)
// With DAEMON_PID, also the CPU seconds caravand spent serving the pages
// (/proc/PID/stat utime + stime) and objects per daemon CPU-second: the
// server's own cost, which a loaded shared machine does not inflate the
// way it inflates wall time.
// Shared 2-core machine: read the ratios.

#include <sqlite3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon/feeds/export_item.h"
#include "protocol/formats/stix.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Occurrences of `needle` (memmem: std::string::find stops at every '"').
size_t Count(const std::string& body, std::string_view needle) {
  size_t n = 0;
  const char* at = body.data();
  const char* end = body.data() + body.size();
  while (const void* hit = memmem(at, static_cast<size_t>(end - at),
                                  needle.data(), needle.size())) {
    ++n;
    at = static_cast<const char*>(hit) + needle.size();
  }
  return n;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

// The `next` token of an envelope body, "" when there is none.
std::string NextToken(const std::string& body) {
  constexpr std::string_view kKey = "\"next\":\"";
  const size_t at = body.find(kKey);
  if (at == std::string::npos) return "";
  const size_t end = body.find('"', at + kKey.size());
  return body.substr(at + kKey.size(), end - at - kKey.size());
}

// utime + stime of process `pid` in seconds; 0 when unreadable.
double ProcessCpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct PagingResult {
  size_t objects = 0;
  size_t pages = 0;
  size_t bytes = 0;
  double seconds = 0;
};

// Pages through the collection; only the first page when `first_only`.
PagingResult PageAll(const std::string& port, const std::string& basic,
                     const std::string& collection, size_t limit,
                     bool first_only = false) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.connect(resolver.resolve("127.0.0.1", port));
  const std::string base =
      "/api/collections/" + collection + "/objects/?limit=" +
      std::to_string(limit);
  PagingResult r;
  std::string next;
  std::string last_body;
  const auto start = Clock::now();
  for (;;) {
    http::request<http::empty_body> req(
        http::verb::get, next.empty() ? base : base + "&next=" + next, 11);
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Basic " + basic);
    req.set(http::field::accept, "application/taxii+json;version=2.1");
    req.keep_alive(true);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    if (res.result_int() != 200) {
      std::fprintf(stderr, "taxii_paging_client: page %zu answered %d: %s\n",
                   r.pages + 1, res.result_int(), res.body().c_str());
      std::exit(1);
    }
    ++r.pages;
    r.bytes += res.body().size();
    const size_t counted = Count(res.body(), "\"spec_version\":\"2.1\"");
    r.objects += counted;
    if (r.pages == 1) {
      // The scan counts what a parser would: checked on the first page.
      auto doc = nlohmann::json::parse(res.body());
      const size_t parsed = doc.contains("objects") ? doc["objects"].size() : 0;
      if (parsed != counted) {
        std::fprintf(stderr, "taxii_paging_client: counted %zu objects but "
                             "the page holds %zu\n", counted, parsed);
        std::exit(1);
      }
    }
    next = first_only ? std::string() : NextToken(res.body());
    if (next.empty()) {
      last_body = std::move(res.body());
      break;
    }
  }
  r.seconds = Seconds(start);
  auto last = nlohmann::json::parse(last_body);
  if (!first_only && last.value("more", true)) {
    std::fprintf(stderr, "taxii_paging_client: the last page has no next "
                         "but more is not false\n");
    std::exit(1);
  }
  return r;
}

// Baselines: the store file read directly.
struct RawResult {
  size_t rows = 0;
  double read_seconds = 0;
  double dom_seconds = 0;
};

RawResult ReadRaw(const std::string& db_path, size_t limit) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    std::fprintf(stderr, "taxii_paging_client: cannot open %s\n",
                 db_path.c_str());
    std::exit(1);
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT r.seq, i.id, r.body FROM records r JOIN "
                     "indicators i ON i.rid = r.rid WHERE r.seq > ? "
                     "ORDER BY r.seq LIMIT ?",
                     -1, &st, nullptr);
  RawResult r;
  std::vector<caravan::store::StoredRecord> all;
  int64_t after = 0;
  const auto start = Clock::now();
  for (;;) {
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, static_cast<int64_t>(limit));
    size_t got = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      caravan::store::StoredRecord rec;
      rec.seq = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
      std::memcpy(rec.id.data(), sqlite3_column_blob(st, 1), rec.id.size());
      const auto* p =
          static_cast<const uint8_t*>(sqlite3_column_blob(st, 2));
      rec.signed_bytes.assign(p, p + sqlite3_column_bytes(st, 2));
      after = static_cast<int64_t>(rec.seq);
      all.push_back(std::move(rec));
      ++got;
    }
    sqlite3_reset(st);
    if (got < limit) break;
  }
  r.read_seconds = Seconds(start);
  r.rows = all.size();
  sqlite3_finalize(st);
  sqlite3_close(db);

  const auto dom_start = Clock::now();
  size_t bytes = 0;
  for (const auto& rec : all) {
    auto item = caravan::feeds::ExportItemFromRecord(rec, "CERT", "UZ");
    if (!item.ok()) continue;
    bytes += caravan::protocol::StixIndicator(*item)
                 .dump(-1, ' ', false,
                       nlohmann::json::error_handler_t::replace)
                 .size();
  }
  r.dom_seconds = Seconds(dom_start);
  if (bytes == 0) std::fprintf(stderr, "taxii_paging_client: no objects\n");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: taxii_paging_client PORT ACCOUNT PASSWORD "
                 "COLLECTION_ID STORE_DB [LIMIT]\n");
    return 2;
  }
  const std::string port = argv[1];
  const std::string credentials = std::string(argv[2]) + ":" + argv[3];
  const std::string basic = caravan::feeds::ToBase64(std::span(
      reinterpret_cast<const uint8_t*>(credentials.data()),
      credentials.size()));
  const size_t limit = argc > 6 ? std::stoul(argv[6]) : 1000;

  // Warm-up page (the server's date index, the login cache).
  PageAll(port, basic, argv[4], 1, /*first_only=*/true);
  const std::string daemon_pid = argc > 7 ? argv[7] : "";
  const double cpu_before =
      daemon_pid.empty() ? 0 : ProcessCpuSeconds(daemon_pid);
  const double client_before = SelfCpuSeconds();
  const PagingResult taxii = PageAll(port, basic, argv[4], limit);
  const double client_cpu = SelfCpuSeconds() - client_before;
  const double daemon_cpu =
      daemon_pid.empty() ? 0 : ProcessCpuSeconds(daemon_pid) - cpu_before;
  const RawResult raw = ReadRaw(argv[5], limit);

  const double taxii_rate = taxii.objects / taxii.seconds;
  const double raw_rate = raw.rows / raw.read_seconds;
  const double dom_rate = raw.rows / raw.dom_seconds;
  std::printf("taxii paging (limit %zu, next): %zu objects in %zu pages, "
              "%.1f MB, %.2f s = %.0f objects/s\n",
              limit, taxii.objects, taxii.pages, taxii.bytes / 1e6,
              taxii.seconds, taxii_rate);
  std::printf("client CPU while paging: %.2f s\n", client_cpu);
  if (daemon_cpu > 0) {
    std::printf("caravand CPU while paging: %.2f s = %.0f objects per "
                "daemon CPU-second\n",
                daemon_cpu, taxii.objects / daemon_cpu);
  }
  std::printf("baseline raw sqlite read of the same log: %zu rows in %.2f s "
              "= %.0f rows/s\n",
              raw.rows, raw.read_seconds, raw_rate);
  std::printf("baseline nlohmann DOM STIX of the same records: %zu in %.2f s "
              "= %.0f objects/s\n",
              raw.rows, raw.dom_seconds, dom_rate);
  std::printf("ratio taxii / raw sqlite: %.3f   taxii / DOM STIX alone: "
              "%.2f\n",
              taxii_rate / raw_rate, taxii_rate / dom_rate);
  return 0;
}
