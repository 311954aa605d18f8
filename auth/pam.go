//go:build pam && cgo

package auth

/*
#cgo LDFLAGS: -lpam
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

// All memory handed to PAM here is C memory: the Go side passes
// C.CString copies and frees them after yubin_pam_run returns.

struct yubin_pam_cred {
	const char *user;
	const char *pass;
};

// yubin_pam_conv answers PAM's prompts: the password for a prompt
// without echo, the user name for one with echo (as Dovecot's passdb pam
// does), nothing for informational and error messages.
static int yubin_pam_conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *appdata) {
	struct yubin_pam_cred *cred = appdata;
	struct pam_response *r;
	int i;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc(n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *ans = NULL;
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			ans = cred->pass;
			break;
		case PAM_PROMPT_ECHO_ON:
			ans = cred->user;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			continue;
		default:
			goto fail;
		}
		r[i].resp = strdup(ans);
		if (r[i].resp == NULL)
			goto fail;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			memset(r[i].resp, 0, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

// yubin_pam_nodelay replaces the failure delay that modules such as
// pam_unix ask for (about 2 s, spent sleeping in the calling thread): the
// Go side applies its own delay without holding a thread.
static void yubin_pam_nodelay(int retval, unsigned usec, void *appdata) {
	(void)retval; (void)usec; (void)appdata;
}

enum { YUBIN_PAM_START = 1, YUBIN_PAM_AUTH, YUBIN_PAM_ACCT, YUBIN_PAM_SETCRED, YUBIN_PAM_SESSION };

struct yubin_pam_result {
	int status;      // PAM_SUCCESS or the failing call's status
	int stage;       // which call failed (YUBIN_PAM_*), 0 on success
	char *user;      // PAM_USER after success (malloc'd), or NULL
	char errmsg[128];
};

static struct yubin_pam_result yubin_pam_run(const char *service,
		const char *user, const char *pass, const char *rhost,
		int disallow_null, int setcred, int session) {
	struct yubin_pam_result res;
	struct yubin_pam_cred cred = { user, pass };
	struct pam_conv conv = { yubin_pam_conv, &cred };
	pam_handle_t *pamh = NULL;
	const void *item = NULL;
	int flags = disallow_null ? PAM_DISALLOW_NULL_AUTHTOK : 0;
	int st;

	memset(&res, 0, sizeof res);
	st = pam_start(service, user, &conv, &pamh);
	if (st != PAM_SUCCESS) {
		res.status = st;
		res.stage = YUBIN_PAM_START;
		return res;
	}
#ifdef PAM_FAIL_DELAY
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)yubin_pam_nodelay);
#endif
	if (rhost != NULL && rhost[0] != '\0')
		pam_set_item(pamh, PAM_RHOST, rhost);

	st = pam_authenticate(pamh, flags);
	if (st != PAM_SUCCESS) {
		res.stage = YUBIN_PAM_AUTH;
		goto out;
	}
	st = pam_acct_mgmt(pamh, flags);
	if (st != PAM_SUCCESS) {
		res.stage = YUBIN_PAM_ACCT;
		goto out;
	}
	if (setcred) {
		st = pam_setcred(pamh, PAM_ESTABLISH_CRED);
		if (st != PAM_SUCCESS) {
			res.stage = YUBIN_PAM_SETCRED;
			goto out;
		}
	}
	if (session) {
		// Opened and closed at once, as Dovecot does: for modules
		// that log or account logins, not for a lasting session.
		st = pam_open_session(pamh, 0);
		if (st != PAM_SUCCESS) {
			res.stage = YUBIN_PAM_SESSION;
			goto out;
		}
		pam_close_session(pamh, 0);
	}
	if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS && item != NULL)
		res.user = strdup((const char *)item);
	if (setcred)
		pam_setcred(pamh, PAM_DELETE_CRED);
out:
	if (st != PAM_SUCCESS) {
		const char *m = pam_strerror(pamh, st);
		if (m != NULL)
			strncpy(res.errmsg, m, sizeof res.errmsg - 1);
	}
	res.status = st;
	pam_end(pamh, st);
	return res;
}

static void yubin_pam_free(char *p) {
	if (p != NULL) {
		memset(p, 0, strlen(p));
		free(p);
	}
}
*/
import "C"

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// DefaultPAMService is the PAM service name a [PAM] passdb uses when
// Service is empty, as Dovecot's passdb pam ("/etc/pam.d/dovecot").
const DefaultPAMService = "dovecot"

// DefaultPAMMaxConcurrent is how many PAM conversations a [PAM] passdb
// runs at once when MaxConcurrent is zero.
const DefaultPAMMaxConcurrent = 1

// PAM is a PassDB that verifies passwords through the system's PAM
// stack (Dovecot's "passdb pam"). It is built only with the "pam" build
// tag and cgo, and links libpam (Debian package libpam0g-dev to build):
//
//	go build -tags pam ./...
//
// Each Authenticate runs pam_start with the service name, a
// conversation that answers the password prompt, pam_authenticate and
// pam_acct_mgmt with PAM_DISALLOW_NULL_AUTHTOK, optionally pam_setcred
// and pam_open_session/pam_close_session, and pam_end. PAM_RHOST is set
// to the client's address when the context carries a [ConnInfo].
//
// Results follow Dovecot: PAM_USER_UNKNOWN is [ErrUnknownUser], any
// other failure of pam_authenticate or pam_acct_mgmt (wrong password,
// expired account, a module's error) is [ErrAuthFailed], and only a
// failing pam_start, a full queue of waiting requests or a cancelled
// context is [ErrTempFail]. The PAM message is in the wrapped error for
// logs; [Service] turns all of these into replies that do not reveal
// whether the user exists. A module's own failure delay (pam_unix's
// 2 s) is replaced by a no-op through PAM_FAIL_DELAY, so that no thread
// sleeps; [Service.FailureDelay] applies instead.
//
// PAM calls can block (a module may talk to the network); they run on a
// goroutine of their own, and Authenticate returns when ctx is done
// while the call finishes in the background. Empty passwords and names
// or passwords containing NUL bytes are refused without calling PAM.
//
// To check passwords of other users with pam_unix, the process must be
// able to read /etc/shadow (root, or the shadow group); otherwise
// pam_unix's unix_chkpwd helper only checks the calling user's own.
type PAM struct {
	// Service is the PAM service name (the file in /etc/pam.d); empty
	// means DefaultPAMService. "*" means the protocol of the connection
	// (ConnInfo.Service: "imap", "pop3", "smtp"), as in Dovecot's
	// "args = *". Linux-PAM uses /etc/pam.d/other for a service
	// without a file of its own; on Debian that is common-auth, so
	// every service name authenticates system users there.
	Service string
	// SetCred calls pam_setcred (Dovecot's setcred=yes).
	SetCred bool
	// Session opens and closes a PAM session after a successful
	// authentication (Dovecot's session=yes).
	Session bool
	// MaxConcurrent bounds how many PAM conversations run at the same
	// time; zero means DefaultPAMMaxConcurrent. Not every PAM module is
	// safe to run from several threads at once (Dovecot runs each in a
	// single-threaded auth worker process), so raise it only for a
	// stack known to be thread-safe.
	MaxConcurrent int
	// MaxWaiting bounds how many requests wait for a free slot; more
	// are answered with ErrTempFail at once. Zero means 64.
	MaxWaiting int

	once    sync.Once
	slots   chan struct{}
	waiting chan struct{}
}

var _ PassDB = (*PAM)(nil)

func (p *PAM) init() {
	p.once.Do(func() {
		p.slots = make(chan struct{}, max(orDefault(p.MaxConcurrent, DefaultPAMMaxConcurrent), 1))
		p.waiting = make(chan struct{}, max(orDefault(p.MaxWaiting, 64), 1))
	})
}

// service returns the PAM service name for a connection.
func (p *PAM) service(ci *ConnInfo) string {
	service := orDefault(p.Service, DefaultPAMService)
	if service == "*" {
		service = ""
		if ci != nil {
			service = ci.Service
		}
		if service == "" {
			service = DefaultPAMService
		}
	}
	return service
}

type pamResult struct {
	status C.int
	stage  C.int
	user   string
	msg    string
}

// Authenticate implements PassDB.
func (p *PAM) Authenticate(ctx context.Context, user, password string) (*Identity, error) {
	p.init()
	if user == "" || password == "" || strings.IndexByte(user, 0) >= 0 || strings.IndexByte(password, 0) >= 0 {
		return nil, fmt.Errorf("%w: pam: empty or NUL-containing user name or password", ErrAuthFailed)
	}
	ci := ConnInfoFrom(ctx)
	service := p.service(ci)
	rhost := ""
	if ci != nil {
		if ip := addrIP(ci.RemoteAddr); ip.IsValid() {
			rhost = ip.String()
		}
	}

	select {
	case p.waiting <- struct{}{}:
	default:
		return nil, fmt.Errorf("%w: pam: too many requests waiting", ErrTempFail)
	}
	select {
	case p.slots <- struct{}{}:
		<-p.waiting
	case <-ctx.Done():
		<-p.waiting
		return nil, fmt.Errorf("%w: pam: %v", ErrTempFail, ctx.Err())
	}

	done := make(chan pamResult, 1)
	go func() {
		defer func() { <-p.slots }()
		done <- pamRun(service, user, password, rhost, p.SetCred, p.Session)
	}()
	var r pamResult
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: pam: %v", ErrTempFail, ctx.Err())
	}
	if r.status == C.PAM_SUCCESS {
		name := user
		if r.user != "" {
			name = r.user // a module may have changed PAM_USER
		}
		return &Identity{User: name, Fields: map[string]string{}}, nil
	}
	return nil, pamError(r)
}

// pamRun runs one PAM conversation in C. The strings are copied into C
// memory, which C does not keep past pam_end, and wiped and freed here.
func pamRun(service, user, password, rhost string, setcred, session bool) pamResult {
	cService := C.CString(service)
	cUser := C.CString(user)
	cPass := C.CString(password)
	cRhost := C.CString(rhost)
	defer func() {
		C.free(unsafe.Pointer(cService))
		C.free(unsafe.Pointer(cUser))
		C.yubin_pam_free(cPass)
		C.free(unsafe.Pointer(cRhost))
	}()
	res := C.yubin_pam_run(cService, cUser, cPass, cRhost, 1, cBool(setcred), cBool(session))
	out := pamResult{status: res.status, stage: res.stage, msg: C.GoString(&res.errmsg[0])}
	if res.user != nil {
		out.user = C.GoString(res.user)
		C.free(unsafe.Pointer(res.user))
	}
	return out
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// pamError maps a failed conversation to the package's errors, the way
// Dovecot's passdb pam maps PAM results.
func pamError(r pamResult) error {
	stage := map[C.int]string{
		C.YUBIN_PAM_START: "pam_start", C.YUBIN_PAM_AUTH: "pam_authenticate",
		C.YUBIN_PAM_ACCT: "pam_acct_mgmt", C.YUBIN_PAM_SETCRED: "pam_setcred",
		C.YUBIN_PAM_SESSION: "pam_open_session",
	}[r.stage]
	var base error
	switch {
	case r.stage == C.YUBIN_PAM_START:
		base = ErrTempFail
	case r.status == C.PAM_USER_UNKNOWN:
		base = ErrUnknownUser
	default:
		base = ErrAuthFailed
	}
	return fmt.Errorf("%w: pam: %s: %s (%d)", base, stage, r.msg, int(r.status))
}
