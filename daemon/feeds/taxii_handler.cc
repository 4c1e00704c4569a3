#include "daemon/feeds/taxii_handler.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "daemon/feeds/export_item.h"
#include "protocol/indicator_parse.h"
#include "protocol/record_codec.h"
#include "protocol/formats/stix.h"
#include "protocol/time_text.h"

namespace caravan::feeds {
namespace {

using nlohmann::json;

constexpr size_t kLogChunk = 2000;

std::string Base64Url(std::string_view text) {
  std::string out(sodium_base64_encoded_len(
                      text.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const uint8_t*>(text.data()), text.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);
  return out;
}

std::optional<std::string> FromBase64Variant(std::string_view text,
                                             int variant) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                        text.data(), text.size(), nullptr, &len, &end,
                        variant) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string CollectionId(std::string_view name) {
  return protocol::DerivedUuid(
      "caravan taxii collection",
      std::span(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
}

std::optional<std::string> CollectionName(std::string_view id) {
  for (auto name : {kCollectionReceived, kCollectionOwn, kCollectionAll}) {
    if (CollectionId(name) == id) return std::string(name);
  }
  return std::nullopt;
}

HttpResponse Json(const HttpRequest& req, http::status status, const json& body,
                  std::string_view media = kTaxiiMediaType) {
  HttpResponse res(status, req.version());
  res.set(http::field::content_type, media);
  res.keep_alive(req.keep_alive());
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

HttpResponse Error(const HttpRequest& req, http::status status,
                   std::string title, std::string description = "") {
  json body = {{"title", std::move(title)},
               {"http_status", std::to_string(static_cast<int>(status))}};
  if (!description.empty()) body["description"] = std::move(description);
  auto res = Json(req, status, body);
  if (status == http::status::unauthorized) {
    res.set(http::field::www_authenticate, "Basic realm=\"caravan\"");
  }
  return res;
}

// "a=b&c=d" with percent-decoding; repeated keys keep the last value.
std::map<std::string, std::string> ParseQuery(std::string_view q) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size() + 0 &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)),
                                           nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    out[decode(part.substr(0, eq))] =
        eq == std::string_view::npos ? "" : decode(part.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

// What a listing serves: the filters and where it is. The `next` token is
// this, as JSON in base64url.
struct ListSpec {
  std::string collection;
  uint64_t after_seq = 0;
  std::vector<std::string> types, ids;
  std::string version = "last";  // last | first | all | a timestamp
  size_t limit = 0;
  std::string Token() const {
    return Base64Url(json{{"c", collection},
                          {"s", after_seq},
                          {"t", types},
                          {"i", ids},
                          {"v", version},
                          {"l", limit}}
                         .dump());
  }
  static std::optional<ListSpec> FromToken(std::string_view token) {
    auto text = FromBase64Variant(token,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (!text || text->size() > 64 * 1024) return std::nullopt;
    try {
      auto j = json::parse(*text);
      ListSpec s;
      s.collection = j.at("c").get<std::string>();
      s.after_seq = j.at("s").get<uint64_t>();
      s.types = j.at("t").get<std::vector<std::string>>();
      s.ids = j.at("i").get<std::vector<std::string>>();
      s.version = j.at("v").get<std::string>();
      s.limit = j.at("l").get<size_t>();
      return s;
    } catch (const json::exception&) {
      return std::nullopt;
    }
  }
};

struct Listed {
  uint64_t seq = 0;
  int64_t date_added = 0;  // Unix microseconds
  json object;
};

}  // namespace

std::string TaxiiTime(int64_t unix_micros) {
  int64_t secs = unix_micros / 1000000;
  int64_t frac = unix_micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(frac));
  return buf;
}

std::optional<int64_t> ParseTaxiiTime(std::string_view text) {
  if (text.size() < 20 || text.size() > 40 || text.back() != 'Z') {
    return std::nullopt;
  }
  std::string_view base = text.substr(0, 19);
  int64_t micros = 0;
  std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) {
      return std::nullopt;
    }
    std::string digits(rest.substr(1));
    if (digits.size() > 6) {
      // Finer than microseconds: truncate (dates we serve have 6 digits).
      digits.resize(6);
    }
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    while (digits.size() < 6) digits += '0';
    micros = std::stoll(digits);
  }
  auto secs = protocol::ParseTime(std::string(base) + "Z", 0);
  if (!secs.ok()) return std::nullopt;
  return *secs * 1000000 + micros;
}

// date_added of every log record, built incrementally from the log:
// date(seq) = max(stored_at(seq) in microseconds, date(previous seq) + 1).
// Strictly increasing in seq by construction, equal to the storage time
// whenever the clock moved on, and the same after a restart (it is a pure
// function of the log). Memory: 16 bytes per record.
struct TaxiiHandler::DateIndex {
  std::mutex mu;
  std::vector<uint64_t> seqs;
  std::vector<int64_t> dates;

  Status Refresh(store::Reader& reader) {
    std::lock_guard lock(mu);
    for (;;) {
      uint64_t after = seqs.empty() ? 0 : seqs.back();
      auto page = reader.LogRange(after, kLogChunk);
      if (!page.ok()) return page.status();
      for (const auto& rec : *page) {
        int64_t d = rec.stored_at * 1000000;
        if (!dates.empty()) d = std::max(d, dates.back() + 1);
        seqs.push_back(rec.seq);
        dates.push_back(d);
      }
      if (page->size() < kLogChunk) return Status::Ok();
    }
  }
  int64_t DateOf(uint64_t seq) {
    std::lock_guard lock(mu);
    auto it = std::lower_bound(seqs.begin(), seqs.end(), seq);
    if (it == seqs.end() || *it != seq) return 0;
    return dates[static_cast<size_t>(it - seqs.begin())];
  }
  // The seq to list after so that only records added after `t` follow.
  uint64_t SeqAfter(int64_t t) {
    std::lock_guard lock(mu);
    auto it = std::upper_bound(dates.begin(), dates.end(), t);
    size_t idx = static_cast<size_t>(it - dates.begin());
    return idx == 0 ? 0 : seqs[idx - 1];
  }
  uint64_t LastSeq() {
    std::lock_guard lock(mu);
    return seqs.empty() ? 0 : seqs.back();
  }
};

// The authenticated caller of one request.
struct TaxiiHandler::Scope {
  TaxiiAccount account;
};

TaxiiHandler::TaxiiHandler(store::Store& store, TaxiiAccounts accounts,
                           SubmitFn submit, TaxiiOptions options)
    : store_(store),
      accounts_(std::move(accounts)),
      submit_(std::move(submit)),
      options_(std::move(options)),
      dates_(std::make_unique<DateIndex>()) {}

TaxiiHandler::~TaxiiHandler() = default;

std::optional<Credentials> BasicCredentials(
    const HttpRequest& header) {
  std::string_view auth(header[http::field::authorization]);
  if (auth.size() <= 6 || auth.substr(0, 6) != "Basic ") return std::nullopt;
  auto decoded =
      FromBase64Variant(auth.substr(6), sodium_base64_VARIANT_ORIGINAL);
  if (!decoded) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

HttpResponse TaxiiErrorResponse(const HttpRequest& header,
                                http::status status, std::string title,
                                std::string description) {
  json body = {{"title", std::move(title)},
               {"http_status", std::to_string(static_cast<int>(status))}};
  if (!description.empty()) body["description"] = std::move(description);
  HttpResponse res(status, header.version());
  res.set(http::field::content_type, kTaxiiMediaType);
  res.keep_alive(header.keep_alive());
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  if (status == http::status::unauthorized) {
    res.set(http::field::www_authenticate, "Basic realm=\"caravan\"");
  }
  res.prepare_payload();
  return res;
}

std::optional<HttpResponse> TaxiiHandler::RefuseBeforeBody(
    const HttpRequest& header, const TaxiiAccount& account) const {
  // Only an account that may add objects ever needs a request body; for
  // every other one it is refused unread (the server then closes).
  const bool has_body = header.chunked() ||
                        (header.has_content_length() &&
                         header[http::field::content_length] != "0");
  if (!has_body) return std::nullopt;
  if (account.can_write && submit_ && header.method() == http::verb::post) {
    return std::nullopt;
  }
  return TaxiiErrorResponse(header, http::status::forbidden,
                            "account '" + account.name +
                                "' may not send a request body");
}

HttpResponse TaxiiHandler::Handle(const HttpRequest& request,
                                  const TaxiiAccount& account) {
  std::unique_ptr<store::Reader> reader;
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (!reader) {
    auto opened = store_.OpenReader();
    if (!opened.ok()) {
      return Error(request, http::status::service_unavailable,
                   "store unavailable", opened.status().message());
    }
    reader = std::move(*opened);
  }
  HttpResponse res;
  try {
    res = Route(request, account, *reader);
  } catch (const std::exception& e) {
    res = Error(request, http::status::internal_server_error,
                "internal error", e.what());
  }
  std::lock_guard lock(readers_mu_);
  if (idle_readers_.size() < 8) idle_readers_.push_back(std::move(reader));
  return res;
}

HttpResponse TaxiiHandler::Route(const HttpRequest& req,
                                 const TaxiiAccount& caller,
                                 store::Reader& reader) {
  // Authentication is the server's (taxii_server.cc), from the headers,
  // before the body is read; here the caller is known.
  const TaxiiAccount* account = &caller;
  std::string_view target(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  auto params = ParseQuery(target.find('?') == std::string_view::npos
                               ? std::string_view()
                               : target.substr(target.find('?') + 1));

  // ---- plain blocklist feeds: /feeds/<type>.txt, /feeds/all.csv ----
  if (path.rfind("/feeds/", 0) == 0) {
    if (req.method() != http::verb::get) {
      return Error(req, http::status::method_not_allowed, "GET only");
    }
    if (!account->collections.count(std::string(kCollectionAll))) {
      return Error(req, http::status::forbidden,
                   "feeds need access to the 'all' collection");
    }
    std::string name(path.substr(7));
    bool csv = name == "all.csv";
    store::QueryFilter filter;
    if (!csv) {
      if (name.size() < 5 || name.substr(name.size() - 4) != ".txt") {
        return Error(req, http::status::not_found, "no such feed");
      }
      name.resize(name.size() - 4);
      if (name != "all") {
        auto type = protocol::ParseTypeName(name);
        if (!type) return Error(req, http::status::not_found, "no such feed");
        filter.type = *type;
      }
    }
    filter.limit = store::kMaxQueryLimit;
    std::string body = csv ? "type,value,tlp,confidence,origin,id\n" : "";
    for (;;) {
      auto page = reader.Query(filter);
      if (!page.ok()) {
        return Error(req, http::status::service_unavailable,
                     page.status().message());
      }
      for (const auto& row : page->rows) {
        if (row.indicator.tlp > account->max_tlp || row.warning) continue;
        if (csv) {
          body += std::string(protocol::TypeName(row.indicator.type)) + "," +
                  row.indicator.value + "," +
                  std::string(protocol::TlpName(row.indicator.tlp)) + "," +
                  std::to_string(row.indicator.confidence) + "," +
                  row.origin_country + "," + protocol::IdToHex(row.id) + "\n";
        } else {
          body += row.indicator.value + "\n";
        }
      }
      if (page->next_after == 0) break;
      filter.after = page->next_after;
    }
    HttpResponse res(http::status::ok, req.version());
    res.set(http::field::content_type,
            csv ? "text/csv; charset=utf-8" : "text/plain; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

  // ---- TAXII: media type ----
  std::string_view accept(req[http::field::accept]);
  if (!accept.empty() &&
      accept.find("application/taxii+json") == std::string_view::npos) {
    return Error(req, http::status::not_acceptable,
                 "Accept must be application/taxii+json;version=2.1");
  }
  if (accept.find("version=") != std::string_view::npos &&
      accept.find("version=2.1") == std::string_view::npos) {
    return Error(req, http::status::not_acceptable,
                 "only TAXII version 2.1 is served");
  }
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    return Error(req, http::status::method_not_allowed, "GET or POST only");
  }
  const bool is_get = req.method() == http::verb::get;

  if (path == "/taxii2/" || path == "/taxii2") {
    if (!is_get) return Error(req, http::status::method_not_allowed, "GET");
    return Json(req, http::status::ok,
                {{"title", "caravan TAXII server: " + options_.title},
                 {"default", "/api/"},
                 {"api_roots", {"/api/"}}});
  }
  if (path == "/api/" || path == "/api") {
    return Json(req, http::status::ok,
                {{"title", options_.title},
                 {"versions", {kTaxiiMediaType}},
                 {"max_content_length", options_.max_request_bytes}});
  }
  auto collection_json = [&](std::string_view name) {
    const bool readable = account->collections.count(std::string(name)) > 0;
    return json{{"id", CollectionId(name)},
                {"title", std::string(name)},
                {"description",
                 name == kCollectionReceived ? "indicators received from peers"
                 : name == kCollectionOwn    ? "indicators this CERT made"
                                             : "every indicator"},
                {"can_read", readable},
                {"can_write", readable && account->can_write &&
                                  name == kCollectionOwn && bool(submit_)},
                {"media_types", {"application/stix+json;version=2.1"}}};
  };
  if (path == "/api/collections/" || path == "/api/collections") {
    json list = json::array();
    for (auto n : {kCollectionReceived, kCollectionOwn, kCollectionAll}) {
      list.push_back(collection_json(n));
    }
    return Json(req, http::status::ok, {{"collections", list}});
  }
  if (path.rfind("/api/status/", 0) == 0) {
    std::string id(path.substr(12));
    if (!id.empty() && id.back() == '/') id.pop_back();
    std::lock_guard lock(status_mu_);
    auto it = statuses_.find(account->name + "/" + id);
    if (it == statuses_.end()) {
      return Error(req, http::status::not_found, "no such status");
    }
    return Json(req, http::status::ok, json::parse(it->second));
  }
  const std::string_view kColl = "/api/collections/";
  if (path.rfind(kColl, 0) != 0) {
    return Error(req, http::status::not_found, "no such resource");
  }
  // /api/collections/<id>/[objects/[<oid>/[versions/]]|manifest/]
  std::vector<std::string> parts;
  {
    std::string_view rest = path.substr(kColl.size());
    while (!rest.empty()) {
      size_t slash = rest.find('/');
      parts.emplace_back(rest.substr(0, slash));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
  }
  auto collection = CollectionName(parts.empty() ? "" : parts[0]);
  if (!collection) {
    return Error(req, http::status::not_found, "no such collection",
                 parts.empty() ? std::string() : parts[0]);
  }
  if (!account->collections.count(*collection)) {
    return Error(req, http::status::forbidden,
                 "account '" + account->name + "' may not read collection '" +
                     *collection + "'");
  }
  if (parts.size() == 1) return Json(req, http::status::ok, collection_json(*collection));
  const std::string& what = parts[1];
  if (what != "objects" && what != "manifest") {
    return Error(req, http::status::not_found, "no such resource");
  }

  // ---- add objects ----
  if (!is_get) {
    if (what != "objects" || parts.size() > 2) {
      return Error(req, http::status::method_not_allowed, "POST objects/ only");
    }
    if (!account->can_write || *collection != kCollectionOwn || !submit_) {
      return Error(req, http::status::forbidden,
                   "account '" + account->name + "' may not add objects to '" +
                       *collection + "'");
    }
    std::string_view ctype(req[http::field::content_type]);
    if (ctype.find("application/taxii+json") == std::string_view::npos) {
      return Error(req, http::status::unsupported_media_type,
                   "Content-Type must be application/taxii+json;version=2.1");
    }
    if (req.body().size() > options_.max_request_bytes) {
      return Error(req, http::status::payload_too_large, "request too large");
    }
    auto imported = protocol::ImportStixBundle(req.body());
    if (!imported.ok()) {
      return Error(req, http::status::unprocessable_entity,
                   "bad envelope", imported.status().message());
    }
    std::vector<protocol::BulkItem> items;
    for (const auto& it : imported->items) items.push_back(it.item);
    auto errors = submit_(items, "taxii:" + account->name);
    json successes = json::array(), failures = json::array();
    for (size_t i = 0; i < imported->items.size(); ++i) {
      const std::string err = i < errors.size() ? errors[i] : "not submitted";
      if (err.empty()) {
        successes.push_back({{"id", imported->items[i].stix_id}});
      } else {
        failures.push_back(
            {{"id", imported->items[i].stix_id}, {"message", err}});
      }
    }
    for (const auto& sk : imported->skipped) {
      failures.push_back({{"id", sk.stix_id}, {"message", sk.reason}});
    }
    std::array<uint8_t, 16> rnd{};
    randombytes_buf(rnd.data(), rnd.size());
    const std::string status_id = protocol::UuidFromDigest(rnd);
    json status = {{"id", status_id},
                   {"status", "complete"},
                   {"request_timestamp",
                    TaxiiTime(static_cast<int64_t>(std::time(nullptr)) *
                              1000000)},
                   {"total_count", successes.size() + failures.size()},
                   {"success_count", successes.size()},
                   {"successes", successes},
                   {"failure_count", failures.size()},
                   {"failures", failures},
                   {"pending_count", 0}};
    {
      std::lock_guard lock(status_mu_);
      if (statuses_.size() >= 1000) statuses_.erase(statuses_.begin());
      statuses_[account->name + "/" + status_id] = status.dump();
    }
    return Json(req, http::status::accepted, status);
  }

  // ---- listings ----
  ListSpec spec;
  bool by_id = false, versions = false;
  if (parts.size() >= 3 && !parts[2].empty()) {
    if (what != "objects") return Error(req, http::status::not_found, "no such resource");
    by_id = true;
    spec.ids = {parts[2]};
    versions = parts.size() >= 4 && parts[3] == "versions";
    if (parts.size() >= 4 && !parts[3].empty() && !versions) {
      return Error(req, http::status::not_found, "no such resource");
    }
    if (versions) spec.version = "all";
  }
  Status refreshed = dates_->Refresh(reader);
  if (!refreshed.ok()) {
    return Error(req, http::status::service_unavailable, refreshed.message());
  }
  if (params.count("next")) {
    auto from = ListSpec::FromToken(params["next"]);
    if (!from || from->collection != *collection) {
      return Error(req, http::status::bad_request, "bad next token");
    }
    spec = *from;
  } else {
    spec.collection = *collection;
    if (params.count("added_after")) {
      auto t = ParseTaxiiTime(params["added_after"]);
      if (!t) return Error(req, http::status::bad_request, "bad added_after");
      spec.after_seq = dates_->SeqAfter(*t);
    }
    if (params.count("match[type]")) spec.types = SplitComma(params["match[type]"]);
    if (params.count("match[id]") && !by_id) spec.ids = SplitComma(params["match[id]"]);
    if (params.count("match[version]")) spec.version = params["match[version]"];
    spec.limit = options_.page_size_max;
    if (params.count("limit")) {
      try {
        long long l = std::stoll(params["limit"]);
        if (l < 1) throw std::invalid_argument("limit");
        spec.limit = std::min<size_t>(static_cast<size_t>(l),
                                      options_.page_size_max);
      } catch (const std::exception&) {
        return Error(req, http::status::bad_request, "bad limit");
      }
    }
  }
  if (spec.version != "last" && spec.version != "first" &&
      spec.version != "all" && !ParseTaxiiTime(spec.version)) {
    return Error(req, http::status::bad_request, "bad match[version]");
  }
  const std::set<std::string> types(spec.types.begin(), spec.types.end());
  const std::set<std::string> ids(spec.ids.begin(), spec.ids.end());
  // An object-by-id lookup scans the whole log (ids are not indexed:
  // TODO(perf) keep a STIX id index).
  const size_t budget = by_id ? SIZE_MAX : options_.max_scan;
  std::vector<Listed> listed;
  uint64_t cursor = spec.after_seq;
  size_t scanned = 0;
  const uint64_t last_seq = dates_->LastSeq();
  bool done = false;
  std::map<protocol::IndicatorId, std::optional<store::IndicatorRow>> rows;
  while (!done && cursor < last_seq && scanned < budget &&
         listed.size() < spec.limit) {
    auto page = reader.LogRange(cursor, kLogChunk);
    if (!page.ok()) {
      return Error(req, http::status::service_unavailable,
                   page.status().message());
    }
    if (page->empty()) break;
    for (const auto& rec : *page) {
      if (listed.size() >= spec.limit || scanned >= budget) {
        done = true;
        break;
      }
      cursor = rec.seq;
      ++scanned;
      const bool received = rec.received_from.has_value();
      if (rec.variant != 0 && !received) continue;  // redacted copies for peers
      if (*collection == kCollectionReceived && !received) continue;
      if (*collection == kCollectionOwn && received) continue;
      auto cached = rows.find(rec.id);
      if (cached == rows.end()) {
        auto row = reader.Get(rec.id);
        if (!row.ok()) {
          return Error(req, http::status::service_unavailable,
                       row.status().message());
        }
        if (rows.size() > 10000) rows.clear();
        cached = rows.emplace(rec.id, std::move(*row)).first;
      }
      const auto& row = cached->second;
      if (!row || row->quarantined || row->warning) continue;
      if (spec.version == "last" &&
          (rec.revision != row->revision || rec.variant != row->variant)) {
        continue;
      }
      if (spec.version == "first" && rec.revision != 1) continue;
      auto item = ExportItemFromRecord(rec, row->origin_name,
                                       row->origin_country);
      if (!item.ok()) continue;  // unreadable: never served
      if (item->body.indicator.tlp > account->max_tlp) continue;
      item->first_created = rec.created;
      if (rec.revision != 1) {
        auto revs = reader.GetRevisions(rec.id);
        if (revs.ok() && !revs->empty()) {
          item->first_created = revs->front().created;
        }
      }
      json obj = protocol::StixIndicator(*item);
      if (!types.empty() && !types.count(obj["type"].get<std::string>())) {
        continue;
      }
      if (!ids.empty() && !ids.count(obj["id"].get<std::string>())) continue;
      if (spec.version != "last" && spec.version != "first" &&
          spec.version != "all" && obj["modified"] != spec.version) {
        continue;
      }
      listed.push_back({rec.seq, dates_->DateOf(rec.seq), std::move(obj)});
    }
  }
  const bool more = cursor < last_seq && !by_id;
  if (by_id && listed.empty()) {
    return Error(req, http::status::not_found, "no such object");
  }
  json body = json::object();
  if (more) {
    ListSpec next = spec;
    next.after_seq = cursor;
    body["more"] = true;
    body["next"] = next.Token();
  } else {
    body["more"] = false;
  }
  if (versions) {
    json list = json::array();
    for (const auto& l : listed) list.push_back(l.object["modified"]);
    body["versions"] = list;
  } else if (what == "manifest") {
    json list = json::array();
    for (const auto& l : listed) {
      list.push_back({{"id", l.object["id"]},
                      {"date_added", TaxiiTime(l.date_added)},
                      {"version", l.object["modified"]},
                      {"media_type", "application/stix+json;version=2.1"}});
    }
    if (!list.empty()) body["objects"] = list;
  } else {
    json list = json::array();
    for (auto& l : listed) list.push_back(std::move(l.object));
    if (!list.empty()) body["objects"] = list;
  }
  auto res = Json(req, http::status::ok, body);
  if (!listed.empty()) {
    res.set("X-TAXII-Date-Added-First", TaxiiTime(listed.front().date_added));
    res.set("X-TAXII-Date-Added-Last", TaxiiTime(listed.back().date_added));
  }
  return res;
}

}  // namespace caravan::feeds
