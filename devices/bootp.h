/*
 * bootp.h - the lease table of a user-mode network's BOOTP/DHCP server.
 *
 * Sixteen clients, known by MAC address, each owning the pool address at
 * its table index (network | first_host + index), as slirp hands them
 * out.  DISCOVER reserves an address for a short offer time, REQUEST binds
 * it for the lease time, RELEASE frees it; offers and leases run out
 * against a VsClock.  Packet parsing stays with the network stack: this
 * is the part of the server with state worth migrating
 * (schema/bootp.vs).
 */
#ifndef VSTATE_DEVICES_BOOTP_H
#define VSTATE_DEVICES_BOOTP_H

#include <stdint.h>

#include "devices/clock.h"
#include "bootp.vs.h"

#define VS_BOOTP_CLIENTS 16
/* How long an offer is held for the client's REQUEST. */
#define VS_BOOTP_OFFER_NS (60LL * 1000000000LL)

enum { VS_BOOTP_FREE = 0, VS_BOOTP_OFFERED = 1, VS_BOOTP_BOUND = 2 };

typedef struct VsBootp {
    BootpServer state;      /* the migratable state */
    VsClock *clock;
} VsBootp;

/* @network: e.g. 10.0.2.0 as 0x0a000200; addresses start at @first_host. */
void vs_bootp_init(VsBootp *b, VsClock *clock, uint32_t network, uint8_t first_host,
                   uint32_t lease_time_s);

/*
 * DISCOVER from @mac: offers the client's address (its existing one, else
 * a free or expired entry).  Returns false when the pool is exhausted.
 */
bool vs_bootp_discover(VsBootp *b, const uint8_t mac[6], uint32_t xid, uint32_t *offer);
/*
 * REQUEST from @mac for @requested (0: whatever was offered).  Binds the
 * lease and returns true (ACK) when the address is the client's; false
 * (NAK) otherwise.
 */
bool vs_bootp_request(VsBootp *b, const uint8_t mac[6], uint32_t xid, uint32_t requested,
                      uint32_t *bound);
/* RELEASE: the client gives its address back.  Returns whether it had one. */
bool vs_bootp_release(VsBootp *b, const uint8_t mac[6]);
/* Frees offers and leases that have run out; returns how many. */
unsigned vs_bootp_expire(VsBootp *b);

/* The table index of @mac's entry, or -1. */
int vs_bootp_lookup(const VsBootp *b, const uint8_t mac[6]);
/* The address of table entry @index. */
uint32_t vs_bootp_address(const VsBootp *b, int index);
/* Seconds left on @mac's lease (0 when it has none). */
uint32_t vs_bootp_lease_left(const VsBootp *b, const uint8_t mac[6]);

bool vs_bootp_visit(VsBootp *b, VsVisitor *v, GError **errp);

#endif
