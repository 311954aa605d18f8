package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/yubinmail/yubin/config"
)

// styleNetworks is Postfix's mynetworks_style, used when the file sets
// mynetworks_style but not mynetworks (this host's own default,
// 127.0.0.1/32, stands otherwise): host trusts this machine's addresses,
// subnet the networks of its interfaces, class their whole class A, B
// or C networks (subnets for IPv6). It returns "" when mynetworks
// stands.
func styleNetworks(v *config.Config, addrs func() ([]net.Addr, error)) (string, error) {
	if v.IsSet("mynetworks") || !v.IsSet("mynetworks_style") {
		return "", nil
	}
	style := strings.ToLower(v.Get("mynetworks_style"))
	list, err := addrs()
	if err != nil {
		return "", fmt.Errorf("mynetworks_style = %s: the interfaces' addresses: %w", style, err)
	}
	var out []string
	seen := map[netip.Prefix]bool{}
	for _, a := range list {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		addr, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		addr = addr.Unmap()
		ones, _ := ipn.Mask.Size()
		if addr.Is4() && ones > 32 {
			ones -= 96
		}
		var p netip.Prefix
		switch style {
		case "host":
			p = netip.PrefixFrom(addr, addr.BitLen())
		case "class":
			if addr.Is4() {
				switch b := addr.As4()[0]; {
				case b < 128:
					ones = 8
				case b < 192:
					ones = 16
				default:
					ones = 24
				}
			}
			p = netip.PrefixFrom(addr, ones).Masked()
		default: // subnet
			p = netip.PrefixFrom(addr, ones).Masked()
		}
		if !seen[p] {
			seen[p] = true
			s := p.String()
			if p.Addr().Is6() {
				s = "[" + p.Addr().String() + "]/" + fmt.Sprint(p.Bits())
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, " "), nil
}
