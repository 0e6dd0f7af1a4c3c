/* The daemon describes itself (DESIGN.md "Losing a session"): a provider
 * of namespace root/lwmi with three classes, read and queried like any
 * other, and watched with WITHIN (the engine polls them):
 *
 *   LWMI_Daemon        the singleton (LWMI_Daemon=@): counts of sessions,
 *                      sinks, registrations, filters, poll tasks, sources,
 *                      events raised, delivered, dropped and failed, native
 *                      sources' overflows (from
 *                      engine_event_stats and the server), Version,
 *                      StartTime, ProcessId;
 *   LWMI_Session       one per open connection (key SessionId): the peer's
 *                      UserId and ProcessId, ClientName, ConnectedSince,
 *                      Sinks, Registrations;
 *   LWMI_Registration  one per open asynchronous call (keys SessionId,
 *                      Call): Sink, Namespace, Query and Method
 *                      (ExecNotificationQueryAsync or ExecQueryAsync).
 *
 * An enumeration of LWMI_Registration reads one session's calls at a
 * time, from a list of their ids taken when it reaches the session: a call
 * that ends meanwhile is left out, none is seen twice. */
#pragma once

#include "provider.h"

typedef struct Server Server;

#define SELFPROV_NAMESPACE "root/lwmi"

/* The provider for server (borrowed: the server outlives its engine).
 * 0 or -ENOMEM. */
int selfprov_new(Server *server, Provider **ret);
