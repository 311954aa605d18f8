package main

import (
	"fmt"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/queue"
	"github.com/yubinmail/yubin/restrict/table"
)

// smtpOutParams are the settings of Postfix's smtp(8) client that this
// host reads, with Postfix's defaults.
var smtpOutParams = []config.Param{
	{Name: "smtp_helo_name", Default: "$myhostname"},
	{Name: "smtp_bind_address", Default: ""},
	{Name: "smtp_bind_address6", Default: ""},
	{Name: "smtp_address_preference", Default: "any", Check: oneOf("any", "ipv4", "ipv6")},
	{Name: "smtp_tls_security_level", Default: "may", Check: oneOf("none", "may", "encrypt", "dane", "dane-only", "verify", "secure")},
	{Name: "smtp_tls_CAfile", Default: ""},
	{Name: "smtp_tls_CApath", Default: ""},
	{Name: "smtp_tls_wrappermode", Default: "no", Kind: config.Bool},
	{Name: "smtp_sasl_auth_enable", Default: "no", Kind: config.Bool},
	{Name: "smtp_sasl_password_maps", Default: ""},
	{Name: "smtp_sasl_security_options", Default: "noplaintext, noanonymous"},
	{Name: "smtp_sasl_tls_security_options", Default: "noanonymous"},
	{Name: "smtp_sasl_auth_soft_bounce", Default: "yes", Kind: config.Bool},
	{Name: "smtp_sender_dependent_authentication", Default: "no", Kind: config.Bool},
	{Name: "smtp_mx_address_limit", Default: "5", Kind: config.Int},
	{Name: "smtp_mx_session_limit", Default: "2", Kind: config.Int},
	{Name: "smtp_connect_timeout", Default: "30s", Kind: config.Duration},
	{Name: "smtp_helo_timeout", Default: "300s", Kind: config.Duration},
	{Name: "smtp_starttls_timeout", Default: "300s", Kind: config.Duration},
	{Name: "smtp_mail_timeout", Default: "300s", Kind: config.Duration},
	{Name: "smtp_rcpt_timeout", Default: "300s", Kind: config.Duration},
	{Name: "smtp_data_init_timeout", Default: "120s", Kind: config.Duration},
	{Name: "smtp_data_xfer_timeout", Default: "180s", Kind: config.Duration},
	{Name: "smtp_data_done_timeout", Default: "600s", Kind: config.Duration},
	{Name: "smtp_rset_timeout", Default: "20s", Kind: config.Duration},
	{Name: "smtp_quit_timeout", Default: "300s", Kind: config.Duration},
	{Name: "smtp_connection_cache_on_demand", Default: "yes", Kind: config.Bool},
	{Name: "smtp_connection_cache_time_limit", Default: "2s", Kind: config.Duration},
	{Name: "smtp_connection_reuse_time_limit", Default: "300s", Kind: config.Duration},
	{Name: "fallback_relay", Default: "", Kind: config.List, Doc: "Postfix 2.2's name of smtp_fallback_relay"},
	{Name: "smtp_fallback_relay", Default: "$fallback_relay", Kind: config.List, Doc: "SMTP destinations ([host]:port, domain) tried in order for mail whose own destination is not found or unreachable"},
	{Name: "disable_mime_output_conversion", Default: "no", Kind: config.Bool, Doc: "yes: send 8-bit mail as it is to SMTP and LMTP servers without 8BITMIME instead of converting it to quoted-printable"},
}

// addSMTPTransports adds the smtp and relay transports (Postfix's
// smtp(8): MX lookup, relayhost with SASL, outbound TLS) to the queue.
// Both are the same client; relayhost and transport_maps choose their
// nexthops.
func (h *host) addSMTPTransports(q *queue.Queue, c *config.Config) error {
	t := &queue.SMTPTransport{
		Hostname:                 c.Get("smtp_helo_name"),
		BindAddress:              c.Get("smtp_bind_address"),
		BindAddress6:             c.Get("smtp_bind_address6"),
		Protocols:                c.Get("inet_protocols"),
		AddressPreference:        c.Get("smtp_address_preference"),
		MXAddressLimit:           int(c.Int("smtp_mx_address_limit")),
		MXSessionLimit:           int(c.Int("smtp_mx_session_limit")),
		TLSLevel:                 queue.TLSLevel(c.Get("smtp_tls_security_level")),
		WrapperMode:              c.Bool("smtp_tls_wrappermode"),
		SASLSecurityOptions:      c.Get("smtp_sasl_security_options"),
		SASLTLSSecurityOptions:   c.Get("smtp_sasl_tls_security_options"),
		SASLAuthHardBounce:       !c.Bool("smtp_sasl_auth_soft_bounce"),
		SASLSenderDependent:      c.Bool("smtp_sender_dependent_authentication"),
		ConnectTimeout:           c.Duration("smtp_connect_timeout"),
		HeloTimeout:              c.Duration("smtp_helo_timeout"),
		StartTLSTimeout:          c.Duration("smtp_starttls_timeout"),
		MailTimeout:              c.Duration("smtp_mail_timeout"),
		RcptTimeout:              c.Duration("smtp_rcpt_timeout"),
		DataInitTimeout:          c.Duration("smtp_data_init_timeout"),
		DataXferTimeout:          c.Duration("smtp_data_xfer_timeout"),
		DataDoneTimeout:          c.Duration("smtp_data_done_timeout"),
		RsetTimeout:              c.Duration("smtp_rset_timeout"),
		QuitTimeout:              c.Duration("smtp_quit_timeout"),
		DisableConnectionCache:   !c.Bool("smtp_connection_cache_on_demand"),
		ConnectionCacheTimeLimit: c.Duration("smtp_connection_cache_time_limit"),
		ConnectionReuseTimeLimit: c.Duration("smtp_connection_reuse_time_limit"),
		Logger:                   h.log.With("service", "smtp"),
	}
	t.FallbackRelay = c.List("smtp_fallback_relay")
	t.DisableMIMEOutputConversion = c.Bool("disable_mime_output_conversion")
	if f, p := c.Get("smtp_tls_CAfile"), c.Get("smtp_tls_CApath"); f != "" || p != "" {
		pool, err := queue.LoadRootCAs(f, p)
		if err != nil {
			return fmt.Errorf("smtp_tls_CAfile/smtp_tls_CApath: %w", err)
		}
		t.RootCAs = pool
	}
	if c.Bool("smtp_sasl_auth_enable") {
		ref := c.Get("smtp_sasl_password_maps")
		if ref == "" {
			return fmt.Errorf("smtp_sasl_auth_enable = yes needs smtp_sasl_password_maps")
		}
		tbl, err := table.Open(ref, &table.Options{Logger: h.log})
		if err != nil {
			return fmt.Errorf("smtp_sasl_password_maps: %w", err)
		}
		t.SASL = tbl.Lookup
	}
	if err := h.addTLSPolicy(t, q, c); err != nil {
		return err
	}
	st, err := h.arcForwarding(c, t)
	if err != nil {
		return err
	}
	q.Transports["smtp"] = st
	q.Transports["relay"] = st
	return nil
}
