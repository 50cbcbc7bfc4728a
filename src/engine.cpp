#include "sfcrime/engine.hpp"
