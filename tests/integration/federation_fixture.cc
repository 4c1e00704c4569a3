#include "tests/integration/federation_fixture.h"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

namespace caravan::integration {
namespace {

// Replaces the value of `key` inside `[section]` of a caravand.toml text.
// False if the section or key is missing.
bool SetKey(std::string* toml, const std::string& section,
            const std::string& key, const std::string& value) {
  const size_t start = toml->find("\n[" + section + "]");
  if (start == std::string::npos) return false;
  const size_t line = toml->find("\n" + key + " = ", start + 1);
  const size_t next_section = toml->find("\n[", start + 1);
  if (line == std::string::npos ||
      (next_section != std::string::npos && line > next_section)) {
    return false;
  }
  const size_t end = toml->find('\n', line + 1);
  toml->replace(line + 1, end - line - 1, key + " = " + value);
  return true;
}

}  // namespace

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

FedNode::FedNode(const std::string& name, const std::string& country)
    : name_(name),
      country_(country),
      node_(std::make_unique<TestNode>(name, country)) {
  if (node_->init_result().exit_code != 0) {
    why_ = "caravan init: " + node_->init_result().Describe();
    return;
  }
  port_ = FreeLoopbackPort();
  if (!RewriteConfig()) return;
  ok_ = true;
}

bool FedNode::ReadKey(std::string* why) {
  // `key show` asks the daemon, so this runs after the first start.
  CommandResult k = node_->Cli({"--json", "key", "show"});
  auto doc = nlohmann::json::parse(k.out, nullptr, false);
  if (k.exit_code != 0 || doc.is_discarded() || !doc.contains("key")) {
    *why = "caravan key show: " + k.Describe();
    return false;
  }
  key_ = doc["key"].get<std::string>();
  return true;
}

bool FedNode::RewriteConfig() {
  std::string toml = ReadFile(node_->config());
  // Quick redial and keepalive: a restarted or killed peer is found again
  // within about a second instead of the production backoff of minutes.
  if (!SetKey(&toml, "peers", "listen", "\"" + endpoint() + "\"") ||
      !SetKey(&toml, "peers", "dial_backoff_max", "\"1s\"") ||
      !SetKey(&toml, "peers", "keepalive", "\"2s\"") ||
      !SetKey(&toml, "store", "synchronous", "\"normal\"")) {
    why_ = "caravand.toml lacks a [peers] or [store] key this fixture sets:\n" +
           toml;
    return false;
  }
  WriteFile(node_->config(), toml);
  return true;
}

bool FedNode::Start(std::string* why) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (node_->Start(why)) return key_.empty() ? ReadKey(why) : true;
    // The port may have been taken between FreeLoopbackPort and the bind.
    if (why->find("listen") == std::string::npos &&
        why->find("in use") == std::string::npos) {
      return false;
    }
    port_ = FreeLoopbackPort();
    if (!RewriteConfig()) {
      *why = why_;
      return false;
    }
  }
  return false;
}

void FedNode::WritePolicy(const std::string& file,
                          const std::string& text) const {
  WriteFile(node_->dir() / "policies" / file, text);
}

namespace {

// The common head of the policies the tests write: share up to a ceiling.
std::string SharePolicyText(const std::string& applies_to_line,
                            const std::string& max_tlp,
                            const std::string& more) {
  return applies_to_line + "[outbound]\nshare = true\nmax_tlp = \"" +
         max_tlp + "\"\n" + more;
}

}  // namespace

void FedNode::ShareWith(const std::string& country, const std::string& max_tlp,
                        const std::string& more) const {
  std::string file = country;
  for (auto& c : file) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  WritePolicy(file + ".toml",
              SharePolicyText("applies_to = [\"" + country + "\"]\n",
                              max_tlp, more));
}

void FedNode::ShareWithAll(const std::string& max_tlp,
                           const std::string& more) const {
  WritePolicy("default.toml", SharePolicyText("", max_tlp, more));
}

int64_t FedNode::Count() const {
  CommandResult r = node_->Cli({"--json", "status"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded()) return -1;
  return doc["counts"]["indicators"].get<int64_t>();
}

int64_t FedNode::LogSeq() const {
  CommandResult r = node_->Cli({"--json", "status"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded()) return -1;
  return doc["counts"]["log_seq"].get<int64_t>();
}

nlohmann::json FedNode::PeerState(const std::string& peer) const {
  CommandResult r = node_->Cli({"--json", "status"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded()) return nullptr;
  for (const auto& p : doc["peers"]) {
    if (p["name"] == peer) return p;
  }
  return nullptr;
}

bool FedNode::Settled(const std::string& peer) const {
  CommandResult r = node_->Cli({"--json", "status"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded()) return false;
  const int64_t log_seq = doc["counts"]["log_seq"].get<int64_t>();
  for (const auto& p : doc["peers"]) {
    if (p["name"] == peer) {
      return p["link"] == "up" && p["acked_seq"].get<int64_t>() >= log_seq;
    }
  }
  return false;
}

std::multiset<std::string> FedNode::Values() const {
  CommandResult r =
      node_->Cli({"export", "--format", "plain", "--include-revoked"});
  EXPECT_EQ(r.exit_code, 0) << "export at " << name_ << ": " << r.Describe();
  std::multiset<std::string> values;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) values.insert(line);
  }
  return values;
}

nlohmann::json FedNode::Lookup(const std::string& value) const {
  CommandResult r =
      node_->Cli({"--json", "query", value, "--include-revoked"});
  if (r.exit_code == 3) return nullptr;  // no match
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded() || doc["indicators"].empty()) {
    ADD_FAILURE() << "query " << value << " at " << name_ << ": "
                  << r.Describe();
    return nullptr;
  }
  return doc["indicators"][0];
}

std::vector<nlohmann::json> FedNode::Audit(size_t limit,
                                           const std::string& peer) const {
  std::vector<std::string> args = {"--json", "audit", "--limit",
                                   std::to_string(limit)};
  if (!peer.empty()) {
    args.push_back("--peer");
    args.push_back(peer);
  }
  CommandResult r = node_->Cli(args);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded()) {
    ADD_FAILURE() << "audit at " << name_ << ": " << r.Describe();
    return {};
  }
  return doc["entries"].get<std::vector<nlohmann::json>>();
}

bool FedNode::AuditVerifies() const {
  CommandResult r = node_->Cli({"--json", "audit", "verify"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  return r.exit_code == 0 && !doc.is_discarded() && doc["ok"] == true;
}

void AddPeer(const FedNode& a, const FedNode& b, bool dial) {
  std::vector<std::string> args = {"peers",     "add",     b.name(),
                                   "--country", b.country(), "--key",
                                   b.key()};
  if (dial) {
    args.push_back("--endpoint");
    args.push_back(b.endpoint());
  }
  CommandResult r = a.Cli(args);
  EXPECT_EQ(r.exit_code, 0) << a.name() << " peers add " << b.name() << ": "
                            << r.Describe();
}

void Connect(const FedNode& a, const FedNode& b) {
  AddPeer(a, b);
  AddPeer(b, a);
}

FedNode& FederationFixture::Make(const std::string& name,
                                 const std::string& country) {
  nodes_.push_back(std::make_unique<FedNode>(name, country));
  FedNode& n = *nodes_.back();
  EXPECT_TRUE(n.ok()) << n.why();
  return n;
}

void FederationFixture::StartAll() {
  for (auto& n : nodes_) {
    std::string why;
    ASSERT_TRUE(n->Start(&why)) << n->name() << ": " << why;
  }
}

void FederationFixture::StartAllAndConnect(const FedNode& a,
                                           const FedNode& b) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(a, b);
}

int64_t ParseTime(const nlohmann::json& t) {
  if (!t.is_string()) return -1;
  struct tm tm {};
  if (strptime(t.get<std::string>().c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) ==
      nullptr) {
    return -1;
  }
  return timegm(&tm);
}

std::string FederationFixture::Submit(FedNode& n,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"submit"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = n.Cli(argv);
  EXPECT_EQ(r.exit_code, 0) << "submit at " << n.name() << ": "
                            << r.Describe();
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void FederationFixture::WaitSettled(const FedNode& from, const FedNode& to) {
  ASSERT_TRUE(WaitFor([&] { return from.Settled(to.name()); }))
      << from.name() << " -> " << to.name() << " did not settle; state "
      << from.PeerState(to.name()).dump() << "\n"
      << from.name() << " status " << from.CliJson({"status"}).dump() << "\n"
      << from.name() << " log:\n"
      << from.node().LogText() << "\n"
      << to.name() << " log:\n"
      << to.node().LogText();
}

void FederationFixture::TearDown() {
  for (auto& n : nodes_) {
    if (n->node().running()) {
      EXPECT_EQ(n->Stop(), 0) << n->name() << " log:\n"
                              << n->node().LogText();
    }
  }
}

void ActOnNotices(const FedNode& n, const std::string& how) {
  const auto path = n.node().config();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  const std::string from = "act_on_compromise_notices = \"flag\"";
  const auto at = s.find(from);
  ASSERT_NE(at, std::string::npos) << "caravan init did not render the key";
  s.replace(at, from.size(), "act_on_compromise_notices = \"" + how + "\"");
  std::ofstream(path) << s;
}

void WriteLinesFile(const std::filesystem::path& path,
                    const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  WriteFile(path, text);
}

}  // namespace caravan::integration
