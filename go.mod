module github.com/yubinmail/yubin

go 1.24

require (
	github.com/emersion/go-message v0.18.2 // indirect
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/miekg/dns v1.1.66 // indirect
	github.com/prometheus/client_golang v1.22.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/crypto v0.40.0 // indirect
	golang.org/x/mod v0.24.0 // indirect
	golang.org/x/net v0.42.0 // indirect
	golang.org/x/sync v0.13.0 // indirect
	golang.org/x/sys v0.34.0 // indirect
	golang.org/x/tools v0.32.0 // indirect
)
