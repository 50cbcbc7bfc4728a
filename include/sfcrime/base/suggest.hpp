#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sfcrime {

/// The candidate closest to a mistyped `word` (edit distance at most 2, or `word` a prefix of it),
/// or "" when none is close: for "did you mean ...?" messages, as git does.
std::string suggest(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace sfcrime
