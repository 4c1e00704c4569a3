// Driver for fuzz targets in builds without libFuzzer: runs
// LLVMFuzzerTestOneInput over every file named (or every file in every
// directory named), then over deterministic mutations of each (bit flips,
// truncations, byte insertions), so ctest exercises each target and the
// sanitizers see the paths the corpus reaches.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void RunOne(const std::vector<uint8_t>& input) {
  LLVMFuzzerTestOneInput(input.data(), input.size());
}

void RunWithMutations(std::vector<uint8_t> input, std::mt19937_64& rng) {
  RunOne(input);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint8_t> m = input;
    switch (rng() % 4) {
      case 0:
        if (!m.empty()) m[rng() % m.size()] ^= uint8_t(1u << (rng() % 8));
        break;
      case 1:
        if (!m.empty()) m.resize(rng() % m.size());
        break;
      case 2:
        m.insert(m.begin() + (m.empty() ? 0 : rng() % m.size()),
                 uint8_t(rng()));
        break;
      case 3:
        if (!m.empty()) m[rng() % m.size()] = uint8_t(rng());
        break;
    }
    RunOne(m);
  }
}

std::vector<uint8_t> ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

int main(int argc, char** argv) {
  std::mt19937_64 rng(20261128);
  size_t files = 0;
  RunWithMutations({}, rng);
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
        if (!e.is_regular_file()) continue;
        RunWithMutations(ReadFile(e.path()), rng);
        ++files;
      }
    } else if (std::filesystem::is_regular_file(arg)) {
      RunWithMutations(ReadFile(arg), rng);
      ++files;
    }
  }
  std::printf("replayed %zu corpus files with mutations\n", files);
  return 0;
}
