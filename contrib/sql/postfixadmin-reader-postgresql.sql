-- postfixadmin-reader-postgresql.sql - a read-only role for hosted-milter
-- with just the SELECT grants its postfixadmin queries need.
--
--   psql -d postfix -v password="'...'" -f postfixadmin-reader-postgresql.sql
--
-- Then put the password in hosted-milter's password_file (mode 0640 or
-- stricter, owned by root, group of the milter) and connect with
-- "... dbname=postfix user=hosted_milter".  Over a unix socket with peer
-- authentication no password is needed (map the milter's system user to
-- the role in pg_ident.conf).  Change the schema name if the tables are
-- not in public.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hosted_milter') THEN
        CREATE ROLE hosted_milter LOGIN;
    END IF;
END;
$$;
\if :{?password}
ALTER ROLE hosted_milter PASSWORD :password;
\endif
-- Read-only by default too: every transaction it opens cannot write.
ALTER ROLE hosted_milter SET default_transaction_read_only = on;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM hosted_milter;
GRANT CONNECT ON DATABASE :"DBNAME" TO hosted_milter;
GRANT USAGE ON SCHEMA public TO hosted_milter;
GRANT SELECT (domain, backupmx, active) ON domain TO hosted_milter;
GRANT SELECT (alias_domain, target_domain, active) ON alias_domain TO hosted_milter;
GRANT SELECT (username, active) ON mailbox TO hosted_milter;
GRANT SELECT (address, goto, active) ON alias TO hosted_milter;
