#include "sfcrime/event_sort.hpp"
