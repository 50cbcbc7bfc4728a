// sfcrime consume: print a topic's message values, one per line.
#include <poll.h>
#include <stdio_ext.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "sfcrime/cli.hpp"
#include "sfcrime/commands.hpp"
#include "sfcrime/errors.hpp"
#include "sfcrime/source.hpp"

namespace sfcrime::commands {

int consume(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "consume";
  spec.synopsis =
      "sfcrime consume --topic TOPIC [--from-beginning] [--group GROUP] [--max-messages N] [--exit-at-end] [options]";
  spec.summary =
      "Prints the value of each message of TOPIC on standard output, one per line, as\n"
      "kafka-console-consumer does. Without --group every partition is read and nothing is\n"
      "committed; with --group the group's members share the partitions and offsets are committed.\n"
      "--exit-at-end stops once every partition was read up to the offset it had at the start,\n"
      "with or without --group. A count goes to stderr at the end.";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->required()->value_name("TOPIC"), "topic to read")
      ("from-beginning", "start at the earliest offset (with --group: when the group has no committed offset)")
      ("group,g", cli::po::value<std::string>()->value_name("GROUP"), "consumer group id")
      ("max-messages", cli::po::value<long long>()->value_name("N"), "exit after printing N messages")
      ("exit-at-end,e", "exit when the end of every partition is reached");
  spec.examples =
      "  sfcrime consume --topic police-calls --from-beginning --max-messages 5\n"
      "  sfcrime consume --topic police-calls --group readers --exit-at-end | wc -l\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  SourceOptions o;
  o.topic = vm["topic"].as<std::string>();
  if (vm.count("group")) o.group = vm["group"].as<std::string>();
  o.from_beginning = vm.count("from-beginning") > 0;
  o.exit_at_end = vm.count("exit-at-end") > 0;
  const long long max = vm.count("max-messages") ? cli::positive(vm, "max-messages") : 0;

  static char outbuf[1 << 16];
  std::setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  TopicSource source(parsed->config, o);
  std::uint64_t printed = 0;
  bool broken_pipe = false;
  while (!interrupted() && !(max && printed >= static_cast<std::uint64_t>(max))) {
    kafka::Message m = source.next(std::chrono::milliseconds(200));
    if (!m) {
      if (source.at_end()) break;
      std::fflush(stdout);  // nothing arrived: show what we have
    } else {
      std::fwrite(m->payload, 1, m->len, stdout);
      std::fputc('\n', stdout);
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
