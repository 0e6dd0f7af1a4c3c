/* Server addresses; see address.h. */
#include "address.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "liberr.h"
#include "mem.h"

static int parse_unix(const char *path, Address *ret, lwmi_error *err) {
        struct sockaddr_un sa;
        if (!*path)
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER", "empty socket path");
        if (strlen(path) >= sizeof(sa.sun_path))
                return liberr_set(err, -ENAMETOOLONG, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER",
                                  "socket path too long (at most %zu bytes): %s",
                                  sizeof(sa.sun_path) - 1, path);
        char *p = mem_strdup(path);
        if (!p)
                return liberr_oom(err);
        *ret = (Address){ .kind = ADDRESS_UNIX, .path = p };
        return 0;
}

/* "HOST:PORT" or "[V6]:PORT", after "tcp:" or "tls:" (scheme). */
static int parse_tcp(const char *scheme, const char *text, Address *ret, lwmi_error *err) {
        const char *host = text, *host_end, *colon;
        if (*text == '[') {
                host = text + 1;
                host_end = strchr(host, ']');
                if (!host_end || host_end[1] != ':')
                        goto bad;
                colon = host_end + 1;
        } else {
                colon = strrchr(text, ':');
                if (!colon)
                        goto bad;
                host_end = colon;
        }
        if (host_end == host)
                goto bad;
        const char *port_text = colon + 1;
        if (!*port_text || strspn(port_text, "0123456789") != strlen(port_text) ||
            strlen(port_text) > 5)
                goto bad;
        long port = strtol(port_text, NULL, 10);
        if (port < 1 || port > 65535)
                goto bad;
        char *h = mem_strndup(host, (size_t)(host_end - host));
        if (!h)
                return liberr_oom(err);
        *ret = (Address){ .kind = strcmp(scheme, "tls") == 0 ? ADDRESS_TLS : ADDRESS_TCP,
                          .host = h,
                          .port = (uint16_t)port };
        return 0;
bad:
        return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT, "WBEM_E_INVALID_PARAMETER",
                          "bad %s address '%s:%s': expected %s:HOST:PORT",
                          strcmp(scheme, "tls") == 0 ? "TLS" : "TCP", scheme, text, scheme);
}

int address_parse(const char *text, Address *ret, lwmi_error *err) {
        if (!text)
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER", "no address");
        if (strncmp(text, "unix:", 5) == 0)
                return parse_unix(text + 5, ret, err);
        if (strncmp(text, "tcp:", 4) == 0)
                return parse_tcp("tcp", text + 4, ret, err);
        if (strncmp(text, "tls:", 4) == 0)
                return parse_tcp("tls", text + 4, ret, err);
        return parse_unix(text, ret, err);
}

void address_done(Address *a) {
        mem_free(a->path);
        mem_free(a->host);
        *a = (Address){ 0 };
}

int address_default(char **ret, lwmi_error *err) {
        const char *env = secure_getenv("LWMI_SOCKET");
        char *s;
        if (env && *env)
                s = mem_strdup(env);
        else if (geteuid() == 0)
                s = mem_strdup("/run/lwmi/lwmid.sock");
        else {
                const char *rt = secure_getenv("XDG_RUNTIME_DIR");
                if (!rt || !*rt)
                        return liberr_set(err, -ENXIO, LWMI_ERROR_CONNECT,
                                          "WBEM_E_TRANSPORT_FAILURE",
                                          "no default socket: neither LWMI_SOCKET nor "
                                          "XDG_RUNTIME_DIR is set");
                s = mem_printf("%s/lwmi/lwmid.sock", rt);
        }
        if (!s)
                return liberr_oom(err);
        *ret = s;
        return 0;
}

LWMI_EXPORT int lwmi_default_address(char **ret, lwmi_error *err) {
        if (!ret)
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER", "ret is NULL");
        return address_default(ret, err);
}
