# Reads "ip<TAB>sender<TAB>helo" lines on stdin and prints pyspf's
# check2 result for each, one per line. argv[1] is the DNS server port on
# 127.0.0.1. Run with /usr/bin/python3 (Debian's python3-spf).
import sys
import DNS
import spf

DNS.defaults['server'] = ['127.0.0.1']
DNS.defaults['port'] = int(sys.argv[1])
# pyspf prefers dnspython when it is installed (python3-dkim pulls it
# in), and dnspython reads /etc/resolv.conf: always use pydns, pointed
# at the test's DNS server above.
spf.DNS = DNS
if not hasattr(DNS.Type, 'SPF'):
    DNS.Type.SPF = 99
    DNS.Type.typemap[99] = 'SPF'
    DNS.Lib.RRunpacker.getSPFdata = DNS.Lib.RRunpacker.getTXTdata
spf.DNSLookup = spf.DNSLookup_pydns
for line in sys.stdin:
    ip, sender, helo = line.rstrip('\n').split('\t')
    try:
        res, _ = spf.check2(i=ip, s=sender, h=helo, querytime=20)
    except Exception as e:  # report, do not stop the run
        res = 'exception:' + type(e).__name__
    print(res, flush=True)
