// Boost.JSON's sources, compiled into the fuzz harnesses with the sanitizers and coverage
// instrumentation (fuzz/CMakeLists.txt says why).
#include <boost/json/src.hpp>
