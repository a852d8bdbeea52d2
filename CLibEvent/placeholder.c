#include "CLibEvent.h"
