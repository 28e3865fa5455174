/*
 * refuse_milter.c - a second milter for the milter-order test
 * (test/integration/test_milter_order.py): it refuses, at RCPT time, every
 * recipient whose address contains one of the given strings, and lets
 * everything else through.  It never edits a message.  Not a product binary.
 *
 *   refuse_milter -s unix:/path -r STRING [-r STRING ...] [-T timeout]
 *
 * The address examined is the MTA's reading ({rcpt_addr}) when the MTA sends
 * it, else the RCPT argument; the comparison ignores ASCII case.  A refusal
 * is "550 5.7.1 <ADDR>: Recipient address rejected: refused by refuse_milter
 * (matches "STRING")", and one line per RCPT goes to standard error
 * ("refuse_milter: refuse <ADDR>" or "refuse_milter: continue <ADDR>"), so
 * a test can tell which recipients this milter saw.
 */
#include <stdbool.h> /* before mfapi.h, which otherwise typedefs bool */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define MAX_PATTERNS 16

static const char *patterns[MAX_PATTERNS];
static int npatterns;

/* contains_nocase - does hay contain needle, ignoring ASCII case? */
static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++) {
        size_t i = 0;
        while (i < n && hay[i] != '\0' &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

/* printable - copy s into buf with bytes outside printable ASCII, '%' and
 * '\' as \xHH (the reply and the log line must stay one clean line). */
static const char *printable(const char *s, char *buf, size_t size)
{
    size_t o = 0;

    for (; *s != '\0' && o + 5 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch > 0x7e || ch == '%' || ch == '\\')
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o] = '\0';
    return buf;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    /* Only RCPT is needed: skip every other stage the MTA can skip. */
    const unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NOHDRS |
                               SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA;

    (void)ctx;
    (void)f0;
    (void)f2;
    (void)f3;
    *pf0 = 0; /* no message edits */
    *pf1 = f1 & skip;
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    const char *addr = smfi_getsymval(ctx, "{rcpt_addr}");
    char shown[512], text[700];

    if (addr == NULL || addr[0] == '\0')
        addr = argv[0] != NULL ? argv[0] : "";
    printable(addr, shown, sizeof(shown));
    for (int i = 0; i < npatterns; i++) {
        if (contains_nocase(addr, patterns[i])) {
            char pat[128];
            snprintf(text, sizeof(text),
                     "<%s>: Recipient address rejected: refused by refuse_milter (matches \"%s\")",
                     shown, printable(patterns[i], pat, sizeof(pat)));
            fprintf(stderr, "refuse_milter: refuse <%s>\n", shown);
            if (smfi_setreply(ctx, "550", "5.7.1", text) != MI_SUCCESS)
                fprintf(stderr, "refuse_milter: smfi_setreply failed\n");
            return SMFIS_REJECT;
        }
    }
    fprintf(stderr, "refuse_milter: continue <%s>\n", shown);
    return SMFIS_CONTINUE;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s -s unix:/path -r STRING [-r STRING ...] [-T timeout]\n", prog);
}

int main(int argc, char **argv)
{
    char name[] = "refuse-milter";
    const char *conn = NULL;
    int timeout = 300, opt;
    struct smfiDesc d = {
        .xxfi_name = name,
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = 0,
        .xxfi_envrcpt = on_envrcpt,
        .xxfi_negotiate = on_negotiate,
    };

    while ((opt = getopt(argc, argv, "s:r:T:")) != -1) {
        switch (opt) {
        case 's':
            conn = optarg;
            break;
        case 'r':
            if (npatterns == MAX_PATTERNS) {
                fprintf(stderr, "%s: at most %d -r options\n", argv[0], MAX_PATTERNS);
                return 2;
            }
            patterns[npatterns++] = optarg;
            break;
        case 'T':
            timeout = atoi(optarg);
            break;
        default:
            usage(argv[0]);
            return 2;
        }
    }
    if (conn == NULL || npatterns == 0 || optind != argc) {
        usage(argv[0]);
        return 2;
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    if (smfi_setconn((char *)conn) != MI_SUCCESS || smfi_settimeout(timeout) != MI_SUCCESS ||
        smfi_register(d) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
        fprintf(stderr, "refuse_milter: cannot set up %s\n", conn);
        return 1;
    }
    /* The line the harness waits for (as hosted-milter -f prints it). */
    fprintf(stderr, "refuse_milter: listening on %s\n", conn);
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
