#pragma once
// kSanitized: true in an ASan build (about 10x slower), so long tests can
// scale their counts down and stay within the suite's time budget.

namespace caravan::integration {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace caravan::integration
