package imap

// command describes one IMAP command: its handler, the states it is
// allowed in, whether it has a UID form, and whether mailbox updates
// (EXPUNGE, EXISTS, flag changes of other sessions) may be sent before
// its tagged response. RFC 9051 7.5.1 forbids EXPUNGE during FETCH,
// STORE and SEARCH by sequence number, so those do not poll.
type command struct {
	fn      func(c *conn, tag string, uid bool) error
	states  uint8
	uid     bool
	updates bool
}

func (cmd command) allowedIn(s connState) bool { return cmd.states&(1<<s) != 0 }

const (
	anyState  = 1<<stateNotAuth | 1<<stateAuth | 1<<stateSelected
	notAuth   = 1 << stateNotAuth
	authed    = 1<<stateAuth | 1<<stateSelected
	selectedS = 1 << stateSelected
)

var commands map[string]command

func init() {
	commands = map[string]command{
		"CAPABILITY":   {fn: (*conn).cmdCapability, states: anyState, updates: true},
		"NOOP":         {fn: (*conn).cmdNoop, states: anyState, updates: true},
		"LOGOUT":       {fn: (*conn).cmdLogout, states: anyState},
		"ID":           {fn: (*conn).cmdID, states: anyState, updates: true},
		"STARTTLS":     {fn: (*conn).cmdStartTLS, states: notAuth},
		"LOGIN":        {fn: (*conn).cmdLogin, states: notAuth},
		"AUTHENTICATE": {fn: (*conn).cmdAuthenticate, states: notAuth},
		"ENABLE":       {fn: (*conn).cmdEnable, states: authed},
		"NAMESPACE":    {fn: (*conn).cmdNamespace, states: authed, updates: true},
		"SELECT":       {fn: (*conn).cmdSelect, states: authed},
		"EXAMINE":      {fn: (*conn).cmdExamine, states: authed},
		"CREATE":       {fn: (*conn).cmdCreate, states: authed, updates: true},
		"DELETE":       {fn: (*conn).cmdDelete, states: authed, updates: true},
		"RENAME":       {fn: (*conn).cmdRename, states: authed, updates: true},
		"SUBSCRIBE":    {fn: (*conn).cmdSubscribe, states: authed, updates: true},
		"UNSUBSCRIBE":  {fn: (*conn).cmdUnsubscribe, states: authed, updates: true},
		"LIST":         {fn: (*conn).cmdList, states: authed, updates: true},
		"LSUB":         {fn: (*conn).cmdLsub, states: authed, updates: true},
		"STATUS":       {fn: (*conn).cmdStatus, states: authed, updates: true},
		"APPEND":       {fn: (*conn).cmdAppend, states: authed, updates: true},
		"IDLE":         {fn: (*conn).cmdIdle, states: authed},
		"NOTIFY":       {fn: (*conn).cmdNotify, states: authed},
		"COMPRESS":     {fn: (*conn).cmdCompress, states: authed},
		"GETMETADATA":  {fn: (*conn).cmdGetMetadata, states: authed, updates: true},
		"SETMETADATA":  {fn: (*conn).cmdSetMetadata, states: authed, updates: true},
		"MYRIGHTS":     {fn: (*conn).cmdMyRights, states: authed, updates: true},
		"GETACL":       {fn: (*conn).cmdGetACL, states: authed, updates: true},
		"LISTRIGHTS":   {fn: (*conn).cmdListRights, states: authed, updates: true},
		"SETACL":       {fn: (*conn).cmdSetACL, states: authed, updates: true},
		"DELETEACL":    {fn: (*conn).cmdDeleteACL, states: authed, updates: true},
		"GENURLAUTH":   {fn: (*conn).cmdGenURLAuth, states: authed, updates: true},
		"RESETKEY":     {fn: (*conn).cmdResetKey, states: authed, updates: true},
		"URLFETCH":     {fn: (*conn).cmdURLFetch, states: authed, updates: true},
		"GETQUOTA":     {fn: (*conn).cmdGetQuota, states: authed, updates: true},
		"GETQUOTAROOT": {fn: (*conn).cmdGetQuotaRoot, states: authed, updates: true},
		"SETQUOTA":     {fn: (*conn).cmdSetQuota, states: authed, updates: true},
		"CHECK":        {fn: (*conn).cmdNoop, states: selectedS, updates: true},
		"CLOSE":        {fn: (*conn).cmdClose, states: selectedS},
		"UNSELECT":     {fn: (*conn).cmdUnselect, states: selectedS},
		"EXPUNGE":      {fn: (*conn).cmdExpunge, states: selectedS, uid: true, updates: true},
		"SEARCH":       {fn: (*conn).cmdSearch, states: selectedS, uid: true},
		"CANCELUPDATE": {fn: (*conn).cmdCancelUpdate, states: authed, updates: true},
		"FETCH":        {fn: (*conn).cmdFetch, states: selectedS, uid: true},
		"SORT":         {fn: (*conn).cmdSort, states: selectedS, uid: true},
		"THREAD":       {fn: (*conn).cmdThread, states: selectedS, uid: true},
		"STORE":        {fn: (*conn).cmdStore, states: selectedS, uid: true},
		"COPY":         {fn: (*conn).cmdCopy, states: selectedS, uid: true, updates: true},
		"MOVE":         {fn: (*conn).cmdMove, states: selectedS, uid: true, updates: true},
	}
}
