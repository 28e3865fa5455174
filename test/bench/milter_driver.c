/*
 * milter_driver.c - the benchmark's MTA side of the milter protocol (v6):
 * N concurrent connections over a unix socket, each sending messages
 * (MAIL unless negotiated away, RCPTs, end of message, with the macros
 * Postfix sends; no answer awaited where "no reply" was negotiated) as
 * fast as the milter answers, for a fixed time.  Prints machine-readable
 * "key value" lines: messages/s, failures (any RCPT or EOM answer other
 * than continue/accept, or a broken connection), recipient edits seen, and
 * the per-message latency distribution.  Not a product binary.
 *
 *   milter_driver -s unix:/path -R rcptfile [-c conns] [-d seconds]
 *                 [-m max-messages-per-conn] [-r rcpts-per-message]
 */
#include <stdbool.h> /* before mfapi.h, which otherwise typedefs bool */

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define MAX_PACKET (1 << 20)
#define LAT_BUCKET_US 10 /* latency histogram: 10 us buckets up to 1 s */
#define LAT_BUCKETS 100000

/* What the MTA offers, as Postfix 3.7 does (notes §2). */
#define OFFER_ACTIONS 0x1ffUL
#define OFFER_PROTOCOL 0x1fffffUL

struct opts {
    const char *path;
    char **rcpts;
    size_t nrcpts;
    int conns;
    double seconds;
    long max_msgs;
    int per_msg;
};

struct worker {
    const struct opts *o;
    int id;
    pthread_barrier_t *barrier;
    double start, end;
    long msgs, failures, adds, dels, other_mods, conn_errors;
    double lat_max;
    uint32_t *hist; /* LAT_BUCKETS + 1 */
    char err[256];
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
    char *p;
    size_t len, cap;
};

static int buf_put(struct buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return -1;
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static int buf_str(struct buf *b, const char *s)
{
    return buf_put(b, s, strlen(s) + 1);
}

/* Appends one packet (length, command, data) to out. */
static int packet(struct buf *out, char cmd, const struct buf *data)
{
    uint32_t len = htonl((uint32_t)(1 + (data ? data->len : 0)));

    if (buf_put(out, &len, 4) != 0 || buf_put(out, &cmd, 1) != 0)
        return -1;
    return data && data->len ? buf_put(out, data->p, data->len) : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

static int read_all(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

/* Reads one packet: *cmd, data into rbuf (NUL-terminated), returns length
 * of data or -1. */
static long read_packet(int fd, char *cmd, char *rbuf)
{
    uint32_t len;

    if (read_all(fd, (char *)&len, 4) != 0)
        return -1;
    len = ntohl(len);
    if (len < 1 || len > MAX_PACKET)
        return -1;
    if (read_all(fd, cmd, 1) != 0 || read_all(fd, rbuf, len - 1) != 0)
        return -1;
    rbuf[len - 1] = '\0';
    return (long)len - 1;
}

static int connect_unix(const char *path, char *err, size_t errsz)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 30};
    int fd;

    if (strncmp(path, "unix:", 5) == 0)
        path += 5;
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errsz, "socket path too long");
        return -1;
    }
    strcpy(sa.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
        snprintf(err, errsz, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, errsz, "connect %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* One connection's state after negotiation. */
struct session {
    int fd;
    unsigned long actions, protocol;
    char *rbuf;
};

static int negotiate(struct session *s, char *err, size_t errsz)
{
    struct buf d = {0}, out = {0};
    uint32_t v[3] = {htonl(SMFI_PROT_VERSION), htonl(OFFER_ACTIONS), htonl(OFFER_PROTOCOL)};
    char cmd;
    long n;
    int rc = -1;

    if (buf_put(&d, v, sizeof v) != 0 || packet(&out, SMFIC_OPTNEG, &d) != 0)
        goto out;
    if (write_all(s->fd, out.p, out.len) != 0 || (n = read_packet(s->fd, &cmd, s->rbuf)) < 12 ||
        cmd != SMFIC_OPTNEG) {
        snprintf(err, errsz, "option negotiation failed");
        goto out;
    }
    memcpy(v, s->rbuf, sizeof v);
    s->actions = ntohl(v[1]);
    s->protocol = ntohl(v[2]);
    rc = 0;
out:
    free(d.p);
    free(out.p);
    return rc;
}

/* Appends a macro packet for stage: name, value pairs (NULL-terminated). */
static int macros(struct buf *out, char stage, const char *const *nv)
{
    struct buf d = {0};
    int rc = -1;

    if (buf_put(&d, &stage, 1) != 0)
        goto out;
    for (; nv[0] != NULL; nv += 2)
        if (buf_str(&d, nv[0]) != 0 || buf_str(&d, nv[1]) != 0)
            goto out;
    rc = packet(out, SMFIC_MACRO, &d);
out:
    free(d.p);
    return rc;
}

enum verdict { V_OK, V_FAIL, V_BROKEN };

/* Reads replies until a final one; counts modifications into w. */
static enum verdict await_reply(struct session *s, struct worker *w)
{
    for (;;) {
        char cmd;
        if (read_packet(s->fd, &cmd, s->rbuf) < 0)
            return V_BROKEN;
        switch (cmd) {
        case SMFIR_CONTINUE:
        case SMFIR_ACCEPT:
            return V_OK;
        case SMFIR_PROGRESS:
            continue;
        case SMFIR_ADDRCPT:
        case SMFIR_ADDRCPT_PAR:
            w->adds++;
            continue;
        case SMFIR_DELRCPT:
            w->dels++;
            continue;
        case SMFIR_ADDHEADER:
        case SMFIR_INSHEADER:
        case SMFIR_CHGHEADER:
        case SMFIR_CHGFROM:
        case SMFIR_REPLBODY:
        case SMFIR_QUARANTINE:
            w->other_mods++;
            continue;
        default:
            return V_FAIL; /* reject, tempfail, replycode, discard, ... */
        }
    }
}

/* Sends one command (and its macros, already in out) and, unless the
 * protocol says the milter does not reply, awaits the answer. */
static enum verdict step(struct session *s, struct worker *w, struct buf *out, char cmd,
                         const struct buf *data, unsigned long noreply)
{
    enum verdict v = V_OK;

    if (packet(out, cmd, data) != 0)
        return V_BROKEN;
    if (write_all(s->fd, out->p, out->len) != 0)
        v = V_BROKEN;
    else if ((s->protocol & noreply) == 0)
        v = await_reply(s, w);
    out->len = 0;
    return v;
}

/* One message; returns its verdict. */
static enum verdict message(struct session *s, struct worker *w, long seq)
{
    const struct opts *o = w->o;
    struct buf out = {0}, d = {0};
    char qid[32];
    enum verdict v = V_OK, r;

    snprintf(qid, sizeof qid, "B%02d%010ld", w->id, seq);
    {
        const char *nv[] = {"v",     "Postfix 3.7.11", "{daemon_name}",
                            "bench", "{mail_addr}",    "sender@example.org",
                            NULL};
        if (macros(&out, SMFIC_MAIL, nv) != 0 || buf_str(&d, "<sender@example.org>") != 0)
            goto broken;
        /* A milter that negotiated MAIL away still gets its macros, sent
         * with the RCPT (as Postfix and Sendmail do). */
        if (!(s->protocol & SMFIP_NOMAIL) &&
            (r = step(s, w, &out, SMFIC_MAIL, &d, SMFIP_NR_MAIL)) != V_OK)
            goto done_r;
    }
    for (int j = 0; j < o->per_msg; j++) {
        size_t k =
            ((size_t)w->id * 7919u + (size_t)seq * (size_t)o->per_msg + (size_t)j) % o->nrcpts;
        char path[600];
        const char *nv[] = {
            "i",    qid, "v", "Postfix 3.7.11", "{rcpt_addr}", o->rcpts[k], "{rcpt_mailer}",
            "smtp", NULL};
        snprintf(path, sizeof path, "<%s>", o->rcpts[k]);
        d.len = 0;
        if (macros(&out, SMFIC_RCPT, nv) != 0 || buf_str(&d, path) != 0)
            goto broken;
        if ((r = step(s, w, &out, SMFIC_RCPT, &d, SMFIP_NR_RCPT)) == V_BROKEN)
            goto done_r;
        if (r == V_FAIL)
            v = V_FAIL;
    }
    d.len = 0;
    if (!(s->protocol & SMFIP_NODATA) &&
        (r = step(s, w, &out, SMFIC_DATA, NULL, SMFIP_NR_DATA)) != V_OK)
        goto done_r;
    if (!(s->protocol & SMFIP_NOEOH) &&
        (r = step(s, w, &out, SMFIC_EOH, NULL, SMFIP_NR_EOH)) != V_OK)
        goto done_r;
    {
        const char *nv[] = {"i", qid, NULL};
        if (macros(&out, SMFIC_BODYEOB, nv) != 0)
            goto broken;
        /* end of message always gets an answer */
        if ((r = step(s, w, &out, SMFIC_BODYEOB, NULL, 0)) != V_OK)
            goto done_r;
    }
    goto out;
done_r:
    v = r == V_BROKEN ? V_BROKEN : V_FAIL;
    goto out;
broken:
    v = V_BROKEN;
out:
    free(out.p);
    free(d.p);
    return v;
}

static void record_latency(struct worker *w, double sec)
{
    long b = (long)(sec * 1e6 / LAT_BUCKET_US);

    if (sec > w->lat_max)
        w->lat_max = sec;
    w->hist[b < LAT_BUCKETS ? b : LAT_BUCKETS]++;
}

static int open_session(struct session *s, struct worker *w)
{
    s->fd = connect_unix(w->o->path, w->err, sizeof w->err);
    if (s->fd < 0)
        return -1;
    if (negotiate(s, w->err, sizeof w->err) != 0) {
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    return 0;
}

static void close_session(struct session *s)
{
    struct buf out = {0};

    if (s->fd < 0)
        return;
    if (packet(&out, SMFIC_QUIT, NULL) == 0)
        (void)write_all(s->fd, out.p, out.len);
    free(out.p);
    close(s->fd);
    s->fd = -1;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct session s = {.fd = -1};
    double deadline;
    long seq = 0;

    s.rbuf = malloc(MAX_PACKET + 1);
    if (s.rbuf == NULL || open_session(&s, w) != 0) {
        if (s.rbuf == NULL)
            snprintf(w->err, sizeof w->err, "out of memory");
        w->conn_errors++;
    }
    pthread_barrier_wait(w->barrier);
    w->start = now();
    deadline = w->start + w->o->seconds;
    while (s.rbuf != NULL && (w->o->max_msgs <= 0 || seq < w->o->max_msgs)) {
        double t0 = now();
        if (t0 >= deadline)
            break;
        if (s.fd < 0 && open_session(&s, w) != 0) {
            w->conn_errors++;
            break;
        }
        enum verdict v = message(&s, w, seq++);
        double t1 = now();
        w->msgs++;
        record_latency(w, t1 - t0);
        if (v != V_OK)
            w->failures++;
        if (v == V_BROKEN) {
            w->conn_errors++;
            close(s.fd);
            s.fd = -1;
        }
    }
    w->end = now();
    close_session(&s);
    free(s.rbuf);
    return NULL;
}

static int load_rcpts(struct opts *o, const char *file)
{
    FILE *f = fopen(file, "r");
    char line[512];
    size_t cap = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (o->nrcpts == cap) {
            cap = cap ? cap * 2 : 1024;
            char **p = realloc(o->rcpts, cap * sizeof *p);
            if (p == NULL)
                break;
            o->rcpts = p;
        }
        if ((o->rcpts[o->nrcpts] = strdup(line)) == NULL)
            break;
        o->nrcpts++;
    }
    int bad = ferror(f) || !feof(f);
    fclose(f);
    return bad || o->nrcpts == 0 ? -1 : 0;
}

static double percentile(const uint64_t *hist, uint64_t total, double p)
{
    uint64_t want = (uint64_t)((double)total * p), acc = 0;

    for (long b = 0; b <= LAT_BUCKETS; b++) {
        acc += hist[b];
        if (acc > want)
            return (double)(b + 1) * LAT_BUCKET_US;
    }
    return (double)LAT_BUCKETS * LAT_BUCKET_US;
}

int main(int argc, char **argv)
{
    struct opts o = {.conns = 1, .seconds = 5, .per_msg = 1};
    const char *rfile = NULL;
    struct worker *w = NULL;
    pthread_t *th = NULL;
    pthread_barrier_t barrier;
    uint64_t *hist = NULL, total = 0;
    int opt, status = 1, started = 0;

    while ((opt = getopt(argc, argv, "s:R:c:d:m:r:")) != -1) {
        switch (opt) {
        case 's':
            o.path = optarg;
            break;
        case 'R':
            rfile = optarg;
            break;
        case 'c':
            o.conns = atoi(optarg);
            break;
        case 'd':
            o.seconds = atof(optarg);
            break;
        case 'm':
            o.max_msgs = atol(optarg);
            break;
        case 'r':
            o.per_msg = atoi(optarg);
            break;
        default:
            goto usage;
        }
    }
    if (o.path == NULL || rfile == NULL || o.conns < 1 || o.conns > 1024 || o.seconds <= 0 ||
        o.seconds > 3600 || o.per_msg < 1 || o.per_msg > 1000)
        goto usage;
    if (load_rcpts(&o, rfile) != 0) {
        fprintf(stderr, "milter_driver: cannot read recipients from %s\n", rfile);
        goto out;
    }
    w = calloc((size_t)o.conns, sizeof *w);
    th = calloc((size_t)o.conns, sizeof *th);
    hist = calloc(LAT_BUCKETS + 1, sizeof *hist);
    if (w == NULL || th == NULL || hist == NULL ||
        pthread_barrier_init(&barrier, NULL, (unsigned)o.conns) != 0)
        goto out;
    for (int i = 0; i < o.conns; i++) {
        w[i] = (struct worker){.o = &o, .id = i, .barrier = &barrier};
        if ((w[i].hist = calloc(LAT_BUCKETS + 1, sizeof *w[i].hist)) == NULL)
            goto join;
    }
    for (; started < o.conns; started++)
        if (pthread_create(&th[started], NULL, worker_main, &w[started]) != 0)
            break;
join:
    /* A thread that could not start would leave the others in the
     * barrier; that only happens out of resources, so give up loudly. */
    if (started != o.conns) {
        fprintf(stderr, "milter_driver: could not start %d threads\n", o.conns);
        goto out;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    {
        double t0 = w[0].start, t1 = w[0].end, lat_max = 0;
        long msgs = 0, fails = 0, adds = 0, dels = 0, other = 0, cerr = 0;
        for (int i = 0; i < o.conns; i++) {
            t0 = w[i].start < t0 ? w[i].start : t0;
            t1 = w[i].end > t1 ? w[i].end : t1;
            msgs += w[i].msgs, fails += w[i].failures, adds += w[i].adds, dels += w[i].dels;
            other += w[i].other_mods, cerr += w[i].conn_errors;
            lat_max = w[i].lat_max > lat_max ? w[i].lat_max : lat_max;
            for (long b = 0; b <= LAT_BUCKETS; b++)
                hist[b] += w[i].hist[b];
            if (w[i].err[0] != '\0')
                fprintf(stderr, "milter_driver: connection %d: %s\n", i, w[i].err);
        }
        total = (uint64_t)msgs;
        printf("connections %d\nrcpts_per_message %d\nseconds %.3f\nmessages %ld\n", o.conns,
               o.per_msg, t1 - t0, msgs);
        printf("msgs_per_s %.1f\nfailures %ld\nconnection_errors %ld\n",
               t1 > t0 ? (double)msgs / (t1 - t0) : 0.0, fails, cerr);
        printf("adds %ld\ndeletes %ld\nother_modifications %ld\n", adds, dels, other);
        printf("latency_p50_us %.0f\nlatency_p99_us %.0f\nlatency_max_us %.0f\n",
               percentile(hist, total, 0.5), percentile(hist, total, 0.99), lat_max * 1e6);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        /* The driver's own CPU: compared with the milter's, it tells
         * whether the driver could be the bottleneck. */
        printf("driver_cpu_s %.3f\n",
               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
        status = fails == 0 && cerr == 0 ? 0 : 3;
    }
out:
    if (w != NULL)
        for (int i = 0; i < o.conns; i++)
            free(w[i].hist);
    free(w);
    free(th);
    free(hist);
    for (size_t i = 0; i < o.nrcpts; i++)
        free(o.rcpts[i]);
    free(o.rcpts);
    return status;
usage:
    fprintf(stderr,
            "usage: %s -s unix:/path -R rcptfile [-c conns] [-d seconds] "
            "[-m max-messages-per-conn] [-r rcpts-per-message]\n",
            argv[0]);
    return 2;
}
