// libFuzzer harness of the record parser and validator (include/sfcrime/records/record.hpp) and of the
// aggregate engine's Extractor (include/sfcrime/stream/engine.hpp): fuzz/README.md.
//
// Input: one record's JSON text, as the reader or a Kafka message hands it over.
//
// The oracle is Boost.JSON's parser (boost::json::basic_parser, independent of simdjson), run with
// max_depth 1024, building a boost::json::value as boost::json::parse does (a duplicated key keeps
// its last occurrence) except that each number is read from its token with glibc's strtod or
// std::from_chars, which round correctly (Boost 1.81 reads doubles a few ulps off, 1e999 as
// infinity and 0e4999959 as NaN). It also reports every number token in document order, whether
// one of them is out of simdjson's range (an integer token beyond int64/uint64, or a token whose
// double is infinite) and the depth of the deepest value (the root: 1; a scalar counts as a level,
// as simdjson counts it).
//
// Besides memory safety and undefined behaviour, the harness checks:
//   - RecordParser (simdjson, its buffers reused across inputs) accepts exactly what the oracle
//     accepts, less the documented limits: no number out of range, no value deeper than 1024
//     (with simdjson's "number" or "too deep" message when that is the only reason); the parsed
//     value equals the oracle's (every number, duplicated keys' earlier occurrences included,
//     matching its token exactly); another parser that parsed a larger record first agrees;
//   - validate_record equals a reimplementation over the oracle's value (reason text, instant,
//     key); a key or --by part written from a number (json_text) reads back as the same number,
//     a double's still a double; an accepted time parses and formats back to the same instant;
//   - compact_json (what produce sends) is exactly the text without the whitespace between
//     tokens (an independent model), the oracle reads it as the same value with the same number
//     tokens, and it validates and extracts as the record it came from; simdjson::minify, which
//     compact_json calls and which is not instrumented (Debian's libsimdjson.so), neither reads
//     nor writes a byte past its buffers (guard pages);
//   - Extractor, with `--by original_crime_type_name,disposition --filter city=...`: the kind
//     follows validate_record and the filter; the group key decodes to the --by fields (null for
//     missing or null, a string's content, else JSON text of the same value) and re-encodes to
//     itself; extracting again after another record gives the same result.
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <simdjson.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/cli/query_options.hpp"
#include "sfcrime/records/record.hpp"
#include "sfcrime/stream/engine.hpp"
#include "../tests/unit/compact_model.hpp"  // compact_json's model, shared with the unit tests

namespace {

namespace dom = simdjson::dom;
namespace json = boost::json;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_record: invariant broken: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}
#define CHECK(cond, ...) \
  do {                   \
    if (!(cond)) fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

constexpr std::size_t kMaxDepth = 1024;  // record.hpp: "nesting at most 1024 deep"

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

bool integer_token(std::string_view t) { return t.find_first_of(".eE") == std::string_view::npos; }

/// A correctly rounded double from a JSON number token (glibc's strtod).
double exact_double(const std::string& token) { return std::strtod(token.c_str(), nullptr); }

struct Oracle {
  bool ok = false;
  bool clamped = false;  // an exponent too long for Boost was shortened (exponent_tokens)
  json::error_code ec;
  json::value value;
  std::vector<std::string> numbers;  // every number token, in document order
  bool out_of_range = false;         // an integer token beyond 64 bits, or a double token that is infinite
  std::size_t depth = 0;             // the deepest value's depth
};

struct Handler {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  json::value_stack st;
  Oracle* out = nullptr;
  std::string number;  // the number token being read
  std::size_t open = 0;

  void level(std::size_t d) { out->depth = std::max(out->depth, d); }
  void finish_number(json::string_view s) {
    number.append(s.data(), s.size());
    out->numbers.push_back(number);
    level(open + 1);
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) {
    level(++open);
    return true;
  }
  bool on_array_end(std::size_t n, json::error_code&) {
    --open;
    st.push_array(n);
    return true;
  }
  bool on_object_begin(json::error_code&) {
    level(++open);
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    --open;
    st.push_object(n);  // a duplicated key: the last occurrence is kept
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    level(open + 1);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view s, json::error_code&) {
    finish_number(s);
    std::int64_t mine = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), mine);
    CHECK(ec == std::errc() && end == number.data() + number.size() && mine == i, number);
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view s, json::error_code&) {
    finish_number(s);
    std::uint64_t mine = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), mine);
    CHECK(ec == std::errc() && end == number.data() + number.size() && mine == u, number);
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code&) {
    finish_number(s);
    if (integer_token(number)) {
      out->out_of_range = true;  // an integer Boost read as a double: beyond int64 and uint64
    } else {
      d = exact_double(number);
      if (std::isinf(d)) out->out_of_range = true;
    }
    number.clear();
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    level(open + 1);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    level(open + 1);
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

json::parse_options oracle_options() {
  json::parse_options o;
  o.max_depth = kMaxDepth;
  return o;
}

/// Boost 1.81 fails with exponent_overflow on a number whose exponent does not fit an int
/// (0e6676000062, 1e-9999999999: valid JSON, zero), simdjson reads them. So the oracle parses a
/// copy of `text` in which every exponent of more than 8 significant digits is 100000000 (same
/// sign): a token that short (the input is far shorter than 10^8 digits) still reads as the same
/// zero or infinity. Returns the number tokens of `text` as written, in order (a lexical scan: for
/// text that is not JSON it may be anything, and rewriting digits to digits changes no verdict).
std::vector<std::string> clamp_exponents(std::string_view text, std::string& out, bool& clamped) {
  std::vector<std::string> tokens;
  out.clear();
  clamped = false;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size())
        out.push_back(text[++i]);
      else if (c == '"')
        in_string = false;
      ++i;
      continue;
    }
    if (c == '"') in_string = true;
    if (c != '-' && (c < '0' || c > '9')) {
      out.push_back(c);
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && std::strchr("0123456789+-.eE", text[j]) && text[j] != '\0') ++j;
    const std::string_view token = text.substr(i, j - i);
    tokens.emplace_back(token);
    const std::size_t e = token.find_first_of("eE");
    std::size_t d = e == std::string_view::npos ? token.size() : e + 1;
    if (d < token.size() && (token[d] == '+' || token[d] == '-')) ++d;
    std::size_t first = d;
    while (first < token.size() && token[first] == '0') ++first;
    const bool digits_only = token.find_first_not_of("0123456789", d) == std::string_view::npos;
    if (e != std::string_view::npos && digits_only && token.size() - first > 8) {
      out.append(token.substr(0, d));
      out.append("100000000");
      clamped = true;
    } else {
      out.append(token);
    }
    i = j;
  }
  return tokens;
}

Oracle oracle_parse(std::string_view original) {
  Oracle r;
  std::string copy;
  const std::vector<std::string> tokens = clamp_exponents(original, copy, r.clamped);
  const std::string_view text = r.clamped ? std::string_view(copy) : original;
  json::basic_parser<Handler> p(oracle_options());
  p.handler().out = &r;
  p.handler().st.reset();
  const std::size_t n = p.write_some(false, text.data(), text.size(), r.ec);
  if (!r.ec && n < text.size()) r.ec = json::error::extra_data;
  if (r.ec) return r;
  r.value = p.handler().st.release();
  r.ok = true;
  if (r.clamped) {
    // The same tokens as written, each reading as the clamped one did.
    CHECK(tokens.size() == r.numbers.size(), std::to_string(tokens.size()));
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] == r.numbers[i]) continue;
      CHECK(!integer_token(tokens[i]) &&
                std::bit_cast<std::uint64_t>(exact_double(tokens[i])) ==
                    std::bit_cast<std::uint64_t>(exact_double(r.numbers[i])),
            tokens[i] + " / " + r.numbers[i]);
    }
    r.numbers = tokens;
  }
  return r;
}

/// Checks `text`, written for a number (json_text), against the number `v` (the oracle's, read
/// exactly from the record's token): it is a JSON number that reads back as `v` exactly, of the
/// same kind (a double keeps a '.' or an exponent).
void check_number_text(const std::string& text, const json::value& v) {
  const Oracle back = oracle_parse(text);
  CHECK(back.ok && back.numbers.size() == 1 && back.numbers[0] == text, text);
  CHECK(back.value.kind() == v.kind(), text);
  if (v.is_double())
    CHECK(std::bit_cast<std::uint64_t>(back.value.get_double()) == std::bit_cast<std::uint64_t>(v.get_double()),
          text);
  else
    CHECK(back.value == v, text);
}

/// Checks `text`, a --by part or key written by sfcrime for the non-string value `v`.
void check_value_text(const std::string& text, const json::value& v) {
  if (v.is_bool()) {
    CHECK(text == (v.get_bool() ? "true" : "false"), text);
  } else if (v.is_number()) {
    check_number_text(text, v);
  } else {
    // An array or object: JSON text the oracle reads as the same value (duplicated keys kept
    // in the text read as the record's were).
    const Oracle back = oracle_parse(text);
    CHECK(back.ok, text);
    CHECK(back.value == v, text);
  }
}

// ---------------------------------------------------------------------------------------------
// simdjson's value against the oracle's
// ---------------------------------------------------------------------------------------------

/// Walks `e` in document order next to the oracle's `b` (nullptr under an earlier occurrence of
/// a duplicated key, which the oracle does not keep), matching each number to its token.
void compare(const dom::element& e, const json::value* b, const std::vector<std::string>& numbers,
             std::size_t& next) {
  switch (e.type()) {
    case dom::element_type::OBJECT: {
      const dom::object o = e.get_object().value_unsafe();
      CHECK(!b || b->is_object());
      std::vector<std::string_view> keys;
      for (const dom::key_value_pair kv : o) keys.push_back(kv.key);
      std::size_t i = 0, distinct = 0;
      for (const dom::key_value_pair kv : o) {
        const bool last = std::find(keys.begin() + static_cast<std::ptrdiff_t>(i) + 1, keys.end(), kv.key) == keys.end();
        const json::value* child = nullptr;
        if (b && last) {
          child = b->get_object().if_contains(kv.key);
          CHECK(child != nullptr, std::string(kv.key));
        }
        distinct += last;
        compare(kv.value, child, numbers, next);
        ++i;
      }
      CHECK(o.size() == keys.size());
      CHECK(!b || b->get_object().size() == distinct);
      break;
    }
    case dom::element_type::ARRAY: {
      const dom::array a = e.get_array().value_unsafe();
      CHECK(!b || (b->is_array() && b->get_array().size() == a.size()));
      std::size_t i = 0;
      for (const dom::element x : a) {
        compare(x, b ? &b->get_array()[i] : nullptr, numbers, next);
        ++i;
      }
      CHECK(i == a.size());
      break;
    }
    case dom::element_type::STRING: {
      const std::string_view s = e.get_string().value_unsafe();
      CHECK(!b || (b->is_string() && std::string_view(b->get_string()) == s), std::string(s));
      break;
    }
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: {
      CHECK(next < numbers.size());
      const std::string& token = numbers[next++];
      if (e.type() == dom::element_type::INT64) {
        const std::int64_t i = e.get_int64().value_unsafe();
        std::int64_t want = 0;
        CHECK(integer_token(token) && std::from_chars(token.data(), token.data() + token.size(), want).ec == std::errc() &&
                  want == i,
              token);
        CHECK(!b || (b->is_int64() && b->get_int64() == i), token);
      } else if (e.type() == dom::element_type::UINT64) {
        const std::uint64_t u = e.get_uint64().value_unsafe();
        std::uint64_t want = 0;
        CHECK(integer_token(token) && std::from_chars(token.data(), token.data() + token.size(), want).ec == std::errc() &&
                  want == u,
              token);
        CHECK(!b || (b->is_uint64() && b->get_uint64() == u), token);
      } else {
        const double d = e.get_double().value_unsafe();
        CHECK(!integer_token(token), token);
        CHECK(std::bit_cast<std::uint64_t>(d) == std::bit_cast<std::uint64_t>(exact_double(token)), token);
        CHECK(!b || (b->is_double() && std::bit_cast<std::uint64_t>(b->get_double()) == std::bit_cast<std::uint64_t>(d)),
              token);
      }
      break;
    }
    case dom::element_type::BOOL:
      CHECK(!b || (b->is_bool() && b->get_bool() == e.get_bool().value_unsafe()));
      break;
    case dom::element_type::NULL_VALUE:
      CHECK(!b || b->is_null());
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// validate_record over the oracle's value
// ---------------------------------------------------------------------------------------------

const char* kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::array: return "an array";
    case json::kind::string: return "a string";
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::object: return "an object";
    default: return "a number";
  }
}

struct Expected {
  std::string reason;
  std::int64_t event_ms = 0;
  const json::value* key = nullptr;  // the key field's value (a scalar), if rules.key_field is set
};

/// validate_record's contract (record.hpp), over Boost.JSON's value.
Expected expect_validation(const json::value& v, const sfcrime::RecordRules& rules) {
  Expected x;
  if (!v.is_object()) {
    x.reason = std::string("not a JSON object (found ") + kind_name(v) + ")";
    return x;
  }
  const json::object& o = v.get_object();
  const json::value* t = o.if_contains(rules.time_field);
  if (!t) {
    x.reason = "missing field '" + rules.time_field + "'";
    return x;
  }
  if (!t->is_string()) {
    x.reason = "field '" + rules.time_field + "' is " + kind_name(*t) + ", not a string";
    return x;
  }
  const std::string_view ts = t->get_string();
  std::string why;
  const auto ms = sfcrime::parse_naive_datetime(ts, &why);
  if (!ms) {
    x.reason = "field '" + rules.time_field + "' value '" + std::string(ts.substr(0, 40)) + "' is not a date-time: " + why;
    return x;
  }
  x.event_ms = *ms;
  if (!rules.key_field.empty()) {
    const json::value* k = o.if_contains(rules.key_field);
    if (!k || k->is_null()) {
      x.reason = "missing key field '" + rules.key_field + "'";
      return x;
    }
    if (k->is_object() || k->is_array()) {
      x.reason = "key field '" + rules.key_field + "' is " + kind_name(*k) + ", not a scalar";
      return x;
    }
    x.key = k;
  }
  return x;
}

void check_validation(const sfcrime::Validated& r, const Expected& x, const sfcrime::RecordRules& rules) {
  CHECK(r.reason == x.reason, r.reason + " | expected: " + x.reason);
  if (!r.ok()) return;
  CHECK(r.event_ms == x.event_ms, std::to_string(r.event_ms));
  if (rules.key_field.empty()) {
    CHECK(r.key.empty(), r.key);
  } else if (x.key->is_string()) {
    CHECK(r.key == std::string_view(x.key->get_string()), r.key);  // a string's content, not its JSON text
  } else {
    check_value_text(r.key, *x.key);
  }
}

// ---------------------------------------------------------------------------------------------
// Guard pages for the uninstrumented simdjson::minify (compact_json's model: compact_model.hpp)
// ---------------------------------------------------------------------------------------------

/// A buffer whose last byte is followed by an inaccessible page: any access past it faults,
/// also from code ASan does not see (libsimdjson.so).
class Guarded {
 public:
  char* end_of(std::size_t capacity) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t need = std::max(page, (capacity + page - 1) / page * page);
    if (need > size_) {
      if (base_) munmap(base_, size_ + page);
      base_ = static_cast<char*>(mmap(nullptr, need + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      CHECK(base_ != MAP_FAILED);
      CHECK(mprotect(base_ + need, page, PROT_NONE) == 0);
      size_ = need;
    }
    return base_ + size_;  // the guard page starts here
  }

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The Extractor's setting
// ---------------------------------------------------------------------------------------------

sfcrime::StreamSpec make_spec() {
  sfcrime::StreamSpec spec;
  spec.by = sfcrime::parse_field_list("original_crime_type_name,disposition", "--by");
  spec.filters.push_back(sfcrime::parse_filter("city=San Francisco,,Sausalit\xC3\xB6"));
  return spec;
}

// A record larger than any input (-max_len=8192), parsed between two extractions of the input so
// that the parser's buffers have grown in between.
std::string big_record() {
  std::string s = R"({"call_date_time":"2018-11-05T20:50:00.000","city":"San Francisco","filler":[)";
  for (int i = 0; i < 3000; ++i) s += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  return s + "]}";
}

bool same(const sfcrime::Extracted& a, const sfcrime::Extracted& b) {
  return a.kind == b.kind && a.reason == b.reason && a.event_ms == b.event_ms && a.group == b.group &&
         a.disposition == b.disposition;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const sfcrime::StreamSpec spec = make_spec();
  static const std::string filler = big_record();
  static sfcrime::RecordParser parser;  // reused across inputs, as produce reuses it
  static sfcrime::RecordParser other;   // parses the filler before each input
  static sfcrime::Extractor extractor(spec);
  static Guarded in_page, out_page;
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);

  // What the parser must accept: what the oracle accepts, within simdjson's documented limits.
  const Oracle want = oracle_parse(text);
  {
    // The oracle's parser is Boost's own: boost::json::parse agrees on what is JSON.
    json::error_code ec;
    json::parse(text, ec, {}, oracle_options());
    CHECK(!ec == want.ok || (want.ok && want.clamped && ec == json::error::exponent_overflow),
          ec ? ec.message() : want.ec.message());
  }
  const bool too_deep = want.depth > kMaxDepth;
  const bool accept = want.ok && !want.out_of_range && !too_deep;

  std::string error;
  const dom::element* v = parser.parse(text, &error);
  CHECK((v != nullptr) == accept, (v ? "accepted" : error) + " | oracle: " +
                                      (want.ok ? "ok, out_of_range " + std::to_string(want.out_of_range) +
                                                     ", depth " + std::to_string(want.depth)
                                               : want.ec.message()));
  if (!v) {
    CHECK(error.rfind("invalid JSON: ", 0) == 0, error);
    CHECK(error.size() > std::strlen("invalid JSON: "), error);
    if (want.ok && want.out_of_range && !too_deep)
      CHECK(error == std::string("invalid JSON: ") + simdjson::error_message(simdjson::NUMBER_ERROR), error);
    if (want.ok && too_deep && !want.out_of_range)
      CHECK(error == std::string("invalid JSON: ") + simdjson::error_message(simdjson::DEPTH_ERROR), error);
  } else {
    std::size_t next = 0;
    compare(*v, &want.value, want.numbers, next);
    CHECK(next == want.numbers.size(), std::to_string(next));
    // A parser whose buffers grew for a larger record reads the same value.
    CHECK(other.parse(filler, nullptr) != nullptr);
    const dom::element* w = other.parse(text, nullptr);
    CHECK(w != nullptr);
    CHECK(sfcrime::json_text(*w) == sfcrime::json_text(*v));
  }

  // simdjson::minify, on any input, within its buffers: the input ends at a guard page, and so
  // does an output buffer of exactly the input's size.
  char* const in = in_page.end_of(size) - size;
  if (size) std::memcpy(in, bytes, size);
  const std::string_view guarded(in, size);
  {
    char* const dst = out_page.end_of(size) - size;
    std::size_t n = 0;
    if (simdjson::minify(in, size, dst, n) == simdjson::SUCCESS) CHECK(n <= size);
  }
  std::string sent;  // what produce sends
  sfcrime::compact_json(guarded, sent);

  if (v) {
    CHECK(sent == sfcrime::test::strip_whitespace(text), sent);
    const Oracle back = oracle_parse(sent);
    CHECK(back.ok && back.value == want.value, sent);
    CHECK(back.numbers == want.numbers, sent);  // every number token as written
    const dom::element* w = other.parse(sent, &error);
    CHECK(w != nullptr, error);

    for (const bool with_key : {true, false}) {
      sfcrime::RecordRules rules;
      if (!with_key) rules.key_field.clear();
      const sfcrime::Validated r = sfcrime::validate_record(*v, rules);
      check_validation(r, expect_validation(want.value, rules), rules);
      // What produce sends validates the same way.
      const sfcrime::Validated r2 = sfcrime::validate_record(*w, rules);
      CHECK(r2.reason == r.reason && r2.event_ms == r.event_ms && r2.key == r.key, sent);
      if (!r.ok()) continue;
      const std::string formatted = sfcrime::format_naive_datetime(r.event_ms);
      const auto again = sfcrime::parse_naive_datetime(formatted);
      CHECK(again && *again == r.event_ms, formatted);
    }
  }

  // The Extractor, twice, with a larger record in between.
  sfcrime::Extracted x, between, y;
  extractor.extract(text, x);
  extractor.extract(filler, between);
  CHECK(between.kind == sfcrime::Extracted::Kind::valid, between.reason);
  extractor.extract(text, y);
  CHECK(same(x, y));
  if (v) {
    // Through a topic: what produce sends is extracted exactly as the record it read.
    sfcrime::Extracted z;
    extractor.extract(sent, z);
    CHECK(same(x, z));
  }
  switch (x.kind) {
    case sfcrime::Extracted::Kind::invalid:
      CHECK(!x.reason.empty());
      if (!v)
        CHECK(x.reason == error, x.reason + " | " + error);  // the parser's reason
      else
        CHECK(!sfcrime::validate_record(*v, sfcrime::RecordRules{"call_date_time", ""}).ok());
      break;
    case sfcrime::Extracted::Kind::filtered:
    case sfcrime::Extracted::Kind::valid: {
      CHECK(v && x.reason.empty());
      const Expected r = expect_validation(want.value, sfcrime::RecordRules{"call_date_time", ""});
      CHECK(r.reason.empty() && r.event_ms == x.event_ms, r.reason);
      const json::object& o = want.value.get_object();
      const json::value* city = o.if_contains("city");
      const auto& accepted = spec.filters[0].values;
      const bool passes = city && city->is_string() &&
                          std::find(accepted.begin(), accepted.end(), std::string_view(city->get_string())) !=
                              accepted.end();
      CHECK(passes == (x.kind == sfcrime::Extracted::Kind::valid));
      if (!passes) break;
      std::vector<std::string> scratch;
      const auto parts = sfcrime::group_key::decode(x.group, scratch);
      CHECK(parts.size() == spec.by.size(), std::to_string(parts.size()));
      for (std::size_t i = 0; i < parts.size(); ++i) {
        const json::value* f = o.if_contains(spec.by[i]);
        if (!f || f->is_null()) {
          CHECK(!parts[i], spec.by[i]);
        } else {
          CHECK(parts[i].has_value(), spec.by[i]);
          if (f->is_string())
            CHECK(*parts[i] == std::string_view(f->get_string()), spec.by[i]);
          else
            check_value_text(std::string(*parts[i]), *f);
        }
      }
      // Re-encoding the decoded parts gives the same key (the encoding is a bijection).
      std::string key;
      for (const auto& p : parts) {
        if (p)
          sfcrime::group_key::append_string(key, *p);
        else
          sfcrime::group_key::append_null(key);
      }
      CHECK(key == x.group);
      const json::value* d = o.if_contains(spec.disposition_field);
      CHECK(x.disposition == (d && d->is_string() ? std::string_view(d->get_string()) : std::string_view()));
      break;
    }
  }
  return 0;
}
