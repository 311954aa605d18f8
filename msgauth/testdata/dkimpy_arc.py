# ARC signing and verification with dkimpy (Debian's python3-dkim), for
# msgauth's differential tests. Reads a JSON request on stdin, writes a
# JSON answer on stdout. DNS: dnspython asking only the nsd the test runs
# on 127.0.0.1 (argv[1] is its port), through dkimpy's dnsfunc hook.
import base64, json, sys
import dkim
import dns.resolver

res = dns.resolver.Resolver(configure=False)
res.nameservers = ['127.0.0.1']
res.port = int(sys.argv[1])

def txt(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    try:
        a = res.resolve(name, 'TXT', lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    for r in a:
        return b''.join(r.strings)
    return None

req = json.load(sys.stdin)
out = []
for item in req['items']:
    msg = base64.b64decode(item['msg'])
    try:
        dkim.rfc822_parse(msg)
    except dkim.MessageFormatError as e:
        # dkimpy refuses some headers (a space before the colon).
        out.append({'error': str(e)})
        continue
    if req['mode'] == 'verify':
        cv, _, reason = dkim.arc_verify(msg, dnsfunc=txt)
        out.append({'cv': (cv or b'fail').decode(), 'reason': reason})
    else:
        with open(item['keyfile'], 'rb') as f:
            key = f.read()
        lines = dkim.arc_sign(msg, item['selector'].encode(), item['domain'].encode(), key,
                              item['srvid'].encode(), timestamp=item['t'])
        out.append({'set': base64.b64encode(b''.join(lines)).decode()})
json.dump(out, sys.stdout)
