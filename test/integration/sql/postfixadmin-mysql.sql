-- Postfix Admin's tables domain, mailbox, alias and alias_domain on
-- MySQL/MariaDB, as its upgrade.php creates them (written for the
-- hosted-milter tests from Postfix Admin's documented schema; the admin,
-- log, vacation, quota and fetchmail tables are left out: hosted-milter
-- does not read them).
--
-- Booleans are tinyint(1), times datetime; the address columns use a
-- case-insensitive collation (latin1_general_ci), so MariaDB compares
-- addresses case-insensitively.  No foreign keys (Postfix Admin's MySQL
-- schema has none).  Loaded by test/integration/mariadb_instance.py.

CREATE TABLE domain (
    domain      varchar(255) COLLATE latin1_general_ci NOT NULL,
    description varchar(255) CHARACTER SET utf8mb4 NOT NULL DEFAULT '',
    aliases     int(10) NOT NULL DEFAULT 0,
    mailboxes   int(10) NOT NULL DEFAULT 0,
    maxquota    bigint(20) NOT NULL DEFAULT 0,
    quota       bigint(20) NOT NULL DEFAULT 0,
    transport   varchar(255) COLLATE latin1_general_ci DEFAULT NULL,
    backupmx    tinyint(1) NOT NULL DEFAULT 0,
    created     datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
    modified    datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
    active      tinyint(1) NOT NULL DEFAULT 1,
    PRIMARY KEY (domain)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_general_ci
  COMMENT='Postfix Admin - Virtual Domains';

CREATE TABLE mailbox (
    username    varchar(255) COLLATE latin1_general_ci NOT NULL,
    password    varchar(255) COLLATE latin1_general_ci NOT NULL,
    name        varchar(255) CHARACTER SET utf8mb4 NOT NULL DEFAULT '',
    maildir     varchar(255) COLLATE latin1_general_ci NOT NULL,
    quota       bigint(20) NOT NULL DEFAULT 0,
    local_part  varchar(255) COLLATE latin1_general_ci NOT NULL,
    domain      varchar(255) COLLATE latin1_general_ci NOT NULL,
    created     datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
    modified    datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
    active      tinyint(1) NOT NULL DEFAULT 1,
    PRIMARY KEY (username),
    KEY domain (domain)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_general_ci
  COMMENT='Postfix Admin - Virtual Mailboxes';

CREATE TABLE alias (
    address     varchar(255) COLLATE latin1_general_ci NOT NULL,
    goto        text COLLATE latin1_general_ci NOT NULL,
    domain      varchar(255) COLLATE latin1_general_ci NOT NULL,
    created     datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
    modified    datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
    active      tinyint(1) NOT NULL DEFAULT 1,
    PRIMARY KEY (address),
    KEY domain (domain)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_general_ci
  COMMENT='Postfix Admin - Virtual Aliases';

CREATE TABLE alias_domain (
    alias_domain  varchar(255) COLLATE latin1_general_ci NOT NULL DEFAULT '',
    target_domain varchar(255) COLLATE latin1_general_ci NOT NULL DEFAULT '',
    created       datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
    modified      datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
    active        tinyint(1) NOT NULL DEFAULT 1,
    PRIMARY KEY (alias_domain),
    KEY active (active),
    KEY target_domain (target_domain)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_general_ci
  COMMENT='Postfix Admin - Domain Aliases';
