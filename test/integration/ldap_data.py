#!/usr/bin/python3
"""LDIF for the test directories of the LDAP source (issue 10).  Standard
library only; the entries use the test schemas in ldap/ (ad.schema,
iredmail.schema) plus core/cosine/inetorgperson/nis.

Owns: what the test directories contain, as LDIF text, and the names a test
refers to (DNs and addresses as module constants), so the milter tests and
the harness tests agree on one tree:

  ad_tree(suffix)          an Active-Directory-style tree: users with
                           proxyAddresses (SMTP: primary, smtp: secondary,
                           X500:/SIP: ignored), a user with only mail, a
                           computer with an SMTP address, contacts with and
                           without targetAddress, groups with members and a
                           nested group, a group without mail; member_loop=True
                           adds two groups naming each other.
  iredmail_tree(suffix)    an iRedMail tree: an active domain with an alias
                           domain, a disabled domain, active and disabled
                           users (shadowAddress, mailForwardingAddress with and
                           without a self-copy, memberOfGroup), an active and a
                           disabled mailList, a mailAlias.
  scale_ldif(path, n)      n entries (100,000 for the benchmark) written to a
                           file, streaming; load it with
                           SlapdInstance.slapadd (offline, fast) or
                           SlapdInstance.add (ldapadd, online).

What each entry must map to is the C side's business (hosted-milter.conf(5),
`schema = ad | iredmail`); the comments say what each entry is there to
exercise.

    ldap_data.py --bench [-n 100000]   compare slapadd and ldapadd loads
"""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from slapd_instance import entry_ldif  # noqa: E402

SUFFIX = "dc=corp,dc=example"

# --- Active Directory ------------------------------------------------------

AD_DOMAIN = "corp.example"          # hosted
AD_DOMAIN2 = "corp2.example"        # hosted too (secondary addresses)
AD_EXTERNAL = "partner.example"     # not hosted (contact targets)


def ad_dns(suffix=SUFFIX):
    """DNs of the AD tree's entries by short name."""
    users = "OU=Users," + suffix
    groups = "OU=Groups," + suffix
    contacts = "OU=Contacts," + suffix
    computers = "OU=Computers," + suffix
    return {
        "users": users, "groups": groups, "contacts": contacts, "computers": computers,
        "postmaster": "CN=Postmaster,%s" % users,
        "alice": "CN=Alice Smith,%s" % users,
        "bob": "CN=Bob Jones,%s" % users,
        "carol": "CN=Carol White,%s" % users,
        "noaddr": "CN=No Address,%s" % users,
        "ws01": "CN=WS01,%s" % computers,
        "dave": "CN=Dave External,%s" % contacts,
        "eve": "CN=Eve Outside,%s" % contacts,
        "sales": "CN=Sales,%s" % groups,
        "emea": "CN=Sales EMEA,%s" % groups,
        "admins": "CN=Domain Admins,%s" % groups,
        "loop_a": "CN=Loop A,%s" % groups,
        "loop_b": "CN=Loop B,%s" % groups,
    }


def _ou(dn, name):
    return entry_ldif(dn, [("objectClass", ["top", "organizationalUnit"]), ("ou", name)])


def ad_user(dn, cn, sn, sam, proxy=(), mail=None, extra=(), object_classes=("user",)):
    attrs = [("objectClass", ["top", "person", "organizationalPerson"] + list(object_classes)),
             ("cn", cn), ("sn", sn), ("sAMAccountName", sam),
             ("userAccountControl", "512")]
    if mail:
        attrs.append(("mail", mail))
    if proxy:
        attrs.append(("proxyAddresses", list(proxy)))
    return entry_ldif(dn, attrs + list(extra))


def ad_contact(dn, cn, sn, proxy=(), mail=None, target=None):
    attrs = [("objectClass", ["top", "person", "organizationalPerson", "contact"]),
             ("cn", cn), ("sn", sn)]
    if mail:
        attrs.append(("mail", mail))
    if proxy:
        attrs.append(("proxyAddresses", list(proxy)))
    if target:
        attrs.append(("targetAddress", target))
    return entry_ldif(dn, attrs)


def ad_group(dn, cn, members=(), proxy=(), mail=None, group_type="8"):
    attrs = [("objectClass", ["top", "group"]), ("cn", cn), ("sAMAccountName", cn),
             ("groupType", group_type)]
    if mail:
        attrs.append(("mail", mail))
    if proxy:
        attrs.append(("proxyAddresses", list(proxy)))
    if members:
        attrs.append(("member", list(members)))
    return entry_ldif(dn, attrs)


def ad_tree(suffix=SUFFIX, domain=AD_DOMAIN, domain2=AD_DOMAIN2, external=AD_EXTERNAL,
            member_loop=False):
    """LDIF of an AD-style tree under suffix (the suffix entry itself is
    the instance's).  member_loop adds CN=Loop A / CN=Loop B, groups with
    addresses whose members name each other."""
    d = ad_dns(suffix)
    out = [_ou(d["users"], "Users"), _ou(d["groups"], "Groups"),
           _ou(d["contacts"], "Contacts"), _ou(d["computers"], "Computers")]
    # Mailboxes.  postmaster: the hosted domains' postmaster mailbox.
    out.append(ad_user(d["postmaster"], "Postmaster", "Postmaster", "postmaster",
                       proxy=["SMTP:postmaster@%s" % domain,
                              "smtp:postmaster@%s" % domain2]))
    # alice: SMTP: primary, smtp: secondaries (one in the second domain,
    # one in mixed case), X500: and SIP: values to be ignored, and a mail
    # attribute that is NOT the primary (SMTP: wins).
    out.append(ad_user(d["alice"], "Alice Smith", "Smith", "alice",
                       mail="alice.old@%s" % domain,
                       proxy=["SMTP:Alice.Smith@%s" % domain,
                              "smtp:alice@%s" % domain,
                              "smtp:asmith@%s" % domain2,
                              "X500:/o=Corp/ou=Exchange/cn=Recipients/cn=alice",
                              "SIP:alice@%s" % domain],
                       extra=[("userPrincipalName", "alice@%s" % domain),
                              ("displayName", "Alice Smith")]))
    # bob: no proxyAddresses, mail is the primary.
    out.append(ad_user(d["bob"], "Bob Jones", "Jones", "bob", mail="bob@%s" % domain))
    # carol: a mailbox reached only through the nested group below.
    out.append(ad_user(d["carol"], "Carol White", "White", "carol",
                       proxy=["SMTP:carol@%s" % domain]))
    # A user without any SMTP address: not a mailbox.
    out.append(ad_user(d["noaddr"], "No Address", "Address", "noaddr",
                       proxy=["X500:/o=Corp/cn=noaddr"]))
    # A computer is a user in AD; its SMTP address must be ignored.
    out.append(ad_user(d["ws01"], "WS01", "WS01", "WS01$",
                       proxy=["SMTP:ws01@%s" % domain],
                       object_classes=("user", "computer"),
                       extra=[("dNSHostName", "ws01.%s" % domain)]))
    # Contacts: dave, SMTP address in the hosted domain -> targetAddress
    # outside; eve, no targetAddress -> mail.
    out.append(ad_contact(d["dave"], "Dave External", "External",
                          proxy=["SMTP:dave@%s" % domain],
                          target="SMTP:dave@%s" % external))
    out.append(ad_contact(d["eve"], "Eve Outside", "Outside",
                          proxy=["SMTP:eve@%s" % domain, "smtp:eve@%s" % domain2],
                          mail="eve@%s" % external))
    # Groups: Sales (alias) -> alice, bob, the contact dave and the nested
    # group Sales EMEA (-> carol); Domain Admins has no address (ignored).
    out.append(ad_group(d["emea"], "Sales EMEA", members=[d["carol"]],
                        proxy=["SMTP:sales-emea@%s" % domain]))
    out.append(ad_group(d["sales"], "Sales",
                        members=[d["alice"], d["bob"], d["dave"], d["emea"]],
                        mail="sales@%s" % domain,
                        proxy=["SMTP:sales@%s" % domain, "smtp:vertrieb@%s" % domain2]))
    out.append(ad_group(d["admins"], "Domain Admins", members=[d["alice"]],
                        group_type="-2147483646"))
    if member_loop:
        out.append(ad_group(d["loop_a"], "Loop A", members=[d["loop_b"], d["bob"]],
                            proxy=["SMTP:loop-a@%s" % domain]))
        out.append(ad_group(d["loop_b"], "Loop B", members=[d["loop_a"]],
                            proxy=["SMTP:loop-b@%s" % domain]))
    return "".join(out)


# --- iRedMail --------------------------------------------------------------

IRM_DOMAIN = "example.com"          # active, hosted
IRM_ALIAS_DOMAIN = "example.net"    # domainAliasName of example.com
IRM_DISABLED_DOMAIN = "old.example" # accountStatus: disabled
IRM_EXTERNAL = "elsewhere.example"


def iredmail_dns(suffix=SUFFIX, domain=IRM_DOMAIN, disabled_domain=IRM_DISABLED_DOMAIN):
    domains = "o=domains," + suffix
    dom = "domainName=%s,%s" % (domain, domains)
    old = "domainName=%s,%s" % (disabled_domain, domains)

    def user(local, d=domain, base=dom):
        return "mail=%s@%s,ou=Users,%s" % (local, d, base)
    return {
        "domains": domains, "domain": dom, "disabled_domain": old,
        "postmaster": user("postmaster"),
        "alice": user("alice"),
        "bob": user("bob"),
        "carol": user("carol"),
        "dave": user("dave"),
        "old_user": user("someone", disabled_domain, old),
        "old_postmaster": user("postmaster", disabled_domain, old),
        "staff": "mail=staff@%s,ou=Groups,%s" % (domain, dom),
        "retired": "mail=retired@%s,ou=Groups,%s" % (domain, dom),
        "info": "mail=info@%s,ou=Aliases,%s" % (domain, dom),
        "oldalias": "mail=oldalias@%s,ou=Aliases,%s" % (domain, dom),
    }


def irm_domain(dn, name, status="active", aliases=()):
    attrs = [("objectClass", ["top", "mailDomain"]), ("domainName", name),
             ("accountStatus", status), ("enabledService", ["mail"]),
             ("mtaTransport", "dovecot")]
    if aliases:
        attrs.append(("domainAliasName", list(aliases)))
    return entry_ldif(dn, attrs)


def irm_user(dn, mail, status="active", shadow=(), forward=(), groups=(), cn=None):
    local = mail.split("@")[0]
    attrs = [("objectClass", ["top", "inetOrgPerson", "shadowAccount", "mailUser"]),
             ("mail", mail), ("uid", local), ("cn", cn or local), ("sn", local),
             ("accountStatus", status),
             ("enabledService", ["mail", "smtp", "deliver", "imap"]),
             ("userPassword", "{CRYPT}x")]
    if shadow:
        attrs.append(("shadowAddress", list(shadow)))
    if forward:
        attrs.append(("mailForwardingAddress", list(forward)))
    if groups:
        attrs.append(("memberOfGroup", list(groups)))
    return entry_ldif(dn, attrs)


def irm_list(dn, mail, object_class="mailList", status="active", shadow=(), forward=()):
    attrs = [("objectClass", ["top", object_class]), ("mail", mail),
             ("cn", mail.split("@")[0]), ("accountStatus", status),
             ("enabledService", ["mail", "deliver"]), ("accessPolicy", "public")]
    if shadow:
        attrs.append(("shadowAddress", list(shadow)))
    if forward:
        attrs.append(("mailForwardingAddress", list(forward)))
    return entry_ldif(dn, attrs)


def iredmail_tree(suffix=SUFFIX, domain=IRM_DOMAIN, alias_domain=IRM_ALIAS_DOMAIN,
                  disabled_domain=IRM_DISABLED_DOMAIN, external=IRM_EXTERNAL):
    """LDIF of an iRedMail tree under suffix."""
    d = iredmail_dns(suffix, domain, disabled_domain)
    out = [entry_ldif(d["domains"], [("objectClass", ["top", "organization"]),
                                     ("o", "domains")])]
    out.append(irm_domain(d["domain"], domain, aliases=[alias_domain]))
    for ou in ("Users", "Groups", "Aliases"):
        out.append(_ou("ou=%s,%s" % (ou, d["domain"]), ou))
    staff = "staff@%s" % domain
    out.append(irm_user(d["postmaster"], "postmaster@%s" % domain))
    # alice: a secondary address, member of the staff list.
    out.append(irm_user(d["alice"], "alice@%s" % domain,
                        shadow=["alice.smith@%s" % domain], groups=[staff]))
    # bob: forwards outside and keeps a copy (self-reference keeps the mailbox).
    out.append(irm_user(d["bob"], "bob@%s" % domain,
                        forward=["bob@%s" % domain, "bob@%s" % external], groups=[staff]))
    # carol: disabled; in the staff list, but contributes nothing.
    out.append(irm_user(d["carol"], "carol@%s" % domain, status="disabled",
                        shadow=["c.white@%s" % domain], groups=[staff]))
    # dave: forwards only (no self-reference): an alias, not a mailbox.
    out.append(irm_user(d["dave"], "dave@%s" % domain, forward=["dave@%s" % external]))
    # staff: an active list, its own secondary address, one outside member
    # by mailForwardingAddress, the rest by the users' memberOfGroup.
    out.append(irm_list(d["staff"], staff, shadow=["team@%s" % domain],
                        forward=["consultant@%s" % external]))
    out.append(irm_list(d["retired"], "retired@%s" % domain, status="disabled",
                        forward=["alice@%s" % domain]))
    out.append(irm_list(d["info"], "info@%s" % domain, object_class="mailAlias",
                        forward=["alice@%s" % domain, "bob@%s" % domain]))
    out.append(irm_list(d["oldalias"], "oldalias@%s" % domain, object_class="mailAlias",
                        status="disabled", forward=["bob@%s" % domain]))
    # A disabled domain with an active user: not hosted.
    out.append(irm_domain(d["disabled_domain"], disabled_domain, status="disabled"))
    out.append(_ou("ou=Users,%s" % d["disabled_domain"], "Users"))
    out.append(irm_user(d["old_postmaster"], "postmaster@%s" % disabled_domain))
    out.append(irm_user(d["old_user"], "someone@%s" % disabled_domain))
    return "".join(out)


# --- scale ------------------------------------------------------------------

def scale_ldif(path, n=100000, schema="ad", suffix=SUFFIX, domains=("scale.example",),
               ou="OU=Scale"):
    """Write n mailbox entries (plus their container) to path, as AD users
    (SMTP: primary, smtp: secondary) or iRedMail users (domain entries and
    mailUser with a shadowAddress).  Addresses are u<i>@<domain>, domains
    taken round robin.  Returns the number of entries written (n plus the
    containers)."""
    written = 0
    with open(path, "w", buffering=1 << 20) as f:
        if schema == "ad":
            base = "%s,%s" % (ou, suffix)
            f.write(_ou(base, ou.split("=", 1)[1]))
            written += 1
            for i in range(n):
                dom = domains[i % len(domains)]
                f.write("dn: CN=User %d,%s\nobjectClass: top\nobjectClass: person\n"
                        "objectClass: organizationalPerson\nobjectClass: user\n"
                        "cn: User %d\nsn: %d\nsAMAccountName: u%d\n"
                        "proxyAddresses: SMTP:u%d@%s\nproxyAddresses: smtp:user.%d@%s\n\n"
                        % (i, base, i, i, i, i, dom, i, dom))
            written += n
        elif schema == "iredmail":
            base = "o=domains,%s" % suffix
            f.write(entry_ldif(base, [("objectClass", ["top", "organization"]),
                                      ("o", "domains")]))
            written += 1
            for dom in domains:
                ddn = "domainName=%s,%s" % (dom, base)
                f.write(irm_domain(ddn, dom))
                f.write(_ou("ou=Users,%s" % ddn, "Users"))
                written += 2
            for i in range(n):
                dom = domains[i % len(domains)]
                f.write("dn: mail=u%d@%s,ou=Users,domainName=%s,%s\nobjectClass: top\n"
                        "objectClass: inetOrgPerson\nobjectClass: mailUser\n"
                        "mail: u%d@%s\nuid: u%d\ncn: u%d\nsn: u%d\naccountStatus: active\n"
                        "shadowAddress: user.%d@%s\n\n"
                        % (i, dom, dom, base, i, dom, i, i, i, i, dom))
            written += n
        else:
            raise ValueError("schema %r" % schema)
    return written


def ldapadd_batches(instance, path, batch=5000):
    """Load an LDIF file online with ldapadd, batch entries per process.
    Returns seconds taken."""
    t0 = time.monotonic()
    with open(path) as f:
        text = f.read()
    blocks = [b for b in text.split("\n\n") if b.strip()]
    for i in range(0, len(blocks), batch):
        instance.add("\n\n".join(blocks[i:i + batch]) + "\n\n")
    return time.monotonic() - t0


def bench(n=100000):
    """Load n AD users both ways into fresh instances; print and return
    {"slapadd": s, "ldapadd": s}."""
    import shutil
    import slapd_instance
    root = tempfile.mkdtemp(prefix="hm-ldap-bench-")
    out = {}
    try:
        path = os.path.join(root, "scale.ldif")
        t0 = time.monotonic()
        scale_ldif(path, n)
        print("generate %d entries: %.2f s" % (n, time.monotonic() - t0), flush=True)
        a = slapd_instance.SlapdInstance(root, "offline", log_level="0").create()
        out["slapadd"] = a.slapadd(path)
        a.start()
        got = a.count("(objectClass=user)")
        a.destroy()
        print("slapadd -q (offline): %.2f s, %d users" % (out["slapadd"], got), flush=True)
        b = slapd_instance.SlapdInstance(root, "online", log_level="0").create().start()
        out["ldapadd"] = ldapadd_batches(b, path)
        got = b.count("(objectClass=user)")
        b.destroy()
        print("ldapadd (online, 5000 a batch): %.2f s, %d users" % (out["ldapadd"], got),
              flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", action="store_true", help="compare slapadd and ldapadd loads")
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("--print", choices=("ad", "iredmail"), help="print a tree's LDIF")
    args = ap.parse_args()
    if args.print == "ad":
        sys.stdout.write(ad_tree())
    elif args.print == "iredmail":
        sys.stdout.write(iredmail_tree())
    elif args.bench:
        bench(args.n)
    else:
        ap.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
