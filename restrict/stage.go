package restrict

import "fmt"

// Stage is the point of the SMTP dialogue at which a [Request] is checked.
// Each stage has its own restriction list in Postfix; see [Policy.Check].
type Stage int

const (
	// StageConnect is the client connection (smtpd_client_restrictions).
	StageConnect Stage = iota
	// StageHelo is HELO/EHLO (smtpd_helo_restrictions).
	StageHelo
	// StageSender is MAIL FROM (smtpd_sender_restrictions).
	StageSender
	// StageRecipient is RCPT TO (smtpd_relay_restrictions, then
	// smtpd_recipient_restrictions).
	StageRecipient
	// StageData is the DATA command (smtpd_data_restrictions).
	StageData
	// StageEndOfData is the end of the message content
	// (smtpd_end_of_data_restrictions, plus header_checks on Request.Header).
	StageEndOfData
)

// StageRcpt is another name for [StageRecipient].
const StageRcpt = StageRecipient

var stageNames = [...]string{"CONNECT", "HELO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE"}

// String returns the SMTP command name Postfix logs for the stage
// ("CONNECT", "HELO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE").
func (s Stage) String() string {
	if s >= 0 && int(s) < len(stageNames) {
		return stageNames[s]
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// Param returns the main.cf parameter that holds the stage's restriction
// list ("smtpd_client_restrictions", ...). For StageRecipient it returns
// "smtpd_recipient_restrictions"; smtpd_relay_restrictions is checked first.
func (s Stage) Param() string {
	switch s {
	case StageConnect:
		return "smtpd_client_restrictions"
	case StageHelo:
		return "smtpd_helo_restrictions"
	case StageSender:
		return "smtpd_sender_restrictions"
	case StageRecipient:
		return "smtpd_recipient_restrictions"
	case StageData:
		return "smtpd_data_restrictions"
	case StageEndOfData:
		return "smtpd_end_of_data_restrictions"
	}
	return ""
}
