# Reads "ip<TAB>sender<TAB>helo" lines on stdin and prints pyspf's
# check2 result for each, one per line. argv[1] is the DNS server port on
# 127.0.0.1. Run with /usr/bin/python3 (Debian's python3-spf).
import sys
import DNS
import spf

# pyspf prefers dnspython when it is installed (python3-dkim pulls it
# in), which asks the system's resolver: use pydns, pointed at our nsd.
spf.DNS = DNS
spf.DNSLookup = spf.DNSLookup_pydns
DNS.defaults['server'] = ['127.0.0.1']
DNS.defaults['port'] = int(sys.argv[1])
for line in sys.stdin:
    ip, sender, helo = line.rstrip('\n').split('\t')
    try:
        res, _ = spf.check2(i=ip, s=sender, h=helo, querytime=20)
    except Exception as e:  # report, do not stop the run
        res = 'exception:' + type(e).__name__
    print(res, flush=True)
