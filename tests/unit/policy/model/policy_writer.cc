#include "tests/unit/policy/model/policy_writer.h"

namespace caravan::policy::model {
namespace {

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string QuotedList(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i)
    s += (i ? ", " : "") + Quoted(items[i]);
  return s + "]";
}

// Appends `line` to `text` and returns its 1-based number.
int Append(std::string& text, const std::string& line) {
  text += line + "\n";
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

std::string FileText(File& f, Spelling& sp) {
  std::string t;
  if (!f.applies_to.empty())
    Append(t, "applies_to = " + QuotedList(f.applies_to));
  if (f.outbound) {
    f.outbound->lines.clear();
    Append(t, "[outbound]");
    for (const auto& [key, value] : sp.outbound[f.name]) {
      f.outbound->lines["outbound." + key] = Append(t, key + " = " + value);
    }
  }
  if (sp.inbound_table[f.name]) Append(t, "[inbound]\naccept = true");
  return t;
}

}  // namespace

std::map<std::string, std::string> WriteToml(Written& w) {
  std::map<std::string, std::string> files;
  files[w.policy.default_file.name] =
      FileText(w.policy.default_file, w.spelling);
  for (File& f : w.policy.scopes) files[f.name] = FileText(f, w.spelling);
  if (!w.policy.groups.empty() || w.spelling.groups_file) {
    std::string t = "[groups]\n";
    for (const auto& [g, members] : w.policy.groups)
      t += g + " = " + QuotedList(members) + "\n";
    files["groups.toml"] = t;
  }
  if (w.policy.protected_assets) {
    Protected& pa = *w.policy.protected_assets;
    std::string t;
    pa.lines.clear();
    pa.lines["cidrs"] =
        Append(t, "cidrs = " + QuotedList(w.spelling.cidrs_text));
    pa.lines["domain_suffixes"] =
        Append(t, "domain_suffixes = " + QuotedList(w.spelling.suffixes_text));
    std::string asns = "asns = [";
    for (size_t i = 0; i < pa.asns.size(); ++i) {
      asns += (i ? ", " : "") + std::to_string(pa.asns[i]);
    }
    pa.lines["asns"] = Append(t, asns + "]");
    files["protected.toml"] = t;
  }
  return files;
}

void ResetOutboundKey(Outbound& o, const std::string& key) {
  const Outbound d;
  if (key == "share") o.share = d.share;
  if (key == "max_tlp") o.max_tlp = d.max_tlp;
  if (key == "types") o.types = d.types;
  if (key == "min_confidence") o.min_confidence = d.min_confidence;
  if (key == "exclude_tags") o.exclude_tags = d.exclude_tags;
  if (key == "require_tags") o.require_tags = d.require_tags;
  if (key == "redact") o.redact = d.redact;
  if (key == "embargo") o.embargo = d.embargo;
  if (key == "reshare") o.reshare = d.reshare;
  if (key == "max_per_day") o.max_per_day = d.max_per_day;
}

}  // namespace caravan::policy::model
