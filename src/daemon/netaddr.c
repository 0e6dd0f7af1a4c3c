/* TCP listening addresses: parse, loopback test, text; see netaddr.h. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"

/* Decimal digits only (no sign, no spaces: getaddrinfo would take
 * those), 0 to 65535. */
static bool netaddr_port_ok(const char *port) {
        size_t len = strlen(port);
        unsigned long v = 0;

        if (len == 0 || len > 5 || strspn(port, "0123456789") != len)
                return false;
        for (const char *p = port; *p; p++)
                v = v * 10 + (unsigned long)(*p - '0');
        return v <= 65535;
}

int netaddr_parse(const char *text, const char *what, NetAddr *ret, Error *err) {
        const char *host, *host_end, *colon;
        bool bracketed = text[0] == '[';

        if (bracketed) {
                host = text + 1;
                host_end = strchr(host, ']');
                if (!host_end || host_end[1] != ':')
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "%s: '%s' is not an address: expected [IPV6]:PORT", what,
                                         text);
                colon = host_end + 1;
        } else {
                host = text;
                colon = strrchr(text, ':');
                if (!colon)
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "%s: '%s' has no port: expected ADDRESS:PORT, e.g. "
                                         "127.0.0.1:7000 or [::1]:7000",
                                         what, text);
                if (strchr(text, ':') != colon)
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "%s: '%s': an IPv6 address goes in brackets, e.g. "
                                         "[::1]:7000",
                                         what, text);
                host_end = colon;
        }
        if (host_end == host)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "%s: '%s' has no address before the port (use 127.0.0.1, or "
                                 "0.0.0.0 for every address)",
                                 what, text);

        const char *port = colon + 1;
        if (!netaddr_port_ok(port))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "%s: '%s': the port must be a number from 0 to 65535 (0: any "
                                 "free port)",
                                 what, text);

        _cleanup_free_ char *h = mem_strndup(host, (size_t)(host_end - host));
        if (!h)
                return error_from_errno(err, -ENOMEM);
        struct addrinfo hints = {
                .ai_family = bracketed ? AF_INET6 : AF_INET,
                .ai_socktype = SOCK_STREAM,
                .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
        };
        struct addrinfo *ai = NULL;
        int r = getaddrinfo(h, port, &hints, &ai);
        if (r == EAI_MEMORY)
                return error_from_errno(err, -ENOMEM);
        if (r != 0 || !ai || ai->ai_addrlen > sizeof(ret->ss)) {
                if (ai)
                        freeaddrinfo(ai);
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "%s: '%s': '%s' is not a numeric %s address (host names are not "
                                 "looked up)",
                                 what, text, h, bracketed ? "IPv6" : "IPv4");
        }
        NetAddr a = { .len = ai->ai_addrlen };
        memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
        freeaddrinfo(ai);
        *ret = a;
        return 0;
}

int netaddr_parse_listen(const char *text, const char *what, NetAddr *ret, bool *ret_tls,
                         Error *err) {
        bool tls = strncmp(text, "tls:", 4) == 0;
        int r = netaddr_parse(tls ? text + 4 : text, what, ret, err);
        if (r == 0)
                *ret_tls = tls;
        return r;
}

bool netaddr_is_loopback(const NetAddr *a) {
        if (a->ss.ss_family == AF_INET) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
                return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
        }
        if (a->ss.ss_family == AF_INET6) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
                if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
                        return true;
                /* ::ffff:127.x.y.z reaches IPv4's loopback */
                return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && sin6->sin6_addr.s6_addr[12] == 127;
        }
        return false;
}

void netaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size) {
        char host[INET6_ADDRSTRLEN + 16], port[8];

        if (size == 0)
                return;
        if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
            getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
                snprintf(buf, size, "?");
                return;
        }
        if (sa->sa_family == AF_INET6)
                snprintf(buf, size, "[%s]:%s", host, port);
        else
                snprintf(buf, size, "%s:%s", host, port);
}

bool netaddr_describe_tcp_peer(int fd, char *buf, size_t size) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char text[NETADDR_TEXT_MAX];

        if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
            (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
                return false;
        netaddr_format((struct sockaddr *)&ss, len, text, sizeof(text));
        snprintf(buf, size, "tcp %s", text);
        return true;
}
