// `caravan report --html` rendered by a real browser: headless Chromium
// (Debian package chromium, installed by scripts/setup) loads the file
// from disk with no network; the rendered DOM must show the numbers the
// nodes produced and the screenshot must not be blank. Skipped, saying so,
// only when chromium is not installed.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "tests/integration/report_federation.h"

namespace caravan::integration {
namespace {

std::string Chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

// Chromium's flags for a one-shot render of a local file: no sandbox as
// root (it refuses to start otherwise), its own profile directory, no
// network at all.
std::vector<std::string> ChromiumArgs(const std::string& chromium,
                                      const std::filesystem::path& profile) {
  std::vector<std::string> args = {
      chromium, "--headless", "--disable-gpu", "--no-first-run",
      // Containers often have a 64 MiB /dev/shm, too small for its renderer.
      "--disable-dev-shm-usage",
      "--user-data-dir=" + profile.string(), "--proxy-server=127.0.0.1:9",
      "--window-size=1100,1600"};
  if (geteuid() == 0) args.push_back("--no-sandbox");
  return args;
}

// The text of the element with `id` in a dumped DOM ("" if absent).
std::string ById(const std::string& dom, const std::string& id) {
  std::smatch m;
  const std::regex re("id=\"" + id + "\">([^<]*)<");
  return std::regex_search(dom, m, re) ? m[1].str() : "";
}

class ReportHtmlTest : public ReportFederation {};

TEST_F(ReportHtmlTest, RendersTheNumbersInHeadlessChromium) {
  const std::string chromium = Chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/setup installs it): "
                    "the HTML report is not rendered in a browser here";
  }
  ASSERT_NO_FATAL_FAILURE(SetUpNodes());
  const auto dir = uz_->node().dir();
  const auto html = dir / "report.html";
  CommandResult r =
      uz_->Cli({"report", "--since", "1d", "--html", html.string()});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  auto args = ChromiumArgs(chromium, dir / "chromium-profile");
  args.push_back("--dump-dom");
  args.push_back("file://" + html.string());
  CommandResult dom = RunProgram(args, "", std::chrono::seconds(120));
  ASSERT_EQ(dom.exit_code, 0) << dom.Describe();
  // The DOM as the browser built it, not our bytes: the parser closed and
  // laid out every element.
  EXPECT_EQ(ById(dom.out, "total-shared"), "5") << dom.out.substr(0, 4000);
  EXPECT_EQ(ById(dom.out, "total-withheld"), "2");
  EXPECT_EQ(ById(dom.out, "total-accepted"), "2");
  EXPECT_EQ(ById(dom.out, "total-quarantined"), "0");
  EXPECT_NE(dom.out.find("<svg id=\"chart-days\""), std::string::npos);
  EXPECT_NE(dom.out.find("<td>CERT-KZ</td><td>KZ</td><td class=\"n\">5</td>"),
            std::string::npos);

  const auto png = dir / "report.png";
  args = ChromiumArgs(chromium, dir / "chromium-profile");
  args.push_back("--screenshot=" + png.string());
  args.push_back("file://" + html.string());
  CommandResult shot = RunProgram(args, "", std::chrono::seconds(120));
  ASSERT_EQ(shot.exit_code, 0) << shot.Describe();
  ASSERT_TRUE(std::filesystem::exists(png)) << shot.Describe();
  CommandResult check = RunProgram(
      {"/usr/bin/python3", CARAVAN_PNG_CHECK, png.string(), "8", "2.0"});
  EXPECT_EQ(check.exit_code, 0) << check.Describe() << check.out;
}

}  // namespace
}  // namespace caravan::integration
