// Unit tests of base/suggest.hpp: the "did you mean" candidate (edit distance at most 2, or the
// word a prefix of it), checked on examples and against an edit distance computed here.
#define BOOST_TEST_MODULE suggest
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/base/suggest.hpp"

namespace {

using sfcrime::suggest;
using Words = std::vector<std::string_view>;

const Words kCommands = {"produce", "consume", "aggregate", "inspect", "topic", "group", "config"};

/// Levenshtein distance (insert, delete, substitute), the full table.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j)
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
  return d[a.size()][b.size()];
}

/// How close `c` is to `word` by the documented rule: 0 when `word` (two letters or more) is a
/// prefix of it, else the edit distance.
std::size_t closeness(std::string_view word, std::string_view c) {
  if (word.size() >= 2 && c.substr(0, word.size()) == word) return 0;
  return distance(word, c);
}

}  // namespace

BOOST_AUTO_TEST_CASE(typos_within_two_edits) {
  BOOST_TEST(suggest("produse", kCommands) == "produce");     // substitution
  BOOST_TEST(suggest("agregate", kCommands) == "aggregate");  // deletion
  BOOST_TEST(suggest("consumee", kCommands) == "consume");    // insertion
  BOOST_TEST(suggest("tpoic", kCommands) == "topic");         // a swap is two edits
  BOOST_TEST(suggest("grp", kCommands) == "group");           // two deletions
}

BOOST_AUTO_TEST_CASE(prefixes_of_two_letters_or_more) {
  BOOST_TEST(suggest("agg", kCommands) == "aggregate");
  BOOST_TEST(suggest("insp", kCommands) == "inspect");
  BOOST_TEST(suggest("to", kCommands) == "topic");
  BOOST_TEST(suggest("a", kCommands) == "");  // one letter is no prefix worth suggesting
}

BOOST_AUTO_TEST_CASE(nothing_close) {
  BOOST_TEST(suggest("xyzzy", kCommands) == "");
  BOOST_TEST(suggest("produceeee", kCommands) == "");  // three edits
  BOOST_TEST(suggest("anything", Words{}) == "");
  BOOST_TEST(suggest("", Words{"abc"}) == "");  // three edits from nothing
}

BOOST_AUTO_TEST_CASE(the_closest_candidate_wins) {
  BOOST_TEST(suggest("delte", Words{"describe", "delete"}) == "delete");
  BOOST_TEST(suggest("lst", Words{"last", "list", "lost"}) != "");
  BOOST_TEST(suggest("appnd", Words{"update", "append"}) == "append");
  BOOST_TEST(suggest("conf", Words{"cone", "config"}) == "config");  // a prefix beats one edit
}

BOOST_AUTO_TEST_CASE(agrees_with_an_independent_distance) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> len(0, 6), letter(0, 3), n(0, 5);
  const auto word = [&] {
    std::string s(static_cast<std::size_t>(len(rng)), 'a');
    for (char& c : s) c = static_cast<char>('a' + letter(rng));
    return s;
  };
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::string> owned;
    for (int k = n(rng); k > 0; --k) owned.push_back(word());
    const Words candidates(owned.begin(), owned.end());
    const std::string w = word();
    std::size_t best = 3;
    for (std::string_view c : candidates) best = std::min(best, closeness(w, c));
    const std::string got = suggest(w, candidates);
    if (best > 2) {
      BOOST_TEST_REQUIRE(got == "", "'" << w << "' got '" << got << "'");
    } else {
      BOOST_TEST_REQUIRE((std::find(candidates.begin(), candidates.end(), got) != candidates.end()), w);
      BOOST_TEST_REQUIRE(closeness(w, got) == best, "'" << w << "' got '" << got << "'");
    }
  }
}
