# Drives yubin's IMAP server with Python's imaplib, the way scripts and
# simple clients use it. Usage: imaplib_client.py HOST PORT USER PASS
import imaplib, sys, time

host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)

M = imaplib.IMAP4(host, port)
typ, _ = M.login(user, pw)
check(typ == "OK", "login")

typ, data = M.list()
check(typ == "OK", "list")
names = [d.decode() for d in data]
for box in ("INBOX", "Sent", "Trash", "Drafts", "Junk"):
    check(any(n.endswith(" " + box) or n.endswith(' "%s"' % box) for n in names), "list has " + box + ": " + repr(names))
check(any("\\Sent" in n for n in names), "special-use \\Sent in LIST")

check(M.create("Archive/2024")[0] == "OK", "create")
check(M.create("Entw\u00fcrfe".encode("utf-7").decode().replace("+", "&"))[0] in ("OK", "NO"), "create mutf7")

msg1 = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: first\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nhello world\r\n"
msg2 = b"From: carol@example.org\r\nSubject: second\r\n\r\nsecond body\r\n"
typ, data = M.append("INBOX", "(\\Seen)", imaplib.Time2Internaldate(time.time()), msg1)
check(typ == "OK" and b"APPENDUID" in data[0], "append 1: %r" % data)
typ, data = M.append("INBOX", None, None, msg2)
check(typ == "OK", "append 2")

typ, data = M.select("INBOX")
check(typ == "OK" and data[0] == b"2", "select: %r" % data)

typ, data = M.fetch("1", "(RFC822)")
check(typ == "OK" and data[0][1] == msg1, "fetch rfc822: %r" % (data,))
typ, data = M.fetch("1:2", "(FLAGS RFC822.SIZE)")
check(typ == "OK" and len(data) == 2, "fetch flags")

typ, data = M.search(None, "UNSEEN")
check(typ == "OK" and data[0] == b"2", "search unseen: %r" % data)
typ, data = M.search(None, "FROM", "alice")
check(typ == "OK" and data[0] == b"1", "search from: %r" % data)
typ, data = M.search(None, "BODY", "second")
check(typ == "OK" and data[0] == b"2", "search body: %r" % data)
typ, data = M.uid("SEARCH", None, "ALL")
check(typ == "OK" and data[0] == b"1 2", "uid search: %r" % data)

typ, data = M.store("2", "+FLAGS", "(\\Flagged)")
check(typ == "OK" and b"\\Flagged" in data[0], "store: %r" % data)

typ, data = M.copy("1", "Archive/2024")
check(typ == "OK", "copy")
typ, data = M.status("Archive/2024", "(MESSAGES UIDNEXT)")
check(typ == "OK" and b"MESSAGES 1" in data[0], "status: %r" % data)

typ, data = M.uid("MOVE", "2", "Trash")
check(typ == "OK", "move: %r" % (data,))
typ, data = M.status("Trash", "(MESSAGES)")
check(b"MESSAGES 1" in data[0], "trash status %r" % data)

M.store("1", "+FLAGS", "(\\Deleted)")
typ, data = M.expunge()
check(typ == "OK" and data[-1] == b"1", "expunge: %r" % data)  # imaplib also keeps MOVE's EXPUNGE

# IDLE, woken by an APPEND from a second session.
tag = M._new_tag()
M.send(tag + b" IDLE\r\n")
line = M.readline()
check(line.startswith(b"+"), "idle continuation %r" % line)
M2 = imaplib.IMAP4(host, port)
M2.login(user, pw)
M2.append("INBOX", None, None, msg2)
M2.logout()
line = M.readline()
check(line == b"* 1 EXISTS\r\n", "idle exists %r" % line)
line = M.readline()
check(line == b"* 1 RECENT\r\n", "idle recent %r" % line)
M.send(b"DONE\r\n")
line = M.readline()
check(line.startswith(tag + b" OK"), "idle done %r" % line)

M.close()
M.logout()
print("OK")
