#include "daemon/feeds/taxii_handler.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "daemon/feeds/export_item.h"
#include "daemon/feeds/taxii_add_status.h"
#include "daemon/feeds/taxii_envelope.h"
#include "daemon/feeds/taxii_lookup.h"
#include "protocol/indicator_parse.h"
#include "protocol/record_codec.h"
#include "protocol/formats/stix.h"
#include "protocol/formats/stix_json_writer.h"
#include "protocol/time_text.h"

namespace caravan::feeds {
namespace {

using nlohmann::json;

constexpr size_t kLogChunk = 2000;
// Smallest log read while a page fills: a filter that drops most records
// still reads in useful chunks.
constexpr size_t kMinLogChunk = 100;
// Log times read per query while the date index catches up (no bytes).
constexpr size_t kDateChunk = 10000;
// Ids one match[id] may name (each is a few index probes).
constexpr size_t kMaxMatchIds = 1000;

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
      auto page = reader.LogTimes(after, kDateChunk);
      if (!page.ok()) return page.status();
      for (const auto& rec : *page) {
        int64_t d = rec.stored_at * 1000000;
        if (!dates.empty()) d = std::max(d, dates.back() + 1);
        seqs.push_back(rec.seq);
        dates.push_back(d);
      }
      if (page->size() < kDateChunk) return Status::Ok();
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
      dates_(std::make_unique<DateIndex>()),
      tokens_(std::make_unique<PageTokenSealer>()) {}

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
    // Removed members' records stay out unless configured (issue 16).
    store::MemberTrust departed;
    if (!options_.include_removed) {
      auto trust = reader.GetMemberTrust();
      if (!trust.ok()) {
        return Error(req, http::status::service_unavailable,
                     trust.status().message());
      }
      departed = std::move(*trust);
    }
    for (;;) {
      auto page = reader.Query(filter);
      if (!page.ok()) {
        return Error(req, http::status::service_unavailable,
                     page.status().message());
      }
      for (const auto& row : page->rows) {
        if (row.indicator.tlp > account->max_tlp || row.warning) continue;
        if (departed.IsDeparted(row.origin)) continue;
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
    return AddObjects(req, *account, reader);
  }

  // ---- listings ----
  PageSpec spec;
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
  if (params.count("next") && !by_id) {
    auto from = tokens_->Open(params["next"], account->name);
    if (!from.ok()) {
      return Error(req, http::status::bad_request, "bad next token",
                   from.status().message());
    }
    if (from->collection != *collection) {
      return Error(req, http::status::bad_request, "bad next token",
                   "the token continues a listing of collection '" +
                       from->collection + "', not '" + *collection + "'");
    }
    spec = std::move(*from);
    // The token is authentic, but caps are the server's: whatever limit it
    // carries (or a `limit` given beside it), at most page_size_max.
    spec.limit = std::clamp<size_t>(spec.limit, 1, options_.page_size_max);
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
  if (spec.ids.size() > kMaxMatchIds) {
    return Error(req, http::status::bad_request, "too many ids",
                 "match[id] names at most " + std::to_string(kMaxMatchIds) +
                     " ids");
  }
  std::optional<int64_t> version_time;
  if (spec.version != "last" && spec.version != "first" &&
      spec.version != "all") {
    version_time = ParseTaxiiTime(spec.version);
    if (!version_time) {
      return Error(req, http::status::bad_request, "bad match[version]");
    }
  }
  const std::set<std::string> types(spec.types.begin(), spec.types.end());
  const bool want_objects = !versions && what == "objects";
  protocol::StixOriginTexts origin_texts;  // one origin's texts at a time

  // One log record as the object version this request serves, or nullopt
  // when the collection, the caller's TLP ceiling, quarantine, a warninglist
  // hit or the version and type filters leave it out. The caller's caps
  // come from `account`, never from a token. Takes the record's bytes.
  // Removed members' records stay out unless configured (issue 16).
  store::MemberTrust departed;
  if (!options_.include_removed) {
    auto trust = reader.GetMemberTrust();
    if (!trust.ok()) {
      return Error(req, http::status::service_unavailable,
                   trust.status().message());
    }
    departed = std::move(*trust);
  }
  auto serve = [&](store::Reader::ServableRecord& s)
      -> std::optional<ListedObject> {
    const store::StoredRecord& rec = s.record;
    if (!s.has_current) return std::nullopt;
    if (departed.IsDeparted(rec.origin)) return std::nullopt;
    const bool received = rec.received_from.has_value();
    if (rec.variant != 0 && !received) return std::nullopt;  // peers' copies
    if (*collection == kCollectionReceived && !received) return std::nullopt;
    if (*collection == kCollectionOwn && received) return std::nullopt;
    if (s.quarantined || s.warning) return std::nullopt;
    if (spec.version == "last" && (rec.revision != s.current_revision ||
                                   rec.variant != s.current_variant)) {
      return std::nullopt;
    }
    if (spec.version == "first" && rec.revision != 1) return std::nullopt;
    const uint64_t seq = rec.seq;
    auto item = ExportItemFromRecord(std::move(s.record),
                                     std::move(s.origin_name),
                                     std::move(s.origin_country));
    if (!item.ok()) return std::nullopt;  // unreadable: never served
    if (item->body.indicator.tlp > account->max_tlp) return std::nullopt;
    item->first_created = s.first_created;
    if (s.posted_stix_id) item->stix_id = std::move(*s.posted_stix_id);
    protocol::StixObjectHead head = protocol::StixHeadOf(*item);
    if (!types.empty() && !types.count(std::string(head.type))) {
      return std::nullopt;
    }
    if (version_time && head.modified_millis * 1000 != *version_time) {
      return std::nullopt;
    }
    ListedObject listed{seq, dates_->DateOf(seq), std::move(head.id),
                        head.modified_millis, std::string()};
    // Written even when only the id and version are listed: an object
    // with no STIX form (a value no pattern can express) is never listed.
    listed.json.reserve(item->signed_record.size() * 2 + 1024);
    if (!protocol::AppendStixIndicatorJson(*item, listed.json,
                                           &origin_texts)) {
      return std::nullopt;
    }
    if (!want_objects) listed.json.clear();
    return listed;
  };

  std::vector<ListedObject> listed;
  bool more = false;
  uint64_t cursor = spec.after_seq;
  if (!spec.ids.empty()) {
    // By id (objects/ID/, versions/, match[id]): through the indexes
    // (taxii_lookup.h), never the log, so the answer is on the first page.
    auto has_posted = reader.HasPostedStixIds();
    if (!has_posted.ok()) {
      return Error(req, http::status::service_unavailable,
                   has_posted.status().message());
    }
    std::vector<ListedObject> found;
    std::set<protocol::IndicatorId> seen;
    const uint64_t indexed_seq = dates_->LastSeq();
    for (const auto& stix_id : spec.ids) {
      auto hits = FindStixId(reader, stix_id, *has_posted);
      if (!hits.ok()) {
        return Error(req, http::status::service_unavailable,
                     hits.status().message());
      }
      for (const auto& hit : *hits) {
        if (!seen.insert(hit.id).second) continue;
        auto row = reader.Get(hit.id);
        if (!row.ok()) {
          return Error(req, http::status::service_unavailable,
                       row.status().message());
        }
        if (!*row) continue;
        if (!hit.posted && !StixTypeMatches(stix_id, (*row)->indicator.type)) {
          continue;
        }
        auto revs = reader.GetRevisions(hit.id);
        if (!revs.ok()) {
          return Error(req, http::status::service_unavailable,
                       revs.status().message());
        }
        const int64_t first_created = revs->empty() ? 0 : revs->front().created;
        for (auto& rec : *revs) {
          // Records stored since the date index was refreshed have no
          // date_added yet: the next request serves them.
          if (rec.seq <= spec.after_seq || rec.seq > indexed_seq) continue;
          store::Reader::ServableRecord s;
          s.record = std::move(rec);
          s.has_current = true;
          s.current_revision = (*row)->revision;
          s.current_variant = (*row)->variant;
          s.quarantined = (*row)->quarantined;
          s.warning = (*row)->warning;
          s.origin_name = (*row)->origin_name;
          s.origin_country = (*row)->origin_country;
          s.first_created = first_created;
          s.posted_stix_id = stix_id;
          auto obj = serve(s);
          if (obj) found.push_back(std::move(*obj));
        }
      }
    }
    std::sort(found.begin(), found.end(),
              [](const ListedObject& a, const ListedObject& b) {
                return a.seq < b.seq;
              });
    // objects/ID/ answers every version at once (they are few); match[id]
    // pages like any listing.
    const size_t take = by_id ? found.size() : std::min(found.size(), spec.limit);
    more = take < found.size();
    found.resize(take);
    listed = std::move(found);
    if (!listed.empty()) cursor = listed.back().seq;
  } else {
    // Everything else walks the log from the cursor, at most max_scan
    // records per request, each record read with what serving it needs
    // in one statement (Reader::ServableLogRange). A chunk asks for about
    // what the page still lacks, so a full page reads no record twice.
    size_t scanned = 0;
    const uint64_t last_seq = dates_->LastSeq();
    bool done = false;
    while (!done && cursor < last_seq && scanned < options_.max_scan &&
           listed.size() < spec.limit) {
      // The first read asks for exactly what the page lacks; later ones
      // (records were filtered out) for at least kMinLogChunk.
      const size_t lacking = spec.limit - listed.size();
      const size_t chunk = std::min(
          {kLogChunk, options_.max_scan - scanned,
           scanned == 0 ? lacking : std::max(lacking, kMinLogChunk)});
      auto page = reader.ServableLogRange(cursor, chunk);
      if (!page.ok()) {
        return Error(req, http::status::service_unavailable,
                     page.status().message());
      }
      if (page->empty()) break;
      for (auto& s : *page) {
        if (listed.size() >= spec.limit || scanned >= options_.max_scan ||
            s.record.seq > last_seq) {
          done = true;
          break;
        }
        cursor = s.record.seq;
        ++scanned;
        auto obj = serve(s);
        if (obj) listed.push_back(std::move(*obj));
      }
    }
    more = cursor < last_seq;
  }
  if (by_id && listed.empty()) {
    return Error(req, http::status::not_found, "no such object");
  }
  std::string next;
  if (more) {
    PageSpec next_spec = spec;
    next_spec.after_seq = cursor;
    next = tokens_->Seal(next_spec, account->name);
  }
  std::string body = versions           ? VersionsBody(listed, more, next)
                     : what == "manifest" ? ManifestBody(listed, more, next)
                                          : EnvelopeBody(listed, more, next);
  HttpResponse res(http::status::ok, req.version());
  res.set(http::field::content_type, kTaxiiMediaType);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  if (!listed.empty()) {
    res.set("X-TAXII-Date-Added-First", TaxiiTime(listed.front().date_added));
    res.set("X-TAXII-Date-Added-Last", TaxiiTime(listed.back().date_added));
  }
  return res;
}

HttpResponse TaxiiHandler::AddObjects(const HttpRequest& req,
                                      const TaxiiAccount& account,
                                      store::Reader& reader) {
  auto imported = protocol::ImportStixBundle(req.body());
  if (!imported.ok()) {
    return Error(req, http::status::unprocessable_entity, "bad envelope",
                 imported.status().message());
  }
  // Every object as posted, so the status lists each one (ImportStixBundle
  // reports only indicators and vulnerabilities).
  auto objects = ListPostedObjects(req.body(), protocol::kMaxStixBytes);
  if (!objects.ok()) {
    return Error(req, http::status::unprocessable_entity, "bad envelope",
                 objects.status().message());
  }
  std::vector<protocol::BulkItem> items;
  for (const auto& it : imported->items) items.push_back(it.item);
  const auto outcomes = submit_(items, "taxii:" + account.name);

  // How many items each object yielded: a posted id names an indicator
  // only when its object made exactly one (an OR of several values is
  // several indicators, none of which is "the" object).
  std::map<size_t, size_t> per_object;
  for (const auto& it : imported->items) ++per_object[it.item.line];
  std::vector<ItemResult> results(imported->items.size());
  for (size_t i = 0; i < imported->items.size(); ++i) {
    const auto& it = imported->items[i];
    if (i >= outcomes.size()) {
      results[i].error = "not submitted";
      continue;
    }
    results[i].error = outcomes[i].error;
    if (!outcomes[i].error.empty()) continue;
    const protocol::IndicatorId& id = outcomes[i].id;
    auto row = reader.Get(id);
    if (!row.ok() || !*row) continue;  // stored, but not readable here
    if (per_object[it.item.line] == 1 && !it.stix_id.empty()) {
      const std::string derived =
          std::string(it.item.type == "cve" ? "vulnerability--"
                                            : "indicator--") +
          protocol::UuidFromDigest(id);
      if (it.stix_id != derived) {
        Status mapped = store_
                            .Write([&](store::WriteTxn& txn) {
                              return txn.PutStixId(it.stix_id, id);
                            })
                            .get();
        if (!mapped.ok()) {
          results[i].error = "stored, but its id was not kept: " +
                             mapped.message();
          continue;
        }
      }
    }
    auto item = LoadExportItem(reader, **row);
    if (item.ok()) {
      results[i].stored_version =
          protocol::StixIndicator(*item)["modified"].get<std::string>();
    }
  }
  std::array<uint8_t, 16> rnd{};
  randombytes_buf(rnd.data(), rnd.size());
  const std::string status_id = protocol::UuidFromDigest(rnd);
  json status = BuildAddStatus(
      status_id,
      TaxiiTime(static_cast<int64_t>(std::time(nullptr)) * 1000000),
      *objects, *imported, results);
  {
    std::lock_guard lock(status_mu_);
    if (statuses_.size() >= 1000) statuses_.erase(statuses_.begin());
    statuses_[account.name + "/" + status_id] = status.dump();
  }
  return Json(req, http::status::accepted, status);
}

}  // namespace caravan::feeds
