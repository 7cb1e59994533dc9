/*
 * bootp.c - the BOOTP/DHCP lease table: allocation by MAC address, offers,
 * leases and their expiry.
 */
#include "devices/bootp.h"

#include <string.h>

#define NS_PER_SEC 1000000000LL

static int64_t now(const VsBootp *b)
{
    return vs_clock_now(b->clock);
}

void vs_bootp_init(VsBootp *b, VsClock *clock, uint32_t network, uint8_t first_host,
                   uint32_t lease_time_s)
{
    memset(b, 0, sizeof(*b));
    b->clock = clock;
    b->state.network = network;
    b->state.first_host = first_host;
    b->state.lease_time = lease_time_s;
    for (int i = 0; i < VS_BOOTP_CLIENTS; i++) {
        b->state.clients[i].lease_end = -1;
    }
}

static void free_entry(BootpClient *c)
{
    memset(c, 0, sizeof(*c));
    c->lease_end = -1;
}

static bool expired(const VsBootp *b, const BootpClient *c)
{
    return c->allocated && c->lease_end >= 0 && c->lease_end <= now(b);
}

unsigned vs_bootp_expire(VsBootp *b)
{
    unsigned n = 0;

    for (int i = 0; i < VS_BOOTP_CLIENTS; i++) {
        if (expired(b, &b->state.clients[i])) {
            free_entry(&b->state.clients[i]);
            n++;
        }
    }
    return n;
}

int vs_bootp_lookup(const VsBootp *b, const uint8_t mac[6])
{
    for (int i = 0; i < VS_BOOTP_CLIENTS; i++) {
        const BootpClient *c = &b->state.clients[i];

        if (c->allocated && memcmp(c->macaddr, mac, 6) == 0) {
            return i;
        }
    }
    return -1;
}

uint32_t vs_bootp_address(const VsBootp *b, int index)
{
    return b->state.network | (uint32_t)(b->state.first_host + index);
}

bool vs_bootp_discover(VsBootp *b, const uint8_t mac[6], uint32_t xid, uint32_t *offer)
{
    BootpClient *c;
    int i;

    vs_bootp_expire(b);
    i = vs_bootp_lookup(b, mac);
    if (i < 0) {
        for (i = 0; i < VS_BOOTP_CLIENTS && b->state.clients[i].allocated; i++) {
        }
        if (i == VS_BOOTP_CLIENTS) {
            return false;
        }
        c = &b->state.clients[i];
        c->allocated = true;
        memcpy(c->macaddr, mac, 6);
    }
    c = &b->state.clients[i];
    c->xid = xid;
    /* A bound client asking again keeps its lease; a new one gets an offer. */
    if (c->state != VS_BOOTP_BOUND) {
        c->state = VS_BOOTP_OFFERED;
        c->lease_end = now(b) + VS_BOOTP_OFFER_NS;
    }
    b->state.offers++;
    *offer = vs_bootp_address(b, i);
    return true;
}

bool vs_bootp_request(VsBootp *b, const uint8_t mac[6], uint32_t xid, uint32_t requested,
                      uint32_t *bound)
{
    BootpClient *c;
    int i;

    vs_bootp_expire(b);
    i = vs_bootp_lookup(b, mac);
    if (i < 0 || (requested && requested != vs_bootp_address(b, i))) {
        b->state.naks++;
        return false;
    }
    c = &b->state.clients[i];
    c->xid = xid;
    c->state = VS_BOOTP_BOUND;
    c->lease_end = now(b) + (int64_t)b->state.lease_time * NS_PER_SEC;
    b->state.acks++;
    *bound = vs_bootp_address(b, i);
    return true;
}

bool vs_bootp_release(VsBootp *b, const uint8_t mac[6])
{
    int i = vs_bootp_lookup(b, mac);

    if (i < 0) {
        return false;
    }
    free_entry(&b->state.clients[i]);
    return true;
}

uint32_t vs_bootp_lease_left(const VsBootp *b, const uint8_t mac[6])
{
    int i = vs_bootp_lookup(b, mac);
    int64_t left;

    if (i < 0 || b->state.clients[i].state != VS_BOOTP_BOUND) {
        return 0;
    }
    left = b->state.clients[i].lease_end - now(b);
    return left > 0 ? (uint32_t)((left + NS_PER_SEC - 1) / NS_PER_SEC) : 0;
}

bool vs_bootp_visit(VsBootp *b, VsVisitor *v, GError **errp)
{
    return vs_visit_BootpServer(v, "bootp", &b->state, errp);
}
