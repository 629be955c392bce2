package strictyaml

import (
	"fmt"
	"strings"
)

// MaxNameLength is the longest job, experiment, compute or model name, as in Azure ML.
const MaxNameLength = 255

// NameProblem returns what is wrong with a job, experiment or compute name, or "" when it is
// valid; what names the kind of name in the message ("job"). Such names become folder names,
// URL path segments and (cut and hashed) Kubernetes labels, so they keep to ASCII letters,
// digits, '_' and '-', which are safe in all three.
func NameProblem(what, name string) string {
	if len(name) > MaxNameLength {
		return fmt.Sprintf("the %s name is %d characters long; use at most %d",
			what, len(name), MaxNameLength)
	}
	if name == "" || !IsAlnum(name[0]) || strings.IndexFunc(name, notNameRune) >= 0 {
		return fmt.Sprintf("%q is not a valid %s name; use letters, digits, _ and -, "+
			"starting with a letter or digit", Excerpt(name, 60), what)
	}
	return ""
}

// IdentifierProblem returns what is wrong with an input or output name, or "" when it is
// valid. These names appear in ${{inputs.<name>}} expressions and in environment variable
// names the runtime sets, so they follow identifier rules.
func IdentifierProblem(what, name string) string {
	if name == "" || IsDigit(name[0]) || strings.IndexFunc(name, notIdentifierRune) >= 0 {
		return fmt.Sprintf("%q is not a valid %s name; start with a letter or _, "+
			"then use letters, digits and _", Excerpt(name, 60), what)
	}
	return ""
}

// VariableProblem returns what is wrong with an environment variable name, or "" when it is
// valid. Only what cannot work is refused: an empty name, '=' (which ends a name in the
// environment block) and NUL; Kubernetes and the shell accept the rest.
func VariableProblem(name string) string {
	switch {
	case name == "":
		return "a variable name is empty; give each variable a name"
	case strings.ContainsAny(name, "=\x00"):
		return fmt.Sprintf("%q is not a valid variable name; use a name without = or NUL in it",
			Excerpt(name, 60))
	}
	return ""
}

func notNameRune(r rune) bool {
	return !(r < 0x80 && IsAlnum(byte(r)) || r == '_' || r == '-')
}

func notIdentifierRune(r rune) bool {
	return !(r < 0x80 && IsAlnum(byte(r)) || r == '_')
}

// IsAlnum reports whether c is an ASCII letter or digit.
func IsAlnum(c byte) bool {
	return IsDigit(c) || IsLetter(c)
}

// IsLetter reports whether c is an ASCII letter.
func IsLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// IsDigit reports whether c is an ASCII digit.
func IsDigit(c byte) bool {
	return '0' <= c && c <= '9'
}
