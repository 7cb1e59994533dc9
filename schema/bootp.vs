/*
 * bootp.vs: the lease table of a BOOTP/DHCP server for a user-mode network
 * (devices/bootp.c), in the spirit of slirp's: a fixed table of clients
 * known by MAC address, each owning one address of the pool.  QEMU saves
 * slirp's state with a hand-written handler, so this layout is vstate's
 * own.
 */

/* One client: slirp's BOOTPClient (allocated, MAC) plus its lease. */
type BootpClient "bootp-client" version 1 nested {
    bool   allocated;
    buffer macaddr[6];
    /* 1: offered (DISCOVER answered), 2: bound (REQUEST acknowledged). */
    u8     state;
    /* The transaction id of the client's last message, echoed in replies. */
    u32    xid;
    /* When the offer or lease runs out, in virtual-clock ns; -1 when free. */
    timer  lease_end;
    validate known_state (state <= 2 && (allocated || state == 0));
}

type BootpServer "bootp" version 1 {
    /* The pool: network address, first host number, lease length (s). */
    u32 network;
    u8  first_host;
    u32 lease_time;
    BootpClient clients[16];
    /* Replies sent, for the curious. */
    u32 offers;
    u32 acks;
    u32 naks;
    validate pool_fits (first_host + 16 <= 255);
}
