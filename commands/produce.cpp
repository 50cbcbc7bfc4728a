// sfcrime produce: the command line of the produce pipeline (pipeline/produce.hpp), which reads
// records from a JSON array or NDJSON input and sends each to a topic.
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/base/progress.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/commands/commands.hpp"
#include "sfcrime/kafka/kafka.hpp"
#include "sfcrime/kafka/producer.hpp"
#include "sfcrime/pipeline/produce.hpp"

namespace sfcrime::commands {

namespace {

/// --speedup X: a finite number > 0 (fractions allowed).
double parse_speedup(const std::string& s) {
  char* end = nullptr;
  const double x = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x) || x <= 0)
    throw OptionError("speedup", "invalid --speedup '" + s +
                     "' (expected a positive number: seconds of event time per second, e.g. 3600 or 0.5)");
  return x;
}

/// Refuses an output file that is the input file or another output file: truncating it at start
/// would destroy what is about to be read or written.
void check_distinct_files(const std::string& input, const std::vector<std::pair<std::string, std::string>>& outputs) {
  struct stat in_st {};
  const bool in_known = input == "-" ? ::fstat(STDIN_FILENO, &in_st) == 0 : ::stat(input.c_str(), &in_st) == 0;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& [opt, path] = outputs[i];
    struct stat st {};
    const bool exists = ::stat(path.c_str(), &st) == 0;
    if (exists && in_known && S_ISREG(st.st_mode) && st.st_dev == in_st.st_dev && st.st_ino == in_st.st_ino)
      throw OptionError(opt, opt + " '" + path + "' is the input file: it would be truncated before it is read (give " + opt +
                       " another file)");
    for (std::size_t j = 0; j < i; ++j) {
      struct stat st2 {};
      const bool same = outputs[j].second == path ||
                        (exists && ::stat(outputs[j].second.c_str(), &st2) == 0 && st.st_dev == st2.st_dev &&
                         st.st_ino == st2.st_ino);
      if (same) throw OptionError(opt, outputs[j].first + " and " + opt + " name the same file '" + path + "'");
    }
  }
}

}  // namespace

int produce(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "produce";
  spec.synopsis =
      "sfcrime produce [--topic] TOPIC [--file PATH|-] [--key FIELD] [--skip N] [--limit N] [--rate N]\n"
      "                       [--order file|event-time] [--speedup X] [--dead-letter-topic T]\n"
      "                       [--dead-letter-file F] [--failed-file F] [options]";
  spec.summary =
      "Reads records from a JSON array (pretty-printed or compact) or newline-delimited JSON, as a\n"
      "stream in bounded memory, and sends each as one message (compact JSON value, key = the key\n"
      "field) with an idempotent producer. A record that is not a JSON object, lacks call_date_time\n"
      "or whose call_date_time does not parse (YYYY-MM-DDTHH:MM:SS[.fff], no zone), or that lacks\n"
      "the key field (or holds an object or array there) is rejected with its record number and\n"
      "reason and not sent; --dead-letter-topic and --dead-letter-file keep it. Waits for every\n"
      "delivery report (of the dead-letter topic too), then prints a summary to stderr:\n"
      "read = sent + rejected + failed (+ not sent, + without a delivery report when stopped).\n"
      "\n"
      "When a record is not delivered (the broker stayed away for message.timeout.ms, 120 s by\n"
      "default, or refused it), sending stops: the records in flight get their reports, and the\n"
      "error says how many were delivered and that records 1..K all were. With --failed-file F\n"
      "every record not delivered, and the rest of the input, goes to F; without it the records\n"
      "not delivered go to a failed file made in $XDG_STATE_HOME/sfcrime (~/.local/state/sfcrime).\n"
      "After any stop (a failure, Ctrl-C, SIGTERM; after a signal what is still in flight once\n"
      "--timeout has passed is purged and kept) the error's last line names one command that\n"
      "resumes exactly: the failed file, which also checks the topic for the records the broker\n"
      "may have written without answering, and/or the input after the last record read. A record\n"
      "too large for the broker fails alone and sending goes on.\n"
      "\n"
      "Exit 0 when every record was delivered; 65 if any was rejected (even when kept) or the input\n"
      "is malformed; 69 if any was not delivered or a rejected record was not kept in the\n"
      "dead-letter topic; 74 if the dead-letter or failed file or the temporary sort file cannot\n"
      "be written; 130 if interrupted (143 for SIGTERM). When several apply: 130, 74, 69, 65.\n"
      "\n"
      "Records go in file order (the real file is newest first) unless --order event-time: then\n"
      "every valid record is read first and sent in ascending call_date_time, records with equal\n"
      "times in file order. Memory stays bounded: runs of 32 MiB of record text are sorted and\n"
      "spilled to a temporary file in $TMPDIR (default /tmp), unlinked at once so nothing is left\n"
      "behind, and merged while sending; an input that fits in one run never touches the disk.\n"
      "--speedup X replays in event time: the first record goes at once, a record E seconds of\n"
      "event time after it no earlier than E / X seconds later; a record already due goes at once,\n"
      "so in file order (newest first) everything after the first goes at once. With --rate, both\n"
      "limits apply.\n"
      "\n"
      "--input-format envelope reads the lines of 'sfcrime consume --output json' (or kcat -J) and\n"
      "sends each message as it was: key, value (base64-decoded when flagged), headers and timestamp,\n"
      "without the checks of a call record; a malformed envelope is rejected like an invalid record.\n"
      "A timestamp of 0, null or none gets the time of sending (librdkafka reads 0 as 'now'); a\n"
      "negative one is rejected. The envelope's partition is read only with --keep-partition.\n"
      "On a terminal a progress bar is drawn on stderr (--progress).";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->required()->value_name("TOPIC"),
       "topic to send to (must exist); also the first bare word, as in 'sfcrime topic produce TOPIC' (rpk's name)")
      ("file,f", cli::po::value<std::string>()->value_name("PATH|-"),
       "input file, '-' for standard input (default); the lines of a --dead-letter-file or "
       "--failed-file are recognised and their text sent")
      ("key", cli::po::value<std::string>()->default_value("crime_id")->value_name("FIELD"), "field whose value is the message key")
      ("skip", cli::po::value<long long>()->value_name("N"),
       "pass over the first N records of the input (not parsed, sent or counted as read; record "
       "numbers still count them), e.g. to resume after records 1..N were delivered")
      ("limit", cli::po::value<long long>()->value_name("N"), "stop after reading N records (after --skip)")
      ("rate", cli::po::value<long long>()->value_name("N"), "send at most N records per second")
      ("order", cli::po::value<std::string>()->default_value("file")->value_name("file|event-time"),
       "send in file order, or sorted by call_date_time ascending (ties in file order; external sort "
       "in runs of 32 MiB of record text, spilled to an unlinked file in $TMPDIR or /tmp)")
      ("speedup", cli::po::value<std::string>()->value_name("X"),
       "replay in event time, X seconds of event time per second (e.g. 3600; fractions allowed); "
       "records already due go at once, so use it with --order event-time")
      ("dead-letter-topic", cli::po::value<std::string>()->value_name("T"),
       "send every rejected record to topic T (must exist): its text unchanged, null key, headers "
       "sfcrime.reject.reason, sfcrime.reject.record, sfcrime.reject.line, sfcrime.source.file")
      ("dead-letter-file", cli::po::value<std::string>()->value_name("F"),
       "write every rejected record to F, created or truncated at start: one JSON object a line, "
       "{\"record\": N, \"line\": L, \"reason\": \"...\", \"text\": \"the record's text\"}")
      ("failed-file", cli::po::value<std::string>()->value_name("F"),
       "write every record not delivered, and after a delivery failure the rest of the input, to F "
       "(created or truncated at start; lines as --dead-letter-file's); without it one is made when "
       "needed in $XDG_STATE_HOME/sfcrime: 'sfcrime produce --file F' resumes exactly")
      ("header,H", cli::po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
       "add header KEY with VALUE to every message (repeatable, as kcat -H; after an envelope's own)")
      ("compression,z", cli::po::value<std::string>()->value_name("CODEC"),
       "compress message batches with none (default), gzip, snappy, lz4 or zstd (librdkafka's "
       "compression.codec; consumers decompress by themselves)")
      ("partitioner", cli::po::value<std::string>()->value_name("NAME"),
       "how a key picks its partition (librdkafka's partitioner): murmur2_random (default: the Java "
       "producer's, so the same key lands where Java clients put it; null keys at random), murmur2, "
       "consistent, consistent_random, fnv1a, fnv1a_random or random")
      ("progress", cli::po::value<std::string>()->default_value("auto")->value_name("auto|bar|none"),
       "a progress bar on stderr (records, records/s, and for a regular file bytes read, percent and "
       "ETA): auto draws it when stderr is a terminal, bar always, none never")
      ("input-format", cli::po::value<std::string>()->default_value("record")->value_name("record|envelope"),
       "record: call records, validated; envelope: the lines of 'sfcrime consume --output json' (or "
       "kcat -J), each sent with its key, value, headers and timestamp as they are, not validated "
       "(timestamp 0 or null: the time of sending; negative: rejected)")
      ("keep-partition",
       "with --input-format envelope: send each message to the partition its envelope names (which "
       "must exist; an envelope without one is rejected), not where the partitioner puts its key");
  spec.positional.add("topic", 1);
  spec.examples =
      "  xz -dc police-department-calls-for-service.json.xz |\n"
      "      sfcrime produce --topic police-calls --order event-time   # the file runs newest first\n"
      "  sfcrime topic produce police-calls --file calls.json   # rpk's words, the same command\n"
      "  sfcrime produce --topic police-calls --file calls.ndjson --limit 1000 --rate 100\n"
      "  xz -dc police-department-calls-for-service.json.xz |\n"
      "      sfcrime produce --topic police-calls --order event-time --speedup 3600   # an hour a second\n"
      "  sfcrime produce -t police-calls -f calls.json --dead-letter-topic police-calls-rejected \\\n"
      "      --dead-letter-file rejected.ndjson --failed-file failed.ndjson\n"
      "  sfcrime produce -t police-calls -f failed.ndjson --failed-file failed-2.ndjson   # resume\n"
      "  sfcrime produce -t police-calls -f calls.json -z zstd -H source=cad -H batch=7\n"
      "  sfcrime consume -t A -o beginning -e --output json | sfcrime produce -t B --input-format envelope\n";
  // "--speedup -1": program_options would take "-1" for an option; hand it over as one word so
  // that the value check below names the problem.
  std::vector<std::string> argv = args;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--speedup" && argv[i + 1].size() > 1 && argv[i + 1][0] == '-' &&
        (std::isdigit(static_cast<unsigned char>(argv[i + 1][1])) || argv[i + 1][1] == '.')) {
      argv[i] += "=" + argv[i + 1];
      argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  spec.kafka_defaults = kafka::producer_defaults();
  auto parsed = cli::parse(spec, argv);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  Config& config = parsed->config;

  ProduceOptions o;
  o.topic = vm["topic"].as<std::string>();
  o.file = vm.count("file") ? vm["file"].as<std::string>() : "-";
  o.limit = vm.count("limit") ? static_cast<std::uint64_t>(cli::positive(vm, "limit")) : 0;
  o.rate = vm.count("rate") ? static_cast<std::uint64_t>(cli::positive(vm, "rate")) : 0;
  o.order = cli::one_of(vm, "order", {"file", "event-time"}) == "file" ? ProduceOptions::Order::file
                                                                       : ProduceOptions::Order::event_time;
  o.speedup = vm.count("speedup") ? parse_speedup(vm["speedup"].as<std::string>()) : 0;
  if (vm.count("skip")) {
    const long long n = vm["skip"].as<long long>();
    if (n < 0) throw OptionError("skip", "invalid --skip " + std::to_string(n) + " (expected a number of records, 0 or more)");
    o.skip = static_cast<std::uint64_t>(n);
  }
  auto text_option = [&](const char* name) -> std::optional<std::string> {
    if (!vm.count(name)) return std::nullopt;
    std::string v = vm[name].as<std::string>();
    if (v.empty()) throw OptionError(name, std::string("--") + name + " needs a value (see 'sfcrime produce --help')");
    return v;
  };
  o.dead_letter_topic = text_option("dead-letter-topic");
  o.dead_letter_file = text_option("dead-letter-file");
  o.failed_file = text_option("failed-file");
  if (o.dead_letter_topic && *o.dead_letter_topic == o.topic)
    throw OptionError("dead-letter-topic", "--dead-letter-topic '" + *o.dead_letter_topic +
                                               "' is the topic the records go to (give another topic)");
  {
    std::vector<std::pair<std::string, std::string>> outputs;
    if (o.dead_letter_file) outputs.emplace_back("--dead-letter-file", *o.dead_letter_file);
    if (o.failed_file) outputs.emplace_back("--failed-file", *o.failed_file);
    check_distinct_files(o.file, outputs);
  }
  if (!vm.count("file") && ::isatty(STDIN_FILENO))
    throw UsageError("no input: give --file PATH, or pipe records into standard input (see 'sfcrime produce --help')");
  o.key_field = vm["key"].as<std::string>();
  o.envelopes = cli::one_of(vm, "input-format", {"record", "envelope"}) == "envelope";
  o.keep_partition = vm.count("keep-partition") > 0;
  if (o.keep_partition && !o.envelopes)
    throw UsageError("--keep-partition needs --input-format envelope (only an envelope names a partition)");
  if (o.envelopes) {
    // An envelope is a message as it was: nothing in it is a call record's.
    if (!vm["key"].defaulted())
      throw UsageError("--key does not go with --input-format envelope (each envelope has its own key)");
    if (o.order == ProduceOptions::Order::event_time || o.speedup)
      throw UsageError(std::string(o.order == ProduceOptions::Order::event_time ? "--order event-time" : "--speedup") +
                       " does not go with --input-format envelope (envelopes have no call_date_time; they go in input order)");
  }
  if (vm.count("header"))
    for (const std::string& h : vm["header"].as<std::vector<std::string>>()) {
      const std::size_t eq = h.find('=');
      if (eq == std::string::npos || eq == 0)
        throw OptionError("header", "invalid --header '" + h + "' (expected KEY=VALUE, e.g. -H source=cad)");
      o.headers.push_back({h.substr(0, eq), h.substr(eq + 1)});
    }
  auto choice = [&](const char* option, const char* property, std::initializer_list<std::string_view> allowed) {
    if (!vm.count(option)) return;
    const std::string v = cli::one_of(vm, option, allowed);
    o.producer_options.emplace_back(option, v);
    // A dedicated flag wins over a -X of the same meaning: applied last.
    config.properties.emplace_back(property, v);
    config.origin[property] = {"flag", "--" + std::string(option)};
  };
  // scripts/build-librdkafka builds all four codecs in (builtin.features: gzip, snappy, lz4, zstd).
  choice("compression", "compression.codec", {"none", "gzip", "snappy", "lz4", "zstd"});
  choice("partitioner", "partitioner",
         {"murmur2_random", "murmur2", "consistent", "consistent_random", "fnv1a", "fnv1a_random", "random"});
  const std::string progress = cli::one_of(vm, "progress", {"auto", "bar", "none"});
  o.progress = progress == "bar"    ? ProgressLine::Mode::always
               : progress == "none" ? ProgressLine::Mode::never
                                    : ProgressLine::Mode::automatic;
  return run_produce(o, config);
}

}  // namespace sfcrime::commands
