#pragma once
// Output captured in memory for unit tests: a FILE* (open_memstream) and std::cout.
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

namespace sfcrime::test {

/// A FILE* writing into memory; text() is everything written so far.
class MemoryFile {
 public:
  MemoryFile() {
    file_ = ::open_memstream(&buf_, &size_);
    BOOST_REQUIRE(file_ != nullptr);
  }
  ~MemoryFile() {
    std::fclose(file_);
    std::free(buf_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::FILE* file() const { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_ = nullptr;
};

/// Sends std::cout into a string for the scope.
class CoutCapture {
 public:
  CoutCapture() : old_(std::cout.rdbuf(out_.rdbuf())) {}
  ~CoutCapture() { std::cout.rdbuf(old_); }
  CoutCapture(const CoutCapture&) = delete;
  CoutCapture& operator=(const CoutCapture&) = delete;
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::streambuf* old_;
};

}  // namespace sfcrime::test
