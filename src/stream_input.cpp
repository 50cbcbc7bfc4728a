#include "sfcrime/stream_input.hpp"
