-- postfixadmin-reader-mysql.sql - a read-only account for hosted-milter
-- with just the SELECT grants its postfixadmin queries need (MariaDB and
-- MySQL).
--
--   mariadb postfix < postfixadmin-reader-mysql.sql      (as an admin; the
--   database is the current one, so pick it on the command line)
--
-- Set a password of your own below (or afterwards with ALTER USER) and put
-- it in hosted-milter's password_file (mode 0640 or stricter).  Over the
-- unix socket, MariaDB's unix_socket authentication needs no password:
-- CREATE USER 'hosted_milter'@'localhost' IDENTIFIED VIA unix_socket
-- when the milter runs as the system user hosted_milter.

CREATE USER IF NOT EXISTS 'hosted_milter'@'localhost' IDENTIFIED BY 'change-me';
SET @grant_db = DATABASE();
SET @q = CONCAT('GRANT SELECT (domain, backupmx, active) ON `', @grant_db,
                '`.domain TO ''hosted_milter''@''localhost''');
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT('GRANT SELECT (alias_domain, target_domain, active) ON `', @grant_db,
                '`.alias_domain TO ''hosted_milter''@''localhost''');
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT('GRANT SELECT (username, active) ON `', @grant_db,
                '`.mailbox TO ''hosted_milter''@''localhost''');
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
SET @q = CONCAT('GRANT SELECT (address, goto, active) ON `', @grant_db,
                '`.alias TO ''hosted_milter''@''localhost''');
PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;
