package extension

import "strings"

// ParseKeyValues reads the CLI's --config and --config-protected values, each key=value (the
// value may hold '=' and may be empty; the key may not). A key given twice with the same value
// counts once; with different values it is an error. The error is a *ValidationError with a
// problem per bad argument. Values never appear in messages, since they may be protected; an
// argument without '=' is quoted, since it is most likely a key. The map holds the
// well-formed pairs even with an error, so that a caller can report their problems too.
func ParseKeyValues(args []string) (map[string]string, error) {
	var ps problems
	kv := make(map[string]string, len(args))
	repeated := make(map[string]bool)
	for _, arg := range args {
		key, val, ok := strings.Cut(arg, "=")
		switch {
		case !ok:
			ps.add(CodeNotKeyValue, "", quote(arg)+
				" is not key=value; write settings as key=value, such as enableTraining=True.")
		case key == "":
			ps.add(CodeEmptyKey, "", "a setting has no key before =; write settings as key=value, "+
				"such as enableTraining=True.")
		default:
			if prev, dup := kv[key]; dup && prev != val && !repeated[key] {
				repeated[key] = true
				ps.add(CodeRepeatedKey, key, "given twice with different values; give it once.")
			}
			if _, dup := kv[key]; !dup {
				kv[key] = val
			}
		}
	}
	return kv, ps.err()
}
