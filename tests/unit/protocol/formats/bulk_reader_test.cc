#include "protocol/formats/bulk_reader.h"

#include <gtest/gtest.h>

#include <sstream>
#include <streambuf>

namespace caravan::protocol {
namespace {

std::vector<BulkItem> ReadAll(const std::string& text, BulkFormat f) {
  std::istringstream in(text);
  BulkReader r(in, f);
  std::vector<BulkItem> items;
  BulkItem item;
  while (r.Next(&item)) items.push_back(item);
  return items;
}

TEST(BulkFormat, Names) {
  EXPECT_EQ(ParseBulkFormat("CSV"), BulkFormat::kCsv);
  EXPECT_EQ(ParseBulkFormat("ndjson"), BulkFormat::kJsonl);
  EXPECT_EQ(ParseBulkFormat("txt"), BulkFormat::kTxt);
  EXPECT_FALSE(ParseBulkFormat("stix").has_value());
  EXPECT_EQ(BulkFormatFromPath("/tmp/x/feed.JSONL"), BulkFormat::kJsonl);
  EXPECT_EQ(BulkFormatFromPath("ips.txt"), BulkFormat::kTxt);
  EXPECT_EQ(BulkFormatFromPath("a.b/c.csv"), BulkFormat::kCsv);
  EXPECT_FALSE(BulkFormatFromPath("noext").has_value());
  EXPECT_FALSE(BulkFormatFromPath("dir.csv/noext").has_value());
}

TEST(BulkReaderTxt, CommentsBlanksCrlfAndTabs) {
  const auto items = ReadAll(
      "\xEF\xBB\xBF# header\r\n1.2.3.4\r\n\r\n   \n  evil[.]example  \n"
      "5.6.7.8\t3\n#x\nlast-no-newline.example",
      BulkFormat::kTxt);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].value, "1.2.3.4");
  EXPECT_EQ(items[0].line, 2u);
  EXPECT_EQ(items[1].value, "evil[.]example");  // raw: the daemon refangs
  EXPECT_EQ(items[1].line, 5u);
  EXPECT_EQ(items[2].value, "5.6.7.8");  // ipsum "IP<TAB>count"
  EXPECT_EQ(items[2].line, 6u);
  EXPECT_EQ(items[3].value, "last-no-newline.example");
  EXPECT_EQ(items[3].line, 8u);
  for (const auto& i : items) EXPECT_FALSE(i.error.has_value());
}

TEST(BulkReaderTxt, OverlongLineIsSkippedAndReaderResyncs) {
  std::string text = "a.example\n" + std::string(kMaxBulkLineBytes + 10, 'x') +
                     "\nb.example\n";
  const auto items = ReadAll(text, BulkFormat::kTxt);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].value, "a.example");
  ASSERT_TRUE(items[1].error.has_value());
  EXPECT_NE(items[1].error->find("longer than 65536"), std::string::npos);
  EXPECT_EQ(items[1].line, 2u);
  EXPECT_EQ(items[2].value, "b.example");
  EXPECT_EQ(items[2].line, 3u);
}

TEST(BulkReaderTxt, EmptyInput) {
  EXPECT_TRUE(ReadAll("", BulkFormat::kTxt).empty());
  EXPECT_TRUE(ReadAll("# only\n\n", BulkFormat::kTxt).empty());
}

TEST(BulkReaderCsv, QuotingAndFields) {
  const auto items = ReadAll(
      "Value,type,TLP,confidence,tags,description,valid_until,reshare\r\n"
      "1.2.3.4,ipv4,amber,80,apt;phishing; ,\"a, \"\"quoted\"\" one\","
      "2026-01-02T03:04:05Z,direct\r\n"
      "\"evil.example\",,,,,\"multi\nline\",,\n"
      "# comment between records\n"
      "x.example,domain,green,,,,1767323045,\n",
      BulkFormat::kCsv);
  ASSERT_EQ(items.size(), 3u);
  const BulkItem& a = items[0];
  ASSERT_FALSE(a.error.has_value()) << *a.error;
  EXPECT_EQ(a.line, 2u);
  EXPECT_EQ(a.value, "1.2.3.4");
  EXPECT_EQ(a.type, "ipv4");
  EXPECT_EQ(a.tlp, "amber");
  EXPECT_EQ(a.confidence, 80);
  EXPECT_EQ(a.tags, (std::vector<std::string>{"apt", "phishing"}));
  EXPECT_EQ(a.description, "a, \"quoted\" one");
  EXPECT_EQ(a.valid_until, 1767323045);
  EXPECT_EQ(a.reshare, "direct");
  const BulkItem& b = items[1];
  ASSERT_FALSE(b.error.has_value()) << *b.error;
  EXPECT_EQ(b.line, 3u);
  EXPECT_EQ(b.description, "multi\nline");
  EXPECT_EQ(b.confidence, -1);
  EXPECT_EQ(items[2].line, 6u);  // the quoted newline counted as a line
  EXPECT_EQ(items[2].valid_until, 1767323045);
}

TEST(BulkReaderCsv, ErrorsWithLineNumbers) {
  const auto items = ReadAll(
      "value,confidence,valid_until\n"
      "a.example,101,\n"
      "b.example,x,\n"
      "c.example,5,30d\n"
      "d.example,5\n"
      "\"e.example\"x,5,\n"
      "f\"oo,5,\n"
      ",5,\n"
      "g.example,5,\n",
      BulkFormat::kCsv);
  ASSERT_EQ(items.size(), 8u);
  const std::vector<std::pair<uint64_t, std::string>> want = {
      {2, "confidence '101' is not an integer 0..100"},
      {3, "confidence 'x'"},
      {4, "valid_until: time '30d'"},
      {5, "has 2 fields, the header has 3"},
      {6, "text after a closing quote"},
      {7, "quote inside an unquoted field"},
      {8, "value is empty"},
  };
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(items[i].line, want[i].first);
    ASSERT_TRUE(items[i].error.has_value()) << i;
    EXPECT_NE(items[i].error->find(want[i].second), std::string::npos)
        << *items[i].error;
  }
  EXPECT_FALSE(items[7].error.has_value());
  EXPECT_EQ(items[7].value, "g.example");
  EXPECT_EQ(items[7].line, 9u);
}

TEST(BulkReaderCsv, HeaderProblemsStopTheReader) {
  for (const auto& [text, reason] : std::vector<std::pair<std::string, std::string>>{
           {"value,colour\nx.example,red\n", "unknown column 'colour'"},
           {"type,tlp\nipv4,red\n", "no 'value' column"},
           {"value,Value\nx,y\n", "duplicate column 'value'"},
           {"\"value\n", "unterminated quoted field"},
       }) {
    const auto items = ReadAll(text, BulkFormat::kCsv);
    ASSERT_EQ(items.size(), 1u) << text;
    EXPECT_EQ(items[0].line, 1u);
    ASSERT_TRUE(items[0].error.has_value());
    EXPECT_NE(items[0].error->find(reason), std::string::npos) << *items[0].error;
  }
}

TEST(BulkReaderCsv, UnterminatedQuoteDoesNotSwallowTheFileUnbounded) {
  std::string text = "value\n\"" + std::string(kMaxBulkLineBytes + 5, 'a') +
                     "\nok.example\n";
  const auto items = ReadAll(text, BulkFormat::kCsv);
  ASSERT_EQ(items.size(), 2u);
  ASSERT_TRUE(items[0].error.has_value());
  EXPECT_NE(items[0].error->find("longer than"), std::string::npos);
  EXPECT_EQ(items[1].value, "ok.example");
}

TEST(BulkReaderJsonl, FieldsAndErrors) {
  const auto items = ReadAll(
      R"({"value":"1.2.3.4","type":"ipv4","tlp":"green","confidence":70,"tags":["a","b"],"description":"d","valid_until":"2026-01-02T03:04:05Z","first_seen":100,"reshare":"none"})"
      "\n"
      "{not json\n"
      "\n"
      "[1,2]\n"
      R"({"value":"x.example","colour":"red"})" "\n"
      R"({"value":5})" "\n"
      R"({"value":"y.example","confidence":"high"})" "\n"
      R"({"value":"y.example","tags":"a"})" "\n"
      R"({"tlp":"red"})" "\n"
      R"({"value":"y.example","last_seen":"soon"})" "\n"
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
      R"({"value":"z.example","description":null})" "\n",
      BulkFormat::kJsonl);
  ASSERT_EQ(items.size(), 11u);
  const BulkItem& a = items[0];
  ASSERT_FALSE(a.error.has_value()) << *a.error;
  EXPECT_EQ(a.value, "1.2.3.4");
  EXPECT_EQ(a.type, "ipv4");
  EXPECT_EQ(a.tlp, "green");
  EXPECT_EQ(a.confidence, 70);
  EXPECT_EQ(a.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(a.description, "d");
  EXPECT_EQ(a.valid_until, 1767323045);
  EXPECT_EQ(a.first_seen, 100);
  EXPECT_EQ(a.reshare, "none");
  const std::vector<std::pair<uint64_t, std::string>> want = {
      {2, "not valid JSON"},
      {4, "not a JSON object"},
      {5, "unknown field 'colour'"},
      {6, "'value' must be a string"},
      {7, "confidence must be an integer"},
      {8, "tags must be an array"},
      {9, "missing or empty 'value'"},
      {10, "last_seen: time 'soon'"},
      {11, "nested too deeply"},
  };
  for (size_t i = 0; i < want.size(); ++i) {
    const BulkItem& it = items[i + 1];
    EXPECT_EQ(it.line, want[i].first);
    ASSERT_TRUE(it.error.has_value()) << want[i].second;
    EXPECT_NE(it.error->find(want[i].second), std::string::npos) << *it.error;
  }
  EXPECT_FALSE(items[10].error.has_value());
  EXPECT_EQ(items[10].value, "z.example");
  EXPECT_EQ(items[10].line, 12u);
}

// Produces `lines` lines on demand, so the whole input never exists in
// memory: the reader must stream.
class GeneratedLines : public std::streambuf {
 public:
  explicit GeneratedLines(int lines) : remaining_(lines) {}

 protected:
  int_type underflow() override {
    if (remaining_ == 0) return traits_type::eof();
    --remaining_;
    current_ = std::to_string(n_ / 65536 % 256) + "." +
               std::to_string(n_ / 256 % 256) + "." +
               std::to_string(n_ % 256) + ".1\n";
    ++n_;
    setg(current_.data(), current_.data(), current_.data() + current_.size());
    return traits_type::to_int_type(current_[0]);
  }

 private:
  int remaining_;
  int n_ = 0;
  std::string current_;
};

TEST(BulkReaderTxt, Streams100kLines) {
  GeneratedLines gen(100000);
  std::istream in(&gen);
  BulkReader r(in, BulkFormat::kTxt);
  BulkItem item;
  uint64_t count = 0;
  std::string last;
  while (r.Next(&item)) {
    ++count;
    last = item.value;
    ASSERT_FALSE(item.error.has_value());
    ASSERT_EQ(item.line, count);
  }
  EXPECT_EQ(count, 100000u);
  EXPECT_EQ(last, "1.134.159.1");  // 99999 = 1*65536 + 134*256 + 159
}

}  // namespace
}  // namespace caravan::protocol
