-- postfixadmin-notify-postgresql.sql - NOTIFY hosted-milter when Postfix
-- Admin's tables change, so that a source with `listen = "hosted_milter"`
-- re-reads the database within a second or two of the commit.
--
--   psql -d postfix -f postfixadmin-notify-postgresql.sql   (as the owner of the tables)
--
-- One notification per statement (the payload is the table's name);
-- PostgreSQL delivers them at COMMIT and folds duplicates within a
-- transaction, and hosted-milter reads the whole database once per burst.
-- Run it again after a Postfix Admin upgrade that recreates the tables.

CREATE OR REPLACE FUNCTION hosted_milter_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hosted_milter', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS hosted_milter_notify ON domain;
CREATE TRIGGER hosted_milter_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON domain
    FOR EACH STATEMENT EXECUTE FUNCTION hosted_milter_notify();

DROP TRIGGER IF EXISTS hosted_milter_notify ON mailbox;
CREATE TRIGGER hosted_milter_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mailbox
    FOR EACH STATEMENT EXECUTE FUNCTION hosted_milter_notify();

DROP TRIGGER IF EXISTS hosted_milter_notify ON alias;
CREATE TRIGGER hosted_milter_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON alias
    FOR EACH STATEMENT EXECUTE FUNCTION hosted_milter_notify();

DROP TRIGGER IF EXISTS hosted_milter_notify ON alias_domain;
CREATE TRIGGER hosted_milter_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON alias_domain
    FOR EACH STATEMENT EXECUTE FUNCTION hosted_milter_notify();
