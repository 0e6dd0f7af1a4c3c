/* Fuzz target for lwmid's TCP listening addresses (netaddr.c, and the
 * listen policy of settings.c).
 *
 * Any input is parsed (as a NUL-terminated copy). When it parses, its text
 * form must parse again to the very same address (a fixed point, also for
 * IPv6 scope ids), the loopback verdict must agree, and the listen policy
 * must accept every loopback address without --insecure-tcp and any
 * address with it. A mismatch aborts, so the fuzzer reports it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "netaddr.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = mem_strndup((const char *)data, size);
        NetAddr a, b;
        char printed[NETADDR_TEXT_MAX];

        if (!text)
                return 0;
        if (netaddr_parse(text, "fuzz", &a, NULL) == 0) {
                netaddr_format((const struct sockaddr *)&a.ss, a.len, printed, sizeof(printed));
                if (netaddr_parse(printed, "fuzz", &b, NULL) != 0 || a.len != b.len ||
                    memcmp(&a.ss, &b.ss, a.len) != 0)
                        abort();
                if (netaddr_is_loopback(&a) != netaddr_is_loopback(&b))
                        abort();
                Settings o;
                settings_init(&o);
                o.listen = text;
                if ((settings_check_listen(&o, NULL) == 0) != netaddr_is_loopback(&a))
                        abort();
                o.insecure_tcp = true;
                if (settings_check_listen(&o, NULL) != 0)
                        abort();
        }
        mem_free(text);
        return 0;
}
