package sqldb_test

import "net/url"

// urlPath formats a file name as the path of a file: URI.
type urlPath struct{ p string }

func (u *urlPath) String() string { return (&url.URL{Path: u.p}).EscapedPath() }
