// sfcrime consume: print a topic's messages, one per line: the values (as kafka-console-consumer),
// a kcat -f format, or JSON envelopes that `sfcrime produce --input-format envelope` reads back.
#include <poll.h>
#include <stdio_ext.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/commands/commands.hpp"
#include "sfcrime/kafka/envelope.hpp"
#include "sfcrime/kafka/source.hpp"

namespace sfcrime::commands {

namespace {

/// "-o -5" / "--offset -5": program_options would take "-5" for an option; hand it over as one
/// word ("--offset=-5") so that the offset parser sees it.
std::vector<std::string> join_negative_offsets(std::vector<std::string> argv) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if ((argv[i] == "--offset" || argv[i] == "-o") && argv[i + 1].size() > 1 && argv[i + 1][0] == '-' &&
        std::isdigit(static_cast<unsigned char>(argv[i + 1][1]))) {
      argv[i] = "--offset=" + argv[i + 1];
      argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  return argv;
}

}  // namespace

int consume(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "consume";
  spec.synopsis =
      "sfcrime consume [--topic] TOPIC [--offset beginning|end|N|-N|@TIME] [--from-beginning] [--partition P]\n"
      "                       [--group GROUP] [--max-messages N] [--exit-at-end] [--format FMT | --output text|json]\n"
      "                       [options]";
  spec.summary =
      "Prints each message of TOPIC on standard output: by default its value and a newline, as\n"
      "kafka-console-consumer does; with --format a kcat -f format string; with --output json one\n"
      "JSON envelope a line (topic, partition, offset, timestamp, key, value, headers; bytes that are\n"
      "not UTF-8 in base64), which 'sfcrime produce --input-format envelope' sends again.\n"
      "Without --group every partition (or those of --partition) is read from --offset (default: the\n"
      "end) and nothing is committed; with --group the group's members share the partitions, each\n"
      "starting at the group's committed offset (--offset beginning or end: where a partition without\n"
      "one starts) and offsets are committed. --exit-at-end stops once every partition was read up to\n"
      "the offset it had at the start, with or without --group. A count goes to stderr at the end.";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->required()->value_name("TOPIC"),
       "topic to read; also the first bare word, as in 'sfcrime topic consume TOPIC' (rpk's name)")
      ("offset,o", cli::po::value<std::string>()->value_name("OFFSET"),
       "where each partition starts: beginning, end (default), N (offset N; clamped to the offsets "
       "held), -N (N messages before the end), @TIME (the first message at or after TIME: ms since the "
       "epoch, 2024-05-01[T13:00:00] in UTC, or @-1h for an hour ago); with --group only beginning or "
       "end, for partitions without a committed offset")
      ("from-beginning", "the same as --offset beginning")
      ("partition,p", cli::po::value<std::vector<int>>()->value_name("P")->composing(),
       "read only partition P (repeatable; without --group)")
      ("group,g", cli::po::value<std::string>()->value_name("GROUP"), "consumer group id")
      ("max-messages", cli::po::value<long long>()->value_name("N"), "exit after printing N messages")
      ("exit-at-end,e", "exit when the end of every partition is reached")
      ("format", cli::po::value<std::string>()->value_name("FMT"),
       "print each message as kcat -f does: %t topic, %p partition, %o offset, %T timestamp (ms), %k key, "
       "%K key length, %s or %v value, %S value length, %h headers (name=value,...), %% percent; "
       "\\n \\t \\r \\\\ \\xNN escapes; no newline is added")
      ("output", cli::po::value<std::string>()->default_value("text")->value_name("text|json"),
       "text: the value a line (or --format); json: one envelope a line (NDJSON)");
  spec.positional.add("topic", 1);
  spec.examples =
      "  sfcrime consume --topic police-calls --offset beginning --max-messages 5\n"
      "  sfcrime topic consume police-calls -o -3 -e   # rpk's words, the same command\n"
      "  sfcrime consume -t police-calls -o -3 -e --format '%p:%o %k %T\\n'\n"
      "  sfcrime consume -t police-calls -o @2024-05-01 -e --output json > copy.ndjson\n"
      "  sfcrime consume -t A -o beginning -e --output json | sfcrime produce -t B --input-format envelope\n"
      "  sfcrime consume --topic police-calls --group readers --exit-at-end | wc -l\n";
  auto parsed = cli::parse(spec, join_negative_offsets(args));
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  SourceOptions o;
  o.topic = vm["topic"].as<std::string>();
  if (vm.count("group")) o.group = vm["group"].as<std::string>();
  o.exit_at_end = vm.count("exit-at-end") > 0;
  const long long max = vm.count("max-messages") ? cli::positive(vm, "max-messages") : 0;

  const bool json = cli::one_of(vm, "output", {"text", "json"}) == "json";
  if (json && vm.count("format"))
    throw UsageError("--format and --output json do not go together (the envelope has every field; pick one)");
  std::optional<MessageFormat> format;
  if (vm.count("format")) format.emplace(vm["format"].as<std::string>());

  if (vm.count("offset")) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string& text = vm["offset"].as<std::string>();
    // -o is --offset, as in kcat and rpk; someone used to -o for the output format gets a hint.
    if (text == "text" || text == "json")
      throw OptionError("offset", "invalid --offset '" + text + "' (-o is --offset, as in kcat and rpk; did you mean --output " +
                       text + "?)");
    const StartOffset start = parse_start_offset(text, now);
    if (vm.count("from-beginning") && start.kind != StartOffset::Kind::beginning)
      throw OptionError("offset", "--from-beginning and --offset '" + vm["offset"].as<std::string>() +
                       "' disagree (--from-beginning is --offset beginning; give one)");
    if (o.group) {
      // A group starts each partition at its committed offset; like kafka-console-consumer and
      // kcat -G, the offset only picks auto.offset.reset for partitions without one.
      if (start.kind != StartOffset::Kind::beginning && start.kind != StartOffset::Kind::end)
        throw OptionError("offset", "--offset '" + vm["offset"].as<std::string>() +
                         "' does not go with --group (a group starts at its committed offsets; with --group, "
                         "--offset beginning or end says where a partition without one starts; drop --group "
                         "to start elsewhere)");
      o.from_beginning = start.kind == StartOffset::Kind::beginning;
    } else {
      o.start = start;
      o.from_beginning = start.kind == StartOffset::Kind::beginning;
    }
  } else {
    o.from_beginning = vm.count("from-beginning") > 0;
  }
  if (vm.count("partition")) {
    if (o.group)
      throw UsageError("--partition does not go with --group (the group assigns the partitions; drop one)");
    for (const int p : vm["partition"].as<std::vector<int>>()) {
      if (p < 0) throw OptionError("partition", "invalid --partition " + std::to_string(p) + " (expected a partition number, 0 or more)");
      o.partitions.push_back(p);
    }
  }

  static char outbuf[1 << 16];
  std::setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  TopicSource source(parsed->config, o);
  std::uint64_t printed = 0;
  bool broken_pipe = false;
  std::string line;  // --format, --output json: one message's text
  while (!interrupted() && !(max && printed >= static_cast<std::uint64_t>(max))) {
    kafka::Message m = source.next(std::chrono::milliseconds(200));
    if (!m) {
      if (source.at_end()) break;
      std::fflush(stdout);  // nothing arrived: show what we have
    } else {
      if (json || format) {
        line.clear();
        if (json)
          append_envelope(*m, o.topic, line);
        else
          format->append(*m, o.topic, line);
        std::fwrite(line.data(), 1, line.size(), stdout);
      } else {
        std::fwrite(m->payload, 1, m->len, stdout);
        std::fputc('\n', stdout);
      }
      ++printed;
    }
    if (std::ferror(stdout)) {
      if (errno == EPIPE) {
        broken_pipe = true;  // `| head`: the reader is gone, stop quietly
        break;
      }
      if (errno == EINTR && interrupted()) break;  // Ctrl-C while the reader of stdout stalls
      throw IoError("cannot write to standard output");
    }
  }
  if (interrupted()) {
    // Ctrl-C while the reader of stdout has stopped reading: what it does not take within 1 s is
    // dropped, so the stop stays bounded (a flush would block for as long as the reader stalls).
    pollfd p{::fileno(stdout), POLLOUT, 0};
    if (::poll(&p, 1, 1000) <= 0) __fpurge(stdout);
  }
  if (std::fflush(stdout) != 0 && errno == EPIPE) broken_pipe = true;
  // Commit what was read now and check the outcome (the commit close() makes is silent about a
  // failure): a run never ends 0 with the group's offsets left behind.
  if (o.group) source.commit(/*last=*/true);
  source.close();
  if (!broken_pipe) std::fprintf(stderr, "sfcrime consume: %llu messages\n", static_cast<unsigned long long>(printed));
  if (interrupted()) throw InterruptedError("interrupted after " + std::to_string(printed) + " messages");
  return 0;
}

}  // namespace sfcrime::commands
