/*
 * qmp.c: the demo VM's QMP monitor (see qmp.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "vm/qmp.h"
#include "migration/json.h"
#include "migration/multifd.h"
#include "migration/postcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A command line longer than this closes the connection (QEMU's limit is
 * similar in spirit: the parser refuses huge tokens). */
#define QMP_MAX_LINE (1u << 20)

struct VsQmpServer {
    VsVm *vm;
    char *path;
    int listen_fd;
    int wake[2];                 /* a pipe: writing to it stops the thread */
    GThread *thread;
    gint quit;
};

/*
 * vstate's capability (an x- name, as QEMU marks what is not its stable
 * interface): the stream in vstate's BER form, set on both ends.
 */
#define QMP_CAP_BER "x-vstate-ber"

/* QEMU 7.2's capabilities, in QAPI order. */
static const char *const qmp_capabilities_72[] = {
    "xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "compress", "events",
    "postcopy-ram", "x-colo", "release-ram", "block", "return-path",
    "pause-before-switchover", "multifd", "dirty-bitmaps", "postcopy-blocktime",
    "late-block-activate", "x-ignore-shared", "validate-uuid", "background-snapshot",
    "zero-copy-send", "postcopy-preempt",
};

/* QEMU 7.2's migration parameters; those without a VsMigParams member
 * are accepted and have no effect. */
static const char *const qmp_parameters_72[] = {
    "announce-initial", "announce-max", "announce-rounds", "announce-step",
    "compress-level", "compress-threads", "compress-wait-thread", "decompress-threads",
    "throttle-trigger-threshold", "cpu-throttle-initial", "cpu-throttle-increment",
    "cpu-throttle-tailslow", "tls-creds", "tls-hostname", "tls-authz", "max-bandwidth",
    "downtime-limit", "x-checkpoint-delay", "block-incremental", "multifd-channels",
    "xbzrle-cache-size", "max-postcopy-bandwidth", "max-cpu-throttle",
    "multifd-compression", "multifd-zlib-level", "multifd-zstd-level",
    "block-bitmap-mapping",
};

static bool qmp_in_list(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- replies ---------------------------------------------------------------------- */

static void qmp_append_string(GString *out, const char *s)
{
    TALLOC_CTX *tmp = talloc_new(NULL);

    vs_json_write(out, vs_json_new_string(tmp, s), VS_JSON_STYLE_COMPACT);
    talloc_free(tmp);
}

/* Ends a reply: the command's id echoed, as QEMU does. */
static char *qmp_finish(GString *out, const VsJson *id)
{
    if (id) {
        g_string_append(out, ", \"id\": ");
        vs_json_write(out, id, VS_JSON_STYLE_COMPACT);
    }
    g_string_append_c(out, '}');
    return g_string_free(out, FALSE);
}

static char *qmp_error(const VsJson *id, const char *klass, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static char *qmp_error(const VsJson *id, const char *klass, const char *fmt, ...)
{
    GString *out = g_string_new("{\"error\": {\"class\": ");
    g_autofree char *desc = NULL;
    va_list ap;

    va_start(ap, fmt);
    desc = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qmp_append_string(out, klass);
    g_string_append(out, ", \"desc\": ");
    qmp_append_string(out, desc);
    g_string_append_c(out, '}');
    return qmp_finish(out, id);
}

static char *qmp_return(const VsJson *id, const char *value_json)
{
    GString *out = g_string_new("{\"return\": ");

    g_string_append(out, value_json);
    return qmp_finish(out, id);
}

/* ---- commands ------------------------------------------------------------------------ */

typedef struct QmpCall {
    VsQmpServer *q;
    const VsJson *args;          /* an object, or NULL */
    const VsJson *id;
} QmpCall;

static const VsJson *qmp_arg(const QmpCall *c, const char *name)
{
    return c->args ? vs_json_object_get(c->args, name) : NULL;
}

static char *qmp_cmd_query_status(QmpCall *c)
{
    VsVmRunState s = vs_vm_run_state(c->q->vm);
    g_autofree char *v = g_strdup_printf("{\"status\": \"%s\", \"singlestep\": false, "
                                         "\"running\": %s}", vs_vm_run_state_name(s),
                                         s == VS_VM_RUNNING ? "true" : "false");

    return qmp_return(c->id, v);
}

static char *qmp_cmd_stop(QmpCall *c)
{
    vs_vm_stop(c->q->vm);
    return qmp_return(c->id, "{}");
}

static char *qmp_cmd_cont(QmpCall *c)
{
    g_autoptr(GError) err = NULL;

    if (!vs_vm_cont(c->q->vm, &err)) {
        return qmp_error(c->id, "GenericError", "%s", err->message);
    }
    return qmp_return(c->id, "{}");
}

static char *qmp_cmd_quit(QmpCall *c)
{
    g_atomic_int_set(&c->q->quit, 1);
    return qmp_return(c->id, "{}");
}

/* A required string argument, or an error reply in *@ret_reply. */
static const char *qmp_string_arg(QmpCall *c, const char *name, char **ret_reply)
{
    const VsJson *v = qmp_arg(c, name);
    const char *s;

    if (!v) {
        *ret_reply = qmp_error(c->id, "GenericError", "Parameter '%s' is missing", name);
        return NULL;
    }
    s = vs_json_get_string(v, NULL, NULL);
    if (!s) {
        *ret_reply = qmp_error(c->id, "GenericError",
                               "Invalid parameter type for '%s', expected: string", name);
    }
    return s;
}

static char *qmp_cmd_migrate(QmpCall *c)
{
    g_autoptr(GError) err = NULL;
    char *reply = NULL;
    const char *uri = qmp_string_arg(c, "uri", &reply);
    const char *unsupported[] = { "blk", "inc" };
    const VsJson *resume = qmp_arg(c, "resume");
    bool resuming = false;

    if (!uri) {
        return reply;
    }
    if (resume && vs_json_get_bool(resume, &resuming, NULL) && resuming) {
        /* A paused postcopy connects again. */
        if (!vs_postcopy_resume(vs_migration_postcopy(vs_vm_migration(c->q->vm)), uri, &err)) {
            return qmp_error(c->id, "GenericError", "%s", err->message);
        }
        return qmp_return(c->id, "{}");
    }
    for (size_t i = 0; i < G_N_ELEMENTS(unsupported); i++) {
        const VsJson *v = qmp_arg(c, unsupported[i]);
        bool on = false;

        if (v && vs_json_get_bool(v, &on, NULL) && on) {
            return qmp_error(c->id, "GenericError", "Parameter '%s' is not supported here",
                             unsupported[i]);
        }
    }
    if (vs_vm_run_state(c->q->vm) == VS_VM_INMIGRATE) {
        /* QEMU 7.2's words: a destination has no state to send yet. */
        return qmp_error(c->id, "GenericError", "Guest is waiting for an incoming migration");
    }
    if (!vs_migration_start(vs_vm_migration(c->q->vm), uri, &err)) {
        return qmp_error(c->id, "GenericError", "%s", err->message);
    }
    return qmp_return(c->id, "{}");
}

static char *qmp_cmd_migrate_incoming(QmpCall *c)
{
    g_autoptr(GError) err = NULL;
    char *reply = NULL;
    const char *uri = qmp_string_arg(c, "uri", &reply);

    if (!uri) {
        return reply;
    }
    if (!vs_vm_incoming(c->q->vm, uri, &err)) {
        return qmp_error(c->id, "GenericError", "%s", err->message);
    }
    return qmp_return(c->id, "{}");
}

static char *qmp_cmd_migrate_start_postcopy(QmpCall *c)
{
    g_autoptr(GError) err = NULL;

    if (!vs_postcopy_start(vs_migration_postcopy(vs_vm_migration(c->q->vm)), &err)) {
        return qmp_error(c->id, "GenericError", "%s", err->message);
    }
    return qmp_return(c->id, "{}");
}

static char *qmp_cmd_migrate_recover(QmpCall *c)
{
    g_autoptr(GError) err = NULL;
    char *reply = NULL;
    const char *uri = qmp_string_arg(c, "uri", &reply);

    if (!uri) {
        return reply;
    }
    if (!vs_postcopy_recover(vs_migration_postcopy(vs_vm_migration(c->q->vm)), uri, &err)) {
        return qmp_error(c->id, "GenericError", "%s", err->message);
    }
    return qmp_return(c->id, "{}");
}

static char *qmp_cmd_migrate_cancel(QmpCall *c)
{
    vs_migration_cancel(vs_vm_migration(c->q->vm));
    return qmp_return(c->id, "{}");
}

static void qmp_append_ram(GString *out, const VsMigRamInfo *r)
{
    g_string_append_printf(out,
        "\"ram\": {\"transferred\": %" PRIu64 ", \"remaining\": %" PRIu64
        ", \"total\": %" PRIu64 ", \"duplicate\": %" PRIu64 ", \"skipped\": 0"
        ", \"normal\": %" PRIu64 ", \"normal-bytes\": %" PRIu64
        ", \"dirty-pages-rate\": %" PRIu64 ", \"mbps\": %.17g"
        ", \"dirty-sync-count\": %" PRIu64 ", \"postcopy-requests\": %" PRIu64
        ", \"page-size\": %" PRIu64 ", \"multifd-bytes\": 0"
        ", \"pages-per-second\": %" PRIu64 ", \"precopy-bytes\": %" PRIu64
        ", \"downtime-bytes\": %" PRIu64 ", \"postcopy-bytes\": %" PRIu64
        ", \"dirty-sync-missed-zero-copy\": 0}",
        r->transferred, r->remaining, r->total, r->duplicate, r->normal, r->normal_bytes,
        r->dirty_pages_rate, r->mbps, r->dirty_sync_count, r->postcopy_requests, r->page_size,
        r->pages_per_second, r->precopy_bytes, r->downtime_bytes, r->postcopy_bytes);
}

/* MigrationInfo in QAPI member order, only the members the state has. */
static char *qmp_cmd_query_migrate(QmpCall *c)
{
    GString *v = g_string_new("{");
    g_autofree char *text = NULL;
    const char *sep = "";
    VsMigInfo info;

    vs_migration_query(vs_vm_migration(c->q->vm), &info);
    if (info.has_status) {
        g_string_append_printf(v, "\"status\": \"%s\"", vs_mig_status_name(info.status));
        sep = ", ";
    }
    if (info.has_ram) {
        g_string_append(v, sep);
        qmp_append_ram(v, &info.ram);
    }
    if (info.has_total_time) {
        g_string_append_printf(v, ", \"total-time\": %" PRId64, info.total_time);
    }
    if (info.has_expected_downtime) {
        g_string_append_printf(v, ", \"expected-downtime\": %" PRId64, info.expected_downtime);
    }
    if (info.has_downtime) {
        g_string_append_printf(v, ", \"downtime\": %" PRId64, info.downtime);
    }
    if (info.has_setup_time) {
        g_string_append_printf(v, ", \"setup-time\": %" PRId64, info.setup_time);
    }
    if (info.has_cpu_throttle_percentage) {
        g_string_append_printf(v, ", \"cpu-throttle-percentage\": %" PRIu64,
                               info.cpu_throttle_percentage);
    }
    if (info.has_error_desc) {
        g_string_append(v, ", \"error-desc\": ");
        qmp_append_string(v, info.error_desc);
    }
    if (info.has_postcopy_blocktime) {
        g_string_append_printf(v, ", \"postcopy-blocktime\": %" PRIu32
                               ", \"postcopy-vcpu-blocktime\": [", info.postcopy_blocktime);
        for (size_t i = 0; i < info.n_postcopy_vcpu_blocktime; i++) {
            g_string_append_printf(v, "%s%" PRIu32, i ? ", " : "",
                                   info.postcopy_vcpu_blocktime[i]);
        }
        g_string_append_c(v, ']');
    }
    g_string_append_c(v, '}');
    text = g_string_free(v, FALSE);
    return qmp_return(c->id, text);
}

static bool qmp_migration_idle(VsQmpServer *q)
{
    VsMigInfo info;

    vs_migration_query(vs_vm_migration(q->vm), &info);
    return vs_mig_status_is_idle(info.status);
}

/* A multifd-* parameter into @p; NULL, or why not (QEMU's words). */
static char *qmp_set_multifd_parameter(VsMigParams *p, const char *key, const VsJson *val)
{
    VsMultifdCompression comp;
    uint64_t n = 0;

    if (strcmp(key, "multifd-compression") == 0) {
        const char *name = vs_json_get_string(val, NULL, NULL);

        if (!name) {
            return g_strdup_printf("Invalid parameter type for '%s', expected: string", key);
        }
        if (!vs_multifd_compression_parse(name, &comp)) {
            return g_strdup_printf("Parameter '%s' does not accept value '%s'", key, name);
        }
        p->multifd_compression = (uint8_t)comp;
        return NULL;
    }
    if (!vs_json_get_uint64(val, &n, NULL) || n > 255) {
        return g_strdup_printf("Parameter '%s' expects uint8", key);
    }
    if (strcmp(key, "multifd-channels") == 0) {
        p->multifd_channels = (uint8_t)n;
    } else if (strcmp(key, "multifd-zlib-level") == 0) {
        p->multifd_zlib_level = (uint8_t)n;
    } else {
        p->multifd_zstd_level = (uint8_t)n;
    }
    return NULL;
}

static char *qmp_cmd_set_parameters(QmpCall *c)
{
    VsMigration *m = vs_vm_migration(c->q->vm);
    g_autoptr(GError) err = NULL;
    VsMigParams p;

    vs_migration_get_params(m, &p);
    for (size_t i = 0; c->args && i < vs_json_length(c->args); i++) {
        const char *key = vs_json_object_key(c->args, i, NULL);
        const VsJson *val = vs_json_object_value(c->args, i);
        uint64_t n = 0;

        uint8_t *small = NULL;

        if (!qmp_in_list(qmp_parameters_72, G_N_ELEMENTS(qmp_parameters_72), key)) {
            return qmp_error(c->id, "GenericError", "Parameter '%s' is unexpected", key);
        }
        if (strncmp(key, "multifd-", 8) == 0) {
            g_autofree char *why = qmp_set_multifd_parameter(&p, key, val);

            if (why) {
                return qmp_error(c->id, "GenericError", "%s", why);
            }
            continue;
        }
        if (strcmp(key, "throttle-trigger-threshold") == 0) {
            small = &p.throttle_trigger_threshold;
        } else if (strcmp(key, "cpu-throttle-initial") == 0) {
            small = &p.cpu_throttle_initial;
        } else if (strcmp(key, "cpu-throttle-increment") == 0) {
            small = &p.cpu_throttle_increment;
        } else if (strcmp(key, "max-cpu-throttle") == 0) {
            small = &p.max_cpu_throttle;
        } else if (strcmp(key, "max-bandwidth") != 0 && strcmp(key, "downtime-limit") != 0 &&
                   strcmp(key, "max-postcopy-bandwidth") != 0) {
            continue;
        }
        if (!vs_json_get_uint64(val, &n, NULL)) {
            return qmp_error(c->id, "GenericError",
                             "Invalid parameter type for '%s', expected: integer", key);
        }
        if (small) {
            /* Out of range values are refused by vs_migration_set_params(). */
            *small = (uint8_t)MIN(n, 255u);
        } else if (strcmp(key, "max-bandwidth") == 0) {
            p.max_bandwidth = n;
        } else if (strcmp(key, "max-postcopy-bandwidth") == 0) {
            p.max_postcopy_bandwidth = n;
        } else {
            p.downtime_limit = n;
        }
    }
    if (!vs_migration_set_params(m, &p, &err)) {
        return qmp_error(c->id, "GenericError", "%s", err->message);
    }
    return qmp_return(c->id, "{}");
}

static char *qmp_cmd_query_parameters(QmpCall *c)
{
    VsMigParams p;
    g_autofree char *v = NULL;

    vs_migration_get_params(vs_vm_migration(c->q->vm), &p);
    v = g_strdup_printf("{\"throttle-trigger-threshold\": %u, \"cpu-throttle-initial\": %u, "
                        "\"cpu-throttle-increment\": %u, \"max-bandwidth\": %" PRIu64
                        ", \"downtime-limit\": %" PRIu64 ", \"max-postcopy-bandwidth\": %"
                        PRIu64 ", \"max-cpu-throttle\": %u"
                        ", \"multifd-channels\": %u, \"multifd-compression\": \"%s\""
                        ", \"multifd-zlib-level\": %u, \"multifd-zstd-level\": %u}",
                        p.throttle_trigger_threshold, p.cpu_throttle_initial,
                        p.cpu_throttle_increment, p.max_bandwidth, p.downtime_limit,
                        p.max_postcopy_bandwidth, p.max_cpu_throttle, p.multifd_channels,
                        vs_multifd_compression_name(p.multifd_compression),
                        p.multifd_zlib_level, p.multifd_zstd_level);
    return qmp_return(c->id, v);
}

static char *qmp_cmd_set_capabilities(QmpCall *c)
{
    const VsJson *list = qmp_arg(c, "capabilities");
    VsMigration *m = vs_vm_migration(c->q->vm);
    g_autoptr(GError) err = NULL;
    VsMigParams p;

    if (!list || vs_json_kind(list) != VS_JSON_ARRAY) {
        return qmp_error(c->id, "GenericError", "Parameter 'capabilities' is missing");
    }
    if (!qmp_migration_idle(c->q)) {
        return qmp_error(c->id, "GenericError", "There's a migration process in progress");
    }
    vs_migration_get_params(m, &p);
    for (size_t i = 0; i < vs_json_length(list); i++) {
        const VsJson *item = vs_json_array_get(list, i);
        const VsJson *name_v = vs_json_object_get(item, "capability");
        const VsJson *state_v = vs_json_object_get(item, "state");
        const char *name = name_v ? vs_json_get_string(name_v, NULL, NULL) : NULL;
        bool state = false;

        if (!name || !state_v || !vs_json_get_bool(state_v, &state, NULL)) {
            return qmp_error(c->id, "GenericError",
                             "Parameter 'capabilities[%zu]' expects {capability, state}", i);
        }
        if (strcmp(name, QMP_CAP_BER) == 0) {
            p.ber_stream = state;
            continue;
        }
        if (!qmp_in_list(qmp_capabilities_72, G_N_ELEMENTS(qmp_capabilities_72), name)) {
            return qmp_error(c->id, "GenericError",
                             "Parameter 'capability' does not accept value '%s'", name);
        }
        if (strcmp(name, "auto-converge") == 0) {
            p.auto_converge = state;
        } else if (strcmp(name, "background-snapshot") == 0) {
            p.background_snapshot = state;
        } else if (strcmp(name, "multifd") == 0) {
            p.multifd = state;
        } else if (strcmp(name, "postcopy-ram") == 0) {
            p.postcopy_ram = state;
        } else if (strcmp(name, "postcopy-blocktime") == 0) {
            p.postcopy_blocktime = state;
        } else if (strcmp(name, "postcopy-preempt") == 0) {
            p.postcopy_preempt = state;
        } else if (state) {
            return qmp_error(c->id, "GenericError",
                             "Capability '%s' is not supported by this VM yet", name);
        }
    }
    if (!vs_migration_set_params(m, &p, &err)) {
        return qmp_error(c->id, "GenericError", "%s", err->message);
    }
    return qmp_return(c->id, "{}");
}

static char *qmp_cmd_query_capabilities(QmpCall *c)
{
    GString *v = g_string_new("[");
    g_autofree char *text = NULL;
    VsMigParams p;

    vs_migration_get_params(vs_vm_migration(c->q->vm), &p);
    for (size_t i = 0; i < G_N_ELEMENTS(qmp_capabilities_72); i++) {
        bool on = (strcmp(qmp_capabilities_72[i], "auto-converge") == 0 && p.auto_converge) ||
                  (strcmp(qmp_capabilities_72[i], "background-snapshot") == 0 &&
                   p.background_snapshot) ||
                  (strcmp(qmp_capabilities_72[i], "multifd") == 0 && p.multifd) ||
                  (strcmp(qmp_capabilities_72[i], "postcopy-ram") == 0 && p.postcopy_ram) ||
                  (strcmp(qmp_capabilities_72[i], "postcopy-blocktime") == 0 &&
                   p.postcopy_blocktime) ||
                  (strcmp(qmp_capabilities_72[i], "postcopy-preempt") == 0 &&
                   p.postcopy_preempt);

        g_string_append_printf(v, "%s{\"state\": %s, \"capability\": \"%s\"}",
                               i ? ", " : "", on ? "true" : "false", qmp_capabilities_72[i]);
    }
    /* vstate's own, after QEMU's. */
    g_string_append_printf(v, ", {\"state\": %s, \"capability\": \"%s\"}",
                           p.ber_stream ? "true" : "false", QMP_CAP_BER);
    g_string_append_c(v, ']');
    text = g_string_free(v, FALSE);
    return qmp_return(c->id, text);
}

static const struct {
    const char *name;
    char *(*run)(QmpCall *c);
} qmp_commands[] = {
    { "query-status", qmp_cmd_query_status },
    { "stop", qmp_cmd_stop },
    { "cont", qmp_cmd_cont },
    { "quit", qmp_cmd_quit },
    { "migrate", qmp_cmd_migrate },
    { "migrate-incoming", qmp_cmd_migrate_incoming },
    { "migrate_cancel", qmp_cmd_migrate_cancel },
    { "migrate-start-postcopy", qmp_cmd_migrate_start_postcopy },
    { "migrate-recover", qmp_cmd_migrate_recover },
    { "query-migrate", qmp_cmd_query_migrate },
    { "migrate-set-parameters", qmp_cmd_set_parameters },
    { "query-migrate-parameters", qmp_cmd_query_parameters },
    { "migrate-set-capabilities", qmp_cmd_set_capabilities },
    { "query-migrate-capabilities", qmp_cmd_query_capabilities },
};

char *vs_qmp_execute(VsQmpServer *q, const char *line, size_t len, bool *negotiated)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsJson *req = vs_json_parse(tmp, line, len, NULL, &err);
    QmpCall c = { .q = q };
    const VsJson *exec;
    const char *name = NULL;
    char *reply = NULL;

    if (!req) {
        reply = qmp_error(NULL, "GenericError", "JSON parse error, %s", err->message);
        goto out;
    }
    if (vs_json_kind(req) != VS_JSON_OBJECT) {
        reply = qmp_error(NULL, "GenericError", "QMP input must be a JSON object");
        goto out;
    }
    c.id = vs_json_object_get(req, "id");
    c.args = vs_json_object_get(req, "arguments");
    exec = vs_json_object_get(req, "execute");
    if (exec) {
        name = vs_json_get_string(exec, NULL, NULL);
    }
    if (!name) {
        reply = qmp_error(c.id, "GenericError", "QMP input lacks member 'execute'");
        goto out;
    }
    if (c.args && vs_json_kind(c.args) != VS_JSON_OBJECT) {
        reply = qmp_error(c.id, "GenericError", "QMP input member 'arguments' must be an object");
        goto out;
    }
    if (strcmp(name, "qmp_capabilities") == 0) {
        if (*negotiated) {
            reply = qmp_error(c.id, "CommandNotFound",
                              "Capabilities negotiation is already complete, command ignored");
        } else {
            *negotiated = true;
            reply = qmp_return(c.id, "{}");
        }
        goto out;
    }
    if (!*negotiated) {
        reply = qmp_error(c.id, "CommandNotFound",
                          "Expecting capabilities negotiation with 'qmp_capabilities'");
        goto out;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(qmp_commands); i++) {
        if (strcmp(qmp_commands[i].name, name) == 0) {
            reply = qmp_commands[i].run(&c);
            goto out;
        }
    }
    reply = qmp_error(c.id, "CommandNotFound", "The command %s has not been found", name);
out:
    talloc_free(tmp);
    return reply;
}

/* ---- the socket -------------------------------------------------------------------- */

static bool qmp_send(int fd, const char *text)
{
    size_t len = strlen(text), done = 0;

    while (done < len) {
        ssize_t n = send(fd, text + done, len - done, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/* The end of the first complete JSON value in @buf, or 0 (strings and
 * escapes respected). */
static size_t qmp_split(const char *buf, size_t len)
{
    int depth = 0;
    bool in_str = false, esc = false, started = false;

    for (size_t i = 0; i < len; i++) {
        char ch = buf[i];

        if (in_str) {
            if (esc) {
                esc = false;
            } else if (ch == '\\') {
                esc = true;
            } else if (ch == '"') {
                in_str = false;
            }
            continue;
        }
        if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
            started = true;
        } else if (ch == '}' || ch == ']') {
            depth--;
            if (started && depth <= 0) {
                return i + 1;
            }
        }
    }
    return 0;
}

static void qmp_serve_client(VsQmpServer *q, int fd)
{
    static const char greeting[] =
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
        "\"package\": \"vstate vm\"}, \"capabilities\": [\"oob\"]}}\r\n";
    GString *buf = g_string_new(NULL);
    bool negotiated = false;

    if (!qmp_send(fd, greeting)) {
        goto out;
    }
    while (!g_atomic_int_get(&q->quit)) {
        struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { q->wake[0], POLLIN, 0 } };
        char chunk[4096];
        ssize_t n;
        size_t end;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pfd[1].revents) {
            break;
        }
        n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
            break;
        }
        g_string_append_len(buf, chunk, n);
        while ((end = qmp_split(buf->str, buf->len)) > 0) {
            g_autofree char *reply = vs_qmp_execute(q, buf->str, end, &negotiated);
            g_autofree char *line = g_strconcat(reply, "\r\n", NULL);

            g_string_erase(buf, 0, (gssize)end);
            if (!qmp_send(fd, line)) {
                goto out;
            }
        }
        if (buf->len > QMP_MAX_LINE) {
            break;
        }
    }
out:
    g_string_free(buf, TRUE);
    close(fd);
}

static gpointer qmp_thread(gpointer opaque)
{
    VsQmpServer *q = opaque;

    while (!g_atomic_int_get(&q->quit)) {
        struct pollfd pfd[2] = { { q->listen_fd, POLLIN, 0 }, { q->wake[0], POLLIN, 0 } };
        int fd;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pfd[1].revents) {
            break;
        }
        fd = accept4(q->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            qmp_serve_client(q, fd);
        }
    }
    return NULL;
}

static int qmp_destructor(VsQmpServer *q)
{
    if (q->thread) {
        g_atomic_int_set(&q->quit, 1);
        if (write(q->wake[1], "x", 1) < 0) {
            /* The pipe cannot be full: one byte is ever written. */
        }
        g_thread_join(q->thread);
    }
    if (q->listen_fd >= 0) {
        close(q->listen_fd);
        unlink(q->path);
    }
    if (q->wake[0] >= 0) {
        close(q->wake[0]);
        close(q->wake[1]);
    }
    return 0;
}

/* "unix:PATH[,server=on|,server][,wait=off|,nowait]": the path. */
static char *qmp_parse_spec(TALLOC_CTX *ctx, const char *spec, GError **errp)
{
    g_auto(GStrv) parts = NULL;

    if (!g_str_has_prefix(spec, "unix:")) {
        g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_CONFIG,
                    "QMP monitor '%s': only unix:PATH is supported", spec);
        return NULL;
    }
    parts = g_strsplit(spec + 5, ",", -1);
    for (size_t i = 1; parts[i]; i++) {
        if (strcmp(parts[i], "server=on") && strcmp(parts[i], "server") &&
            strcmp(parts[i], "wait=off") && strcmp(parts[i], "nowait")) {
            g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_CONFIG,
                        "QMP monitor '%s': option '%s' is not supported (server=on,wait=off "
                        "is what this monitor does)", spec, parts[i]);
            return NULL;
        }
    }
    if (!parts[0] || !parts[0][0]) {
        g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_CONFIG, "QMP monitor '%s' has no path", spec);
        return NULL;
    }
    return talloc_strdup(ctx, parts[0]);
}

VsQmpServer *vs_qmp_server_new(TALLOC_CTX *mem_ctx, VsVm *vm, const char *spec, GError **errp)
{
    VsQmpServer *q = talloc_zero(mem_ctx, VsQmpServer);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    g_assert(q != NULL);
    q->vm = vm;
    q->listen_fd = -1;
    q->wake[0] = q->wake[1] = -1;
    talloc_set_destructor(q, qmp_destructor);
    q->path = qmp_parse_spec(q, spec, errp);
    if (!q->path) {
        goto fail;
    }
    if (strlen(q->path) >= sizeof(sun.sun_path)) {
        g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_CONFIG, "QMP socket path '%s' is too long",
                    q->path);
        goto fail;
    }
    memcpy(sun.sun_path, q->path, strlen(q->path));
    q->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(q->path);
    if (q->listen_fd < 0 || bind(q->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        listen(q->listen_fd, 1) < 0 || pipe2(q->wake, O_CLOEXEC) < 0) {
        g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_RESOURCE, "QMP monitor on '%s': %s",
                    q->path, g_strerror(errno));
        goto fail;
    }
    q->thread = g_thread_new("vs-qmp", qmp_thread, q);
    return q;
fail:
    talloc_free(q);
    return NULL;
}

bool vs_qmp_server_quit_requested(VsQmpServer *q)
{
    return g_atomic_int_get(&q->quit) != 0;
}
