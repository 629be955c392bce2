package jobspec

import (
	"fmt"
	"strings"
)

// maxNameLength is the longest job, experiment or compute name, as in Azure ML.
const maxNameLength = 255

// nameProblem returns what is wrong with a job, experiment or compute name, or "" when it is
// valid. Such names become folder names, URL path segments and (cut and hashed) Kubernetes
// labels, so they keep to ASCII letters, digits, '_' and '-', which are safe in all three.
func nameProblem(what, name string) string {
	if len(name) > maxNameLength {
		return fmt.Sprintf("the %s name is %d characters long; use at most %d",
			what, len(name), maxNameLength)
	}
	if name == "" || !isAlnum(name[0]) || strings.IndexFunc(name, notNameRune) >= 0 {
		return fmt.Sprintf("%q is not a valid %s name; use letters, digits, _ and -, "+
			"starting with a letter or digit", excerpt(name, 60), what)
	}
	return ""
}

// identifierProblem returns what is wrong with an input or output name, or "" when it is
// valid. These names appear in ${{inputs.<name>}} expressions and in environment variable
// names the runtime sets, so they follow identifier rules.
func identifierProblem(what, name string) string {
	if name == "" || isDigit(name[0]) || strings.IndexFunc(name, notIdentifierRune) >= 0 {
		return fmt.Sprintf("%q is not a valid %s name; start with a letter or _, "+
			"then use letters, digits and _", excerpt(name, 60), what)
	}
	return ""
}

// variableProblem returns what is wrong with an environment variable name, or "" when it is
// valid. Only what cannot work is refused: an empty name, '=' (which ends a name in the
// environment block) and NUL; Kubernetes and the shell accept the rest.
func variableProblem(name string) string {
	switch {
	case name == "":
		return "a variable name is empty; give each variable a name"
	case strings.ContainsAny(name, "=\x00"):
		return fmt.Sprintf("%q is not a valid variable name; use a name without = or NUL in it",
			excerpt(name, 60))
	}
	return ""
}

func notNameRune(r rune) bool {
	return !(r < 0x80 && isAlnum(byte(r)) || r == '_' || r == '-')
}

func notIdentifierRune(r rune) bool {
	return !(r < 0x80 && isAlnum(byte(r)) || r == '_')
}

func isAlnum(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isDigit(c byte) bool {
	return '0' <= c && c <= '9'
}
