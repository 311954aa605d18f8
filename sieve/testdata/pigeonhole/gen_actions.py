# Generates actions.txt: the differential corpus of scripts run under
# Pigeonhole's sieve-test and yubin's sieve package (pigeonhole_test.go).
# Hand-written cases follow the generated ones in handwritten_actions.txt.
out = []
def case(name, script, msgs=None):
    head = "### " + name
    if msgs:
        head += " [" + " ".join(msgs) + "]"
    out.append(head + "\n" + script.rstrip("\n") + "\n")

R = 'require ["fileinto", "relational", "comparator-i;ascii-numeric", "regex", "subaddress", "envelope", "index", "variables"];\n'

# header test: match types x comparators x keys.
hkeys = {
    "subj": ('"subject"', ['"Test message about Sieve"', '"test MESSAGE about sieve"', '"*sieve"', '"Test*"', '"T?st*"', '"Sieve"', '"sieve"', '"^Test.*Sieve$"', '"[0-9]+"', '"Caf* menu*"', '"\\\\[devel\\\\]*"']),
    "prio": ('"x-priority"', ['"3"', '"5"', '"10"', '"03"', '"abc"']),
    "multi": ('["x-multi", "x-none"]', ['"two"', '"t*"', '"THREE"', '"o"']),
}
# Keys avoid a leading '?' before the first '*': Pigeonhole 2.3.19
# matches "?est*" against "[devel] Weekly digest" (the '?' is not
# anchored at the start), where RFC 5228 section 2.7.1 and yubin do not.
mts = [":is", ":contains", ":matches", ":regex", ':value "gt"', ':value "le"', ':count "eq"', ':count "ge"']
cmps = ['', ':comparator "i;octet"', ':comparator "i;ascii-numeric"']
n = 0
for hname, (hdr, keys) in hkeys.items():
    for mt in mts:
        for cmp in cmps:
            if cmp.endswith('numeric"') and mt in (":contains", ":matches", ":regex"):
                continue
            if hname == "prio" and mt in (":contains", ":matches", ":regex") :
                continue
            ks = keys if hname != "subj" else keys
            kl = "[" + ", ".join(ks) + "]"
            # One key at a time is too many runs: split keys in two lists.
            half = len(ks)//2
            for part, kk in (("a", ks[:half]), ("b", ks[half:])):
                n += 1
                case("header-%s-%s-%s-%s" % (hname, mt.replace(':','').replace(' ','').replace('"',''), cmp.split('"')[1] if cmp else "default", part),
                     R + 'if header %s %s %s [%s] { fileinto "yes"; }\n' % (cmp, mt, hdr, ", ".join(kk)))

# address test: parts x headers.
parts = [":all", ":localpart", ":domain", ":user", ":detail"]
addr_keys = {
    ":all": '["alice.smith+news@example.com", "rcpt+tag@example.org", "yamada@example.jp", "list-owner@lists.example.net"]',
    ":localpart": '["alice.smith+news", "carol", "devel"]',
    ":domain": '["example.com", "example.org", "lists.example.net", "EXAMPLE.JP"]',
    ":user": '["alice.smith", "rcpt", "yamada"]',
    ":detail": '["news", "tag", ""]',
}
for p in parts:
    for hdr in ['"from"', '["to", "cc", "reply-to", "sender"]']:
        for mt in [":is", ":matches"]:
            keys = addr_keys[p] if mt == ":is" else '["*example*", "a*", "*+*"]'
            case("address-%s-%s-%s" % (p[1:], hdr.strip('[]"').replace('", "', '+'), mt[1:]),
                 R + 'if address %s %s %s %s { fileinto "yes"; } else { fileinto "no"; }\n' % (p, mt, hdr, keys))
    case("address-count-%s" % p[1:], R + 'if address %s :count "ge" :comparator "i;ascii-numeric" ["to","cc"] "3" { fileinto "three"; }\nif address %s :count "eq" :comparator "i;ascii-numeric" ["to","cc"] "0" { fileinto "zero"; }\n' % (p, p))
    case("envelope-%s" % p[1:], R + 'if envelope %s :is "from" %s { fileinto "from"; }\nif envelope %s :is "to" %s { fileinto "to"; }\nif envelope %s :matches "to" "*" { fileinto "to-${1}"; }\n' % (p, addr_keys[p].replace("alice.smith+news@example.com", "sender@example.com").replace("alice.smith", "sender"), p, addr_keys[p], p), ["simple"])

# size.
for op in [":over", ":under"]:
    for v in ["100", "1K", "2k", "10M", "0"]:
        case("size-%s-%s" % (op[1:], v), 'if size %s %s { discard; }\n' % (op, v))

# exists, true/false, not, allof/anyof.
case("exists-1", 'if exists "x-priority" { discard; }\n')
case("exists-2", 'if exists ["from", "date", "message-id"] { discard; }\n')
case("exists-3", 'if exists ["from", "x-nonexistent"] { discard; }\n')
case("exists-case", 'if exists "X-PRIORITY" { discard; }\n')
case("true-false", 'if true { keep; } if false { discard; }\n', ["simple"])
case("not-1", 'if not exists "list-id" { discard; }\n')
case("allof-1", 'if allof (exists "from", header :contains "subject" "test") { discard; }\n')
case("anyof-1", 'if anyof (exists "list-id", header :contains "subject" "caf") { discard; }\n')
case("anyof-nested", 'if anyof (not allof (true, false), false) { discard; }\n', ["simple"])
case("elsif-chain", 'require "fileinto";\nif header :is "x-priority" "1" { fileinto "p1"; } elsif header :is "x-priority" "3" { fileinto "p3"; } elsif exists "list-id" { fileinto "list"; } else { fileinto "other"; }\n')

out_text = "".join(out)
open("actions.txt", "w").write(out_text + open("handwritten_actions.txt").read())
print(len(out), "generated cases")
