package store

// MaxGUIDText bounds a GUID a store keeps as text (a dbox metadata line,
// a line beside an mbox file).
const MaxGUIDText = 200

// PrintableGUID reports whether g can be kept as one line of text: 1 to
// MaxGUIDText bytes of printable ASCII without spaces. Stores refuse
// other GUIDs given to Replica.ReplicaAppend with ErrInvalidGUID.
func PrintableGUID(g string) bool {
	if g == "" || len(g) > MaxGUIDText {
		return false
	}
	for i := 0; i < len(g); i++ {
		if g[i] <= ' ' || g[i] >= 0x7f {
			return false
		}
	}
	return true
}
