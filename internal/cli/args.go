package cli

import "strings"

// multiValueFlags take several values after one flag, as the seed's commands write them
// (`--set a=1 b=2`), besides the repeated form (`--set a=1 --set b=2`).
var multiValueFlags = map[string]bool{"--set": true, "--traffic": true, "-t": true, "--mirror-traffic": true,
	"--config": true, "--configuration-settings": true, "--config-protected": true, "--configuration-protected-settings": true}

// expandMultiValueFlags rewrites `--flag a b` as `--flag a --flag b` for the flags in
// multi, so that the flag parser sees one value per flag. Values continue until the next
// word that starts with "-"; everything after "--" is left alone.
func expandMultiValueFlags(args []string, multi map[string]bool) []string {
	out := make([]string, 0, len(args))
	current := ""         // the multi-value flag whose values are being read
	firstPending := false // it was written without "=", so its first value follows as is
	for i, a := range args {
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case strings.HasPrefix(a, "-"):
			name, _, hasValue := strings.Cut(a, "=")
			current = ""
			if multi[name] {
				current, firstPending = name, !hasValue
			}
			out = append(out, a)
		case current != "" && firstPending:
			out = append(out, a)
			firstPending = false
		case current != "":
			out = append(out, current, a)
		default:
			out = append(out, a)
		}
	}
	return out
}
