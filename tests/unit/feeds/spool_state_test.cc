// Spool progress markers (daemon/feeds/spool_state.h): exact round trip,
// strict parsing, atomic replacement.
#include "daemon/feeds/spool_state.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace caravan::feeds {
namespace {

namespace fs = std::filesystem;

SpoolProgress Sample() {
  SpoolProgress p;
  p.position = 12000;
  p.report_bytes = 345;
  p.accepted = 11990;
  p.rejected = 10;
  p.inode = 987654321;
  p.size = 1ull << 33;
  p.format = "csv";
  return p;
}

TEST(SpoolStateTest, FormatParseRoundTrip) {
  SpoolProgress p = Sample();
  auto back = ParseSpoolProgress(FormatSpoolProgress(p));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, p);
  p.final_dir = "failed";
  p.final_name = "feed.1.csv";
  back = ParseSpoolProgress(FormatSpoolProgress(p));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, p);
  EXPECT_EQ(FormatSpoolProgress(SpoolProgress()),
            "caravan-spool-progress 1\nposition 0\nreport_bytes 0\n"
            "accepted 0\nrejected 0\ninode 0\nsize 0\nformat \n"
            "final_dir \nfinal_name \n");
}

TEST(SpoolStateTest, ParseIsStrict) {
  const std::string good = FormatSpoolProgress(Sample());
  auto fails = [](const std::string& text, const std::string& what) {
    auto r = ParseSpoolProgress(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(what), std::string::npos)
        << r.status().message();
  };
  fails("", "missing 'position'");
  fails("caravan-spool-progress 2\n", "line 1");
  fails(good.substr(0, good.size() - 1), "not terminated");
  std::string t = good;
  t.replace(t.find("position 12000"), 14, "position 12x00");
  fails(t, "'position' is not a number");
  t = good;
  t.replace(t.find("position 12000"), 14, "position -1");
  fails(t, "'position' is not a number");
  fails(good + "extra 1\n", "unknown key 'extra'");
  fails(good + "position 1\n", "duplicate key 'position'");
  t = good;
  t.replace(t.find("final_dir \nfinal_name \n"), 23,
            "final_dir elsewhere\nfinal_name x\n");
  fails(t, "final_dir");
  t = good;
  t.replace(t.find("final_dir \nfinal_name \n"), 23,
            "final_dir done\nfinal_name ../../etc\n");
  fails(t, "bad final_name");
  t = good;
  t.replace(t.find("final_dir \nfinal_name \n"), 23,
            "final_dir done\nfinal_name \n");
  fails(t, "bad final_name");
  fails(std::string(kMaxSpoolProgressBytes + 1, 'x'), "larger than");
}

TEST(SpoolStateTest, WriteThenReadAndMissingIsNullopt) {
  std::string tmpl = (fs::temp_directory_path() / "spool-state-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  const fs::path marker = dir / "f.progress";
  auto missing = ReadSpoolProgress(marker);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(WriteSpoolProgress(marker, Sample()).ok());
  SpoolProgress next = Sample();
  next.position = 13000;
  ASSERT_TRUE(WriteSpoolProgress(marker, next).ok());
  auto read = ReadSpoolProgress(marker);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(**read, next);
  EXPECT_FALSE(fs::exists(dir / "f.progress.tmp"));

  { std::ofstream(marker) << "junk"; }
  auto corrupt = ReadSpoolProgress(marker);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.status().message().find(marker.string()), std::string::npos);

  // A directory that does not exist: the error names the path.
  Status s = WriteSpoolProgress(dir / "no" / "f.progress", Sample());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find((dir / "no").string()), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace caravan::feeds
