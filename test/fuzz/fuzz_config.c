/*
 * fuzz_config.c - libFuzzer target for the configuration loader (config.c,
 * libconfuse underneath): the input is the text of hosted-milter.conf,
 * loaded with config_load_buffer.  A loaded configuration must be whole
 * (a table, every setting); its words are then resolved against the table.
 *
 * The process works in a private temporary directory holding "inc.conf"
 * and "virtual", so that include() and `table` in the seeds reach real
 * files; it is removed at exit.
 */
#include <stdbool.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static char workdir[64];

static void remove_workdir(void)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/inc.conf", workdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/virtual", workdir);
    unlink(path);
    rmdir(workdir);
}

static void put(const char *name, const char *text)
{
    FILE *fp = fopen(name, "w");

    CHECK(fp != NULL);
    CHECK(fputs(text, fp) >= 0);
    CHECK(fclose(fp) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");

    (void)argc;
    (void)argv;
    snprintf(workdir, sizeof(workdir), "%s/fuzz_config.XXXXXX",
             tmp != NULL && *tmp != '\0' && strlen(tmp) < 32 ? tmp : "/tmp");
    CHECK(mkdtemp(workdir) != NULL);
    CHECK(chdir(workdir) == 0);
    atexit(remove_workdir);
    put("inc.conf", "domain \"inc.example\" { postmaster = \"pm@inc.example\" }\n"
                    "mailbox \"pm@inc.example\" { addresses = { \"hostmaster@inc.example\" } }\n");
    put("virtual", "inc.example  hosted\n"
                   "sales@inc.example  pm@inc.example, someone@elsewhere.example\n");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag *d = diag_new();
    struct config *c;
    size_t errors;

    CHECK(d != NULL);
    c = config_load_buffer("fuzz.conf", (const char *)data, size, d);
    errors = diag_count(d, DIAG_ERROR);
    for (size_t i = 0; i < diag_size(d); i++)
        CHECK(diag_text(d, i) != NULL);
    if (c == NULL) {
        CHECK(errors > 0);
    } else {
        CHECK(errors == 0);
        CHECK(c->table != NULL && c->socket != NULL && c->path != NULL);
        CHECK(strcmp(c->path, "fuzz.conf") == 0);
        CHECK(c->log_level >= LOG_LEVEL_ERR && c->log_level <= LOG_LEVEL_DEBUG);
        CHECK(table_settings(c->table) != NULL);
        fuzz_resolve_tokens(c->table, data, size, true);
    }
    config_free(c);
    diag_free(d);
    return 0;
}
