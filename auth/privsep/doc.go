// Package privsep runs password databases in a separate process that
// keeps privileges the mail server gives up, as Dovecot's auth process
// does for its login and mail processes.
//
// A server started as root binds its ports and then drops to an
// unprivileged account before it touches mail or talks to clients. Some
// password databases need what that account may not have: PAM's
// pam_unix reads /etc/shadow, which only root may read. The server
// therefore starts a small worker before it drops privileges, keeps one
// end of a socket pair to it, and asks it to check passwords: Serve runs
// in the worker over its end, and Client (an auth.PassDB per named
// database) in the server over the other. The worker holds nothing but
// the databases it was started with; a request for any other name is
// refused, so a compromised server can make the worker check passwords
// and nothing else.
//
// # Wire format
//
// Each message is a 4-byte big-endian length and a JSON object, at most
// MaxFrame bytes. A request carries an id, the database name, the user
// name and password, and the connection's service and addresses (PAM's
// rhost and a "*" service name need them); the answer carries the same
// id, the result (ok, fail, unknown or temp) and, for ok, the user name
// as the database normalised it and its extra fields. Requests are
// answered concurrently, out of order, at most Server.MaxConcurrent at
// a time.
//
// # Failure
//
// A worker that dies, or a reply that does not come before the request's
// context ends, is auth.ErrTempFail for the client: the login is refused
// as temporarily unavailable, never as a wrong password. A malformed
// frame ends the connection: both ends are the same program, so garbage
// means a bug or an attack, not a peer to negotiate with.
package privsep
