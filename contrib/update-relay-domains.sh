#!/bin/sh
# update-relay-domains.sh - write the hosted domains of a hosted-milter
# configuration to a file for Postfix relay_domains (or Sendmail's
# relay-domains) and reload the MTA when the list changed.
#
# usage: update-relay-domains.sh [-c CONF] [-o FILE] [-m] [-n] [-s]
#   -c CONF  hosted-milter configuration (default /etc/hosted-milter/hosted-milter.conf)
#   -o FILE  where to write the list (default /etc/postfix/hosted-domains;
#            Sendmail: /etc/mail/relay-domains)
#   -m       also run postmap on FILE (relay_domains = hash:FILE)
#   -n       do not reload the MTA
#   -s       reload Sendmail (kill -HUP of its pid) instead of Postfix
# Exit status: 0 written (or unchanged), 1 failure (nothing replaced).
#
# An internationalised domain appears twice, in A-label (xn--...) and in
# U-label form, one per line, as hosted-milter -D prints it: Postfix
# compares relay_domains as text, and a client may use either form.
set -eu

conf=/etc/hosted-milter/hosted-milter.conf
out=/etc/postfix/hosted-domains
postmap=no
reload=yes
mta=postfix
milter=${HOSTED_MILTER:-hosted-milter}

usage() {
    sed -n '6,13s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

while getopts c:o:mnsh opt; do
    case $opt in
    c) conf=$OPTARG ;;
    o) out=$OPTARG ;;
    m) postmap=yes ;;
    n) reload=no ;;
    s) mta=sendmail ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

tmp=$(mktemp "$out.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT INT TERM

# -D checks the configuration too: a broken one prints errors, exits 1,
# and the old list stays.
if ! "$milter" -c "$conf" -D >"$tmp"; then
    echo "update-relay-domains: $conf is not valid; $out left unchanged" >&2
    exit 1
fi
if [ -f "$out" ] && cmp -s "$tmp" "$out"; then
    exit 0
fi
chmod 0644 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT INT TERM
if [ "$postmap" = yes ]; then
    # postmap wants "key value" lines; build beside, then replace FILE.db
    map=$(mktemp "$out.map.XXXXXX") || exit 1
    trap 'rm -f "$map" "$map.db"' EXIT INT TERM
    sed 's/$/ OK/' "$out" >"$map"
    postmap "hash:$map"
    mv -f "$map.db" "$out.db"
fi
echo "update-relay-domains: $(wc -l <"$out") domain names in $out"
if [ "$reload" = yes ]; then
    case $mta in
    postfix) postfix reload ;;
    sendmail)
        pidfile=/run/sendmail/mta/sendmail.pid
        [ -f "$pidfile" ] || pidfile=/var/run/sendmail.pid
        kill -HUP "$(head -n 1 "$pidfile")"
        ;;
    esac
fi
