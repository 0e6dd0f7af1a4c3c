/* Engine timers on the daemon's libevent loop: the EngineTimerOps that
 * drive poll tasks (WITHIN n on a provider's class) and native event
 * sources (a netlink socket, an inotify descriptor: watch() is one
 * persistent EV_READ event). Each timer is one persistent libevent timer;
 * the engine may stop a timer or a watch from inside its own callback (a
 * poll that fails for good ends its calls and so its task), which libevent
 * allows for a persistent event. */
#pragma once

#include <event2/event.h>

#include "events.h"

/* The timer operations on base (borrowed; it must outlive every timer). */
EngineTimerOps timers_ops(struct event_base *base);
