#pragma once
/// Typed errors, caught once in main() and mapped to documented exit codes.
///
/// Exit codes follow BSD sysexits(3) where one fits (DESIGN.md, convention 7); they are listed
/// in man/sfcrime.1 under EXIT STATUS:
///   0 success, 1 other failure, 64 usage, 65 data (bad input records), 66 no such topic or file
///   to read, 69 broker unavailable, 70 internal error, 74 I/O, 78 configuration, 130 interrupted
///   (SIGINT), 143 terminated (SIGTERM).
#include <stdexcept>
#include <string>
#include <string_view>

namespace sfcrime {

/// Remembers `value` as the value of a secret (a sensitive property: is_secret_property() in
/// config.hpp), so that redact_secrets() hides it; an empty value is ignored. Thread-safe.
void note_secret(std::string_view value);
/// `text` with the secrets noted by note_secret() replaced by "[redacted]": every occurrence of a
/// secret, and every run of 8 or more characters of a longer one (librdkafka quotes parts of a
/// value: "Unrecognized sasl.oauthbearer.config beginning at: ..."); a secret of fewer than 4
/// characters only where it stands as a word. Every Error's message and every librdkafka log line
/// sfcrime prints pass through it. Thread-safe (librdkafka logs from its own threads).
std::string redact_secrets(std::string_view text);

/// Exit statuses of the sfcrime executable (sysexits.h values where they exist).
enum class Exit : int {
  ok = 0,
  failure = 1,
  usage = 64,        ///< EX_USAGE: bad command line
  data = 65,         ///< EX_DATAERR: input records rejected or malformed input
  no_input = 66,     ///< EX_NOINPUT: a file or topic to read does not exist
  unavailable = 69,  ///< EX_UNAVAILABLE: broker unreachable, delivery failed
  software = 70,     ///< EX_SOFTWARE: a bug in sfcrime
  io = 74,           ///< EX_IOERR: reading or writing a file failed
  config = 78,       ///< EX_CONFIG: invalid configuration (config file, -X property)
  interrupted = 130,  ///< 128 + SIGINT
  terminated = 143    ///< 128 + SIGTERM
};

/// Base of every error sfcrime reports; `what()` is the message printed after "sfcrime: error: ".
/// Messages are lowercase, name the thing in quotes and say what to do; a secret in one is
/// replaced by "[redacted]" (redact_secrets()).
class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& message) : std::runtime_error(redact_secrets(message)), code_(code) {}
  /// The exit status main() returns for this error.
  Exit code() const noexcept { return code_; }

 private:
  Exit code_;
};

/// Bad command line: unknown option, bad value, missing argument (exit 64).
struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(Exit::usage, m) {}
};
/// A value of a command option was refused (exit 64). Carries the option, so that main() can tell
/// a value the command line gave from one the config file or environment gave (then a
/// configuration error, exit 78, naming the key: cli::config_default_behind).
class OptionError : public UsageError {
 public:
  /// @param option the option whose value is refused: its long name ("window"), or as a message
  ///        writes it ("--window", "--offset @-"; the name is what follows the dashes, up to a space).
  OptionError(std::string_view option, const std::string& m) : UsageError(m) {
    if (option.substr(0, 2) == "--") option.remove_prefix(2);
    option_ = std::string(option.substr(0, option.find(' ')));
  }
  /// The long option name without dashes ("window").
  const std::string& option() const noexcept { return option_; }

 private:
  std::string option_;
};
/// Malformed input data (exit 65).
struct DataError : Error {
  explicit DataError(const std::string& m) : Error(Exit::data, m) {}
};
/// A file or topic to read does not exist (exit 66).
struct NoInputError : Error {
  explicit NoInputError(const std::string& m) : Error(Exit::no_input, m) {}
};
/// The broker cannot be reached or refused the request (exit 69).
struct UnavailableError : Error {
  explicit UnavailableError(const std::string& m) : Error(Exit::unavailable, m) {}
};
/// A transactional producer cannot go on (exit 69): a newer producer with the same
/// transactional.id took over (fenced), or another of librdkafka's fatal errors (say, an
/// authorization failure) made its state unusable.
class FencedError : public UnavailableError {
 public:
  enum class Kind {
    fenced,  ///< another producer with the same transactional.id (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH)
    fatal    ///< any other fatal error
  };
  FencedError(Kind kind, const std::string& m) : UnavailableError(m), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};
/// A transaction was aborted after an error that required it (exit 69): nothing of it became
/// visible to read_committed readers; running the command again resumes from the last commit.
struct TransactionAborted : UnavailableError {
  using UnavailableError::UnavailableError;
};
/// Reading or writing a file failed (exit 74).
struct IoError : Error {
  explicit IoError(const std::string& m) : Error(Exit::io, m) {}
};
/// Invalid configuration: config file, environment or -X property (exit 78).
struct ConfigError : Error {
  explicit ConfigError(const std::string& m) : Error(Exit::config, m) {}
};
/// Set to true by the SIGINT/SIGTERM handler that main() installs; long loops poll it.
bool interrupted() noexcept;
/// 143 (128 + SIGTERM) when the first signal was SIGTERM, else 130 (128 + SIGINT), the shell's
/// convention for a command ended by a signal.
Exit interrupt_exit_code() noexcept;
/// Installs the SIGINT/SIGTERM handler that sets interrupted(); a second signal exits at once
/// with status 128 + its number.
void install_signal_handlers();

/// The user stopped the command with SIGINT (exit 130) or SIGTERM (exit 143) and it stopped
/// cleanly: output flushed, offsets committed, the group left.
struct InterruptedError : Error {
  explicit InterruptedError(const std::string& m) : Error(interrupt_exit_code(), m) {}
};

/// open(2) of `path` with `flags` (and `mode` for O_CREAT) that answers SIGINT and SIGTERM: the
/// open of a FIFO waits for its other end, and the signal handler makes it fail with EINTR.
/// @param what names the file in the message ("input file").
/// @returns the descriptor, or -1 with errno set (never to EINTR).
/// @throws InterruptedError "interrupted while opening WHAT 'PATH'" when interrupted().
int open_or_interrupt(const std::string& path, int flags, const std::string& what, unsigned mode = 0);

/// Reads the whole of file `path` into `out` (open_or_interrupt(), then read(2) until the end).
/// @returns 0, or the errno of the open or read that failed (EISDIR for a directory).
/// @throws InterruptedError when SIGINT or SIGTERM ends a wait for the file (a FIFO, a pipe).
int read_whole_file(const std::string& path, std::string& out, const std::string& what);

}  // namespace sfcrime
