#!/usr/bin/env bash
# install-deps.sh - install what building, testing and the demo need on a
# Debian machine (run as root; a no-op when everything is there already).
# Postfix is preseeded with "No configuration": it writes no main.cf and
# starts nothing; the tests and the demo run private instances.  slapd is
# preseeded the same way ("Omit OpenLDAP server configuration"): its postinst
# creates no database under /var/lib/ldap and no cn=config, so the service has
# nothing to start; the LDAP tests run private slapd instances
# (test/integration/slapd_instance.py).
set -euo pipefail

# The Sendmail suite fetches Sendmail, m4 and the libraries missing here
# with apt-get download (nothing installed); it runs it under unshare with
# a private mount namespace, hence unshare (util-linux) and mount.
packages=(build-essential cmake pkg-config libmilter-dev libconfuse-dev libidn2-dev libunistring-dev check
          postfix swaks python3 unshare mount groff-base man-db
          clang libclang-rt-dev valgrind
          slapd ldap-utils libldap-dev)
missing=()
for p in "${packages[@]}"; do
    [ "$p" = unshare ] && { command -v unshare >/dev/null || missing+=(util-linux); continue; }
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: installed ${missing[*]}"
