/* The daemon describes itself (DESIGN.md "Liveness"): a provider of
 * namespace root/lwmi with four classes, read and queried like any other,
 * and watched with WITHIN (the engine polls them). Every figure is read
 * when the instance is made; docs/providers.md gives each property's
 * meaning.
 *
 *   LWMI_Daemon        the singleton (LWMI_Daemon=@): counts of sessions,
 *                      sinks, registrations, filters, poll tasks, sources
 *                      and watches (engine_event_stats); events raised and
 *                      failed, native sources' overflows (the engine's), delivered and dropped (the
 *                      server's: Indicates written to sessions or not);
 *                      sessions lost by SessionLoss and registrations
 *                      reclaimed (Server); MemoryRss (/proc/self/statm);
 *                      Version, StartTime, ProcessId;
 *   LWMI_Session       one per open connection (key SessionId): the peer's
 *                      UserId, ProcessId and Peer text, ClientName,
 *                      ConnectedSince, LastHeardFrom (monotonic times made
 *                      wall-clock), Sinks, Registrations, BacklogBytes
 *                      (output not yet taken, as the stall rule counts
 *                      it), EventsDelivered and EventsDropped (async.h);
 *   LWMI_Registration  one per open asynchronous call (keys SessionId,
 *                      Call): Sink, Namespace, Query, Method
 *                      (ExecNotificationQueryAsync or ExecQueryAsync),
 *                      EventsDelivered, EventsDropped, CreatedAt
 *                      (AsyncCallInfo);
 *   LWMI_User          one per user with a session (key User: the uid in
 *                      decimal, or "anonymous"; quota.h): UserId, what it
 *                      holds (Sessions, Registrations, BacklogBytes), its
 *                      QuotaViolations and RequestTokens left, and its
 *                      limits (MaxSessions, MaxRegistrations,
 *                      MaxSessionRegistrations, MaxBacklogBytes,
 *                      MaxQueryBytes, RequestRate, RequestBurst; null:
 *                      unlimited).
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
