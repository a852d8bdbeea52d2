#ifndef CLIBEVENT_H
#define CLIBEVENT_H
#include <event2/event.h>
#endif
