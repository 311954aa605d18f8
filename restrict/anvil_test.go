package restrict

import (
	"net/netip"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// Seed 001's anti-abuse settings.
func TestAnvilSeed001Limits(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, err := New(Params{
		"myhostname":                          "mail.zeke.ne.jp",
		"mynetworks":                          "192.168.1.0/24, 127.0.0.0/8",
		"anvil_rate_time_unit":                "60s",
		"smtpd_client_connection_rate_limit":  "120",
		"smtpd_client_message_rate_limit":     "120",
		"smtpd_client_recipient_rate_limit":   "120",
		"smtpd_client_connection_count_limit": "25",
		"smtpd_recipient_restrictions":        "reject_unauth_destination",
	}, WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	l := p.NewLimiter()
	out := netip.MustParseAddr("198.51.100.7")
	var releases []func()
	for i := 0; i < 25; i++ {
		d, rel := l.Connect(out)
		if d.Refused() {
			t.Fatalf("connection %d refused: %v", i+1, d)
		}
		releases = append(releases, rel)
	}
	d, rel := l.Connect(out)
	if d.String() != "421 4.7.0 mail.zeke.ne.jp Error: too many connections from 198.51.100.7" {
		t.Fatalf("26th concurrent connection: %v", d)
	}
	rel()
	releases[0]()
	releases[0]() // idempotent
	if d, rel := l.Connect(out); d.Refused() {
		t.Fatalf("after a release: %v", d)
	} else {
		rel()
	}
	for _, r := range releases[1:] {
		r()
	}
	// 27 connections so far this minute; 93 more reach the rate limit of 120.
	for i := 0; i < 93; i++ {
		d, rel := l.Connect(out)
		rel()
		if d.Refused() {
			t.Fatalf("connection %d refused: %v", 27+i+1, d)
		}
	}
	if d, rel := l.Connect(out); !d.Refused() {
		t.Fatal("121st connection in a minute accepted")
	} else {
		rel()
	}
	clock.t = clock.t.Add(time.Minute)
	if d, rel := l.Connect(out); d.Refused() {
		t.Fatalf("next minute: %v", d)
	} else {
		rel()
	}
	for i := 0; i < 120; i++ {
		if d := l.Recipient(out); d.Refused() {
			t.Fatalf("recipient %d: %v", i+1, d)
		}
	}
	if d := l.Recipient(out); d.String() != "450 4.7.1 Error: too many recipients from 198.51.100.7" {
		t.Fatalf("recipient 121: %v", d)
	}
	for i := 0; i < 120; i++ {
		l.Message(out)
	}
	if d := l.Message(out); d.String() != "450 4.7.1 Error: too much mail from 198.51.100.7" {
		t.Fatalf("message 121: %v", d)
	}
	// mynetworks is exempt (smtpd_client_event_limit_exceptions default).
	lan := netip.MustParseAddr("192.168.1.20")
	for i := 0; i < 200; i++ {
		d, _ := l.Connect(lan)
		if d.Refused() || l.Recipient(lan).Refused() {
			t.Fatal("mynetworks client limited")
		}
	}
}

func TestMessageSizeLimit(t *testing.T) {
	p, err := New(Params{"message_size_limit": "10485760", "smtpd_recipient_restrictions": "reject_unauth_destination"})
	if err != nil {
		t.Fatal(err)
	}
	if d := p.CheckSize(10485760); d.Refused() {
		t.Fatal("size at the limit refused")
	}
	if d := p.CheckSize(10485761); d.String() != "552 5.3.4 Message size exceeds fixed limit" {
		t.Fatalf("got %v", d)
	}
	p, _ = New(Params{"message_size_limit": "0", "smtpd_recipient_restrictions": "reject_unauth_destination"})
	if d := p.CheckSize(1 << 40); d.Refused() {
		t.Fatal("no limit refused")
	}
}
