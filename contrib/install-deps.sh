#!/usr/bin/env bash
# install-deps.sh - install what building, testing and the demo need on a
# Debian machine (a no-op when everything is there already).  Run as root,
# or as a user with sudo: then only the apt-get part runs as root (the
# script calls itself again through sudo).
# Postfix is preseeded with "No configuration": it writes no main.cf and
# starts nothing; the tests and the demo run private instances.  slapd is
# preseeded the same way ("Omit OpenLDAP server configuration"): its postinst
# creates no database under /var/lib/ldap and no cn=config, so the service has
# nothing to start; the LDAP tests run private slapd instances
# (test/integration/slapd_instance.py).  The SQL tests run private
# PostgreSQL and MariaDB servers (test/integration/pg_instance.py,
# mariadb_instance.py): postgresql and mariadb-server are installed with
# service starts denied (a policy-rc.d for the length of the install when
# there is none), and a server the install still left running (a cluster
# created by postgresql's postinst, mariadbd) is stopped by its pid file.
# postfix-pgsql and postfix-mysql are for the Postfix oracle of those tests.
# dpkg-dev (dpkg-shlibdeps), lintian, mmdebstrap and systemd (systemd-analyze)
# are for the Debian package and its test (contrib/build-deb.sh, test/package).
# libmicrohttpd-dev serves the metrics; prometheus brings promtool and the
# server the metrics test runs privately (its own service is not started,
# as above).
set -euo pipefail

# The Sendmail suite fetches Sendmail, m4 and the libraries missing here
# with apt-get download (nothing installed); it runs it under unshare with
# a private mount namespace, hence unshare (util-linux) and mount.
packages=(build-essential cmake pkg-config libmilter-dev libconfuse-dev libidn2-dev libunistring-dev check
          postfix swaks python3 unshare mount groff-base man-db
          clang libclang-rt-dev valgrind
          slapd ldap-utils libldap-dev
          libpq-dev libmariadb-dev
          libmicrohttpd-dev prometheus
          postgresql mariadb-server postfix-pgsql postfix-mysql
          dpkg-dev lintian mmdebstrap systemd)
missing=()
for p in "${packages[@]}"; do
    [ "$p" = unshare ] && { command -v unshare >/dev/null || missing+=(util-linux); continue; }
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    # Only the install needs root: a user with sudo runs this script again
    # through it (sudo asks for the password if it must).
    if command -v sudo >/dev/null 2>&1; then
        echo "install-deps: missing packages: ${missing[*]}; installing with sudo" >&2
        exec sudo -- "$0" "$@"
    fi
    echo "install-deps: missing packages: ${missing[*]}; run as root (or install sudo) to install them" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
# No service starts during the install (invoke-rc.d and deb-systemd-invoke
# both ask policy-rc.d); an existing policy-rc.d is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
# Servers running before the install are not ours to stop.
pg_before=$(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}' || true)
mysqld_before=
[ -s /run/mysqld/mysqld.pid ] && kill -0 "$(cat /run/mysqld/mysqld.pid)" 2>/dev/null && mysqld_before=yes
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for c in $(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}'); do
    case " $pg_before " in *" $c "*) continue ;; esac
    pg_ctlcluster "${c%/*}" "${c#*/}" stop -m fast || true
    echo "install-deps: stopped PostgreSQL cluster $c started by the install"
done
if [ -z "$mysqld_before" ] && [ -s /run/mysqld/mysqld.pid ]; then
    pid=$(cat /run/mysqld/mysqld.pid)
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        echo "install-deps: stopped mariadbd ($pid) started by the install"
    fi
fi
echo "install-deps: installed ${missing[*]}"
