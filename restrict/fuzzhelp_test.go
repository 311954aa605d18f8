package restrict

import "net"

type netMX = net.MX

func notFound() error { return &net.DNSError{Err: "no such host", IsNotFound: true} }
