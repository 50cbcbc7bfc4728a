// Unit tests of pipeline/produce_ledger.hpp: SettledPrefix (the longest prefix 1..K of settled
// records, against a direct recomputation over random settle orders), shell_word (POSIX quoting:
// the shell reads back the word) and resume_command (the failed file, the input after the last
// record read, both joined with &&, standard input piped again).
#define BOOST_TEST_MODULE produce_ledger
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "sfcrime/pipeline/produce_ledger.hpp"

namespace {

using sfcrime::ResumeShape;
using sfcrime::SettledPrefix;

/// What /bin/sh makes of `word`: its one argument, printed back.
std::string through_shell(const std::string& word) {
  const std::string cmd = "printf '%s' " + word;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p);
  std::string out;
  char buf[256];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(prefix_is_the_longest_run_of_settled_records_from_one) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = 1 + rng() % 60;
    std::vector<std::uint64_t> order(n);
    std::iota(order.begin(), order.end(), 1);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<int> state(n + 1, 0);  // 0 pending, 1 delivered, 2 other
    SettledPrefix prefix;
    const std::size_t settle = rng() % (n + 1);
    for (std::size_t i = 0; i < settle; ++i) {
      const int how = 1 + static_cast<int>(rng() % 2);
      state[order[i]] = how;
      prefix.settle(order[i], how == 1 ? SettledPrefix::delivered : SettledPrefix::other);
      std::uint64_t k = 0;
      while (k < n && state[k + 1] != 0) ++k;
      BOOST_TEST_REQUIRE(prefix.k() == k);
      const auto after = static_cast<std::uint64_t>(std::count(state.begin() + static_cast<long>(k) + 1, state.end(), 1));
      BOOST_TEST_REQUIRE(prefix.delivered_after() == after);
    }
  }
}

BOOST_AUTO_TEST_CASE(settling_a_record_twice_or_below_k_changes_nothing) {
  SettledPrefix p;
  p.settle(1, SettledPrefix::delivered);
  p.settle(1, SettledPrefix::other);
  BOOST_TEST(p.k() == 1u);
  p.settle(3, SettledPrefix::delivered);
  BOOST_TEST(p.k() == 1u);
  BOOST_TEST(p.delivered_after() == 1u);
  p.settle(2, SettledPrefix::other);
  BOOST_TEST(p.k() == 3u);
  BOOST_TEST(p.delivered_after() == 0u);
}

BOOST_AUTO_TEST_CASE(shell_words_read_back_as_given) {
  for (const std::string w : {"plain", "a b", "it's", "$HOME", "a\"b", "semi;colon", "star*", "", "back\\slash",
                              "new\nline", "Authorization=[redacted]"})
    BOOST_TEST(through_shell(sfcrime::shell_word(w)) == w, "word " << w);
  BOOST_TEST(sfcrime::shell_word("police-calls") == "police-calls");  // plain words stay bare
}

BOOST_AUTO_TEST_CASE(resume_commands) {
  ResumeShape s{"calls", "in.ndjson", " --order event-time", " --order event-time", 0};
  BOOST_TEST(sfcrime::resume_command(s, 0, "", true, 10) == "");  // nothing left
  BOOST_TEST(sfcrime::resume_command(s, 3, "/s/failed.ndjson", true, 10) ==
             "sfcrime produce --topic calls --file /s/failed.ndjson --order event-time");
  BOOST_TEST(sfcrime::resume_command(s, 0, "", false, 10) ==
             "sfcrime produce --topic calls --file in.ndjson --skip 10 --order event-time");
  BOOST_TEST(sfcrime::resume_command(s, 2, "f 1.ndjson", false, 10) ==
             "sfcrime produce --topic calls --file 'f 1.ndjson' --order event-time && "
             "sfcrime produce --topic calls --file in.ndjson --skip 10 --order event-time");
  s.input = "-";
  s.options = s.input_options = "";
  s.limit_left = 5;
  BOOST_TEST(sfcrime::resume_command(s, 0, "", false, 7) == "<the same input> | sfcrime produce --topic calls --skip 7 --limit 5");
  // The input part has its own options (envelopes: -H, which the failed file's envelopes hold).
  s.input = "in.ndjson";
  s.options = " --input-format envelope";
  s.input_options = " --input-format envelope -H a=b";
  s.limit_left = 0;
  BOOST_TEST(sfcrime::resume_command(s, 1, "f.ndjson", false, 3) ==
             "sfcrime produce --topic calls --file f.ndjson --input-format envelope && "
             "sfcrime produce --topic calls --file in.ndjson --skip 3 --input-format envelope -H a=b");
}
