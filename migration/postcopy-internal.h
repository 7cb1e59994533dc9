/*
 * postcopy-internal.h: what the source side (postcopy.c) and the
 * destination side (postcopy-dest.c) of postcopy share; not installed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_MIGRATION_POSTCOPY_INTERNAL_H
#define VSTATE_MIGRATION_POSTCOPY_INTERNAL_H

#include "migration/channel.h"
#include "migration/postcopy.h"
#include "migration/ram-internal.h"
#include "migration/return-path.h"

G_BEGIN_DECLS

/* Commands of the main stream (qemu-stream-format.md §1.7). */
enum {
    PC_CMD_OPEN_RETURN_PATH = 1,
    PC_CMD_PING = 2,
    PC_CMD_POSTCOPY_ADVISE = 3,
    PC_CMD_POSTCOPY_LISTEN = 4,
    PC_CMD_POSTCOPY_RUN = 5,
    PC_CMD_POSTCOPY_RAM_DISCARD = 6,
    PC_CMD_PACKAGED = 7,
    PC_CMD_ENABLE_COLO = 8,
    PC_CMD_POSTCOPY_RESUME = 9,
    PC_CMD_RECV_BITMAP = 10,
    PC_CMD_MAX = 11,
};

/* The destination's postcopy states, QEMU's numbering (§4). */
typedef enum PcInState {
    PC_IN_NONE,
    PC_IN_ADVISE,
    PC_IN_DISCARD,
    PC_IN_LISTENING,
    PC_IN_RUNNING,
    PC_IN_END,
} PcInState;

/* Ranges per DISCARD command, as QEMU sends them. */
#define PC_DISCARD_MAX_RANGES 12
/* Pages placed by one UFFDIO_COPY for the background stream. */
#define PC_BATCH_PAGES 16
/* Queued page requests on the source. */
#define PC_QUEUE_MAX 4096
/* Guest threads whose blocktime is accounted. */
#define PC_MAX_THREADS VS_MIG_MAX_VCPU_BLOCKTIME

/* Request latencies kept for vs_postcopy_request_latencies(). */
#define PC_MAX_LATENCIES 8192

/*
 * The destination's reading of page records on one channel: its own
 * block-name (CONTINUE) state and placement batch (the main channel's is
 * the incoming thread's, the preempt channel's its thread's).
 */
typedef struct PcLoader {
    VsRamBlock *last_block;      /* the block CONTINUE refers to */
    uint8_t *batch;
    size_t batch_block;
    uint64_t batch_first;
    unsigned batch_n;
    bool preempt;                /* the preempt channel's (counted in the stats) */
} PcLoader;

typedef struct PcRequest {
    VsRamBlock *block;
    uint64_t page;
} PcRequest;

/* A guest thread waiting for a page (blocktime). */
typedef struct PcThread {
    int tid;
    bool blocked;
    size_t block;
    uint64_t page;
    int64_t since_us;
    int64_t total_us;
} PcThread;

struct VsPostcopy {
    VsRamList *ram;
    VsDirtyTracker *tracker;
    const gint *cancel;
    GMutex lock;                 /* the fields below marked (L) */
    GCond cond;
    gint shutdown;
    VsPostcopyStats stats;       /* (L) */

    /* ---- source ---- */
    VsMigState *out_st;
    bool out_on;                 /* postcopy-ram in the running migration */
    gint switch_asked;           /* migrate-start-postcopy */
    uint32_t after_rounds;
    int rp_fd;
    GThread *rp_thread;
    bool rp_done;                /* (L) the thread ended */
    bool rp_io_error;            /* (L) it ended on a broken connection */
    char *rp_error;              /* (L) g_malloc'd: a bad message */
    bool got_shut;               /* (L) */
    uint32_t shut_status;        /* (L) */
    uint32_t last_pong;          /* (L) */
    PcRequest *queue;            /* (L) ring of PC_QUEUE_MAX */
    size_t q_head, q_len;        /* (L) */
    gint q_nonempty;             /* q_len > 0, for the sender's fast check */
    unsigned long **recv_bitmaps; /* (L) per block, RECV_BITMAP answers */
    bool *recv_got;              /* (L) */
    bool resume_acked;           /* (L) */
    char *resume_uri;            /* (L) g_malloc'd, set by vs_postcopy_resume() */
    bool out_paused;             /* (L) */
    bool out_preempt;            /* postcopy-preempt in the running migration */
    TALLOC_CTX *pre_out_ctx;     /* the source's preempt channel (NULL: none) */
    VsChannel *pre_out_ch;       /* (L) for a shutdown from another thread */
    uint64_t bw;                 /* atomic: max-postcopy-bandwidth, bytes/s */
    uint64_t pace_bw;            /* the sweep's pace (migration thread only) */
    int64_t pace_start_us;
    uint64_t pace_bytes;

    /* ---- destination ---- */
    VsMigState *in_st;
    const VsMigVmOps *ops;
    void *ops_opaque;
    bool in_cap;                 /* postcopy-ram on this side */
    bool blocktime_cap;
    PcInState in_state;
    bool use_uffd;
    const char *mode;            /* "userfaultfd" | "software", NULL before ADVISE */
    char *mode_note;
    int uffd;
    int wake_fd;                 /* eventfd: the fault thread has work or must stop */
    GThread *fault_thread;
    gint fault_quit;
    gint gate_on;                /* software fallback: the accessor checks */
    size_t n_blocks;
    VsRamBlock **blocks;         /* RAM-list order */
    unsigned long **received;    /* per block, atomic bits */
    unsigned long **requested;   /* per block, atomic bits */
    bool tracker_suspended;
    PcRequest *soft_queue;       /* (L) software faults to request */
    size_t soft_len;             /* (L) */
    unsigned soft_waiters;       /* (L) */
    VsRpWriter *rp;
    PcLoader main_ld;            /* the main channel's records (incoming thread) */
    PcLoader pre_ld;             /* the preempt channel's (its thread) */
    GMutex place_lock;           /* software fallback: check and copy as one */
    int main_fd;                 /* the main channel's socket (the preempt thread breaks it) */
    VsChannel *pre_next;         /* accepted before vs_postcopy_in_begin() */
    VsChannel *pre_in_ch;        /* (L) the preempt channel in use */
    GThread *pre_thread;
    gint pre_quit;               /* the preempt thread is stopped on purpose */
    gint pre_eos;                /* the preempt channel ended with EOS */
    bool in_preempt;             /* postcopy-preempt on this side */
    int64_t **req_time;          /* per block and page: when requested (us), 0: none */
    uint32_t *latencies;         /* (L) PC_MAX_LATENCIES */
    size_t n_latencies;          /* (L) */
    /* Blocktime (L). */
    PcThread threads[PC_MAX_THREADS];
    size_t n_threads;
    size_t n_blocked;
    int64_t all_blocked_since;
    int64_t all_blocked_total;
    /* Recovery. */
    char *recover_uri;           /* (L) g_malloc'd, set by vs_postcopy_recover() */
    bool in_paused;              /* (L) */
    VsChannelListener *listener; /* (L) */
    TALLOC_CTX *in_ctx;          /* the recovered channels */
    VsChannel *in_ch;            /* (L) the channel in use after a recovery */
};

/* Block index of @b in @pc->blocks, or SIZE_MAX. */
size_t pc_block_index(VsPostcopy *pc, const VsRamBlock *b);

static inline bool pc_bit_get(const unsigned long *map, uint64_t bit)
{
    return (__atomic_load_n(&map[bit / VS_BITS_PER_LONG], __ATOMIC_ACQUIRE) >>
            (bit % VS_BITS_PER_LONG)) & 1;
}

static inline void pc_bit_set(unsigned long *map, uint64_t bit)
{
    __atomic_fetch_or(&map[bit / VS_BITS_PER_LONG], 1ul << (bit % VS_BITS_PER_LONG),
                      __ATOMIC_RELEASE);
}

static inline void pc_bit_clear(unsigned long *map, uint64_t bit)
{
    __atomic_fetch_and(&map[bit / VS_BITS_PER_LONG], ~(1ul << (bit % VS_BITS_PER_LONG)),
                       __ATOMIC_RELEASE);
}

/* Returns the old value. */
static inline bool pc_bit_test_and_set(unsigned long *map, uint64_t bit)
{
    unsigned long m = 1ul << (bit % VS_BITS_PER_LONG);

    return (__atomic_fetch_or(&map[bit / VS_BITS_PER_LONG], m, __ATOMIC_ACQ_REL) & m) != 0;
}

/* A command on the main stream: 0x08, be16 cmd, be16 len, payload. */
void pc_put_command(VsQemuFile *f, uint16_t cmd, uint16_t len, const uint8_t *payload);

bool pc_error(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Destination teardown (postcopy-dest.c), from the destructor. */
void pc_in_cleanup(VsPostcopy *pc);

G_END_DECLS

#endif /* VSTATE_MIGRATION_POSTCOPY_INTERNAL_H */
