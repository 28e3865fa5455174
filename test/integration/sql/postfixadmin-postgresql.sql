-- Postfix Admin's tables domain, mailbox, alias and alias_domain on
-- PostgreSQL, as its upgrade.php creates them (written for the hosted-milter
-- tests from Postfix Admin's documented schema; the admin, log, vacation,
-- quota and fetchmail tables are left out: hosted-milter does not read them).
--
-- Booleans are boolean, times timestamptz; addresses are stored in lower
-- case by Postfix Admin (PostgreSQL compares them case-sensitively).
-- Loaded by test/integration/pg_instance.py (psql -v ON_ERROR_STOP=1).

CREATE TABLE domain (
    domain      varchar(255) NOT NULL,
    description varchar(255) NOT NULL DEFAULT '',
    aliases     integer NOT NULL DEFAULT 0,
    mailboxes   integer NOT NULL DEFAULT 0,
    maxquota    bigint NOT NULL DEFAULT 0,
    quota       bigint NOT NULL DEFAULT 0,
    transport   varchar(255) DEFAULT NULL,
    backupmx    boolean NOT NULL DEFAULT false,
    created     timestamp with time zone DEFAULT now(),
    modified    timestamp with time zone DEFAULT now(),
    active      boolean NOT NULL DEFAULT true,
    CONSTRAINT domain_key PRIMARY KEY (domain)
);
CREATE INDEX domain_domain_active ON domain (domain, active);
COMMENT ON TABLE domain IS 'Postfix Admin - Virtual Domains';

CREATE TABLE mailbox (
    username    varchar(255) NOT NULL,
    password    varchar(255) NOT NULL DEFAULT '',
    name        varchar(255) NOT NULL DEFAULT '',
    maildir     varchar(255) NOT NULL DEFAULT '',
    quota       bigint NOT NULL DEFAULT 0,
    local_part  varchar(255) NOT NULL,
    domain      varchar(255) REFERENCES domain ON DELETE CASCADE,
    created     timestamp with time zone DEFAULT now(),
    modified    timestamp with time zone DEFAULT now(),
    active      boolean NOT NULL DEFAULT true,
    CONSTRAINT mailbox_key PRIMARY KEY (username)
);
CREATE INDEX mailbox_username_active ON mailbox (username, active);
CREATE INDEX mailbox_domain_idx ON mailbox (domain);
COMMENT ON TABLE mailbox IS 'Postfix Admin - Virtual Mailboxes';

CREATE TABLE alias (
    address     varchar(255) NOT NULL,
    goto        text NOT NULL,
    domain      varchar(255) NOT NULL REFERENCES domain ON DELETE CASCADE,
    created     timestamp with time zone DEFAULT now(),
    modified    timestamp with time zone DEFAULT now(),
    active      boolean NOT NULL DEFAULT true,
    CONSTRAINT alias_key PRIMARY KEY (address)
);
CREATE INDEX alias_address_active ON alias (address, active);
CREATE INDEX alias_domain_idx ON alias (domain);
COMMENT ON TABLE alias IS 'Postfix Admin - Virtual Aliases';

CREATE TABLE alias_domain (
    alias_domain  varchar(255) NOT NULL REFERENCES domain (domain) ON DELETE CASCADE,
    target_domain varchar(255) NOT NULL REFERENCES domain (domain) ON DELETE CASCADE,
    created       timestamp with time zone DEFAULT now(),
    modified      timestamp with time zone DEFAULT now(),
    active        boolean NOT NULL DEFAULT true,
    PRIMARY KEY (alias_domain)
);
CREATE INDEX alias_domain_active ON alias_domain (alias_domain, active);
CREATE INDEX alias_domain_target_domain ON alias_domain (target_domain);
COMMENT ON TABLE alias_domain IS 'Postfix Admin - Domain Aliases';
