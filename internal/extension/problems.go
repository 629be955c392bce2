package extension

import (
	"cmp"
	"slices"
	"strings"
)

// Codes of the problems and notices. They are CamelCase and stable: the server, the CLI and the
// agent (which checks the cluster-state rules again at install) report the same ones, and
// ExtensionStatus carries them.
const (
	// Problems with one setting's name or value.
	CodeUnknownSetting      = "UnknownSetting"
	CodePlainAndProtected   = "PlainAndProtected"
	CodeKeyNotProtected     = "KeyNotProtected"
	CodeInvalidBoolean      = "InvalidBoolean"
	CodeInvalidServiceType  = "InvalidServiceType"
	CodeInvalidProvider     = "InvalidProvider"
	CodeInvalidSecretName   = "InvalidSecretName"
	CodeInvalidCName        = "InvalidCName"
	CodeInvalidNodeSelector = "InvalidNodeSelector"
	CodeInvalidCertificate  = "InvalidCertificate"
	CodeInvalidKey          = "InvalidKey"
	CodeCertificateExpired  = "CertificateExpired"
	CodeCertificateNotYet   = "CertificateNotYetValid"

	// Problems between settings.
	CodeDuplicateSetting    = "DuplicateSetting"
	CodeNothingEnabled      = "NothingEnabled"
	CodeInferenceNeedsTLS   = "InferenceNeedsTLS"
	CodeIncompleteTLS       = "IncompleteTLS"
	CodeConflictingTLS      = "ConflictingTLS"
	CodeKeyMismatch         = "KeyMismatch"
	CodeConflictingExposure = "ConflictingExposure"

	// Problems against the cluster's inventory (Check).
	CodeNoEligibleNodes    = "NoEligibleNodes"
	CodeRouterHANeedsNodes = "RouterHANeedsNodes"
	CodeSSLSecretNotFound  = "SSLSecretNotFound"

	// Problems of ParseKeyValues.
	CodeNotKeyValue = "NotKeyValue"
	CodeEmptyKey    = "EmptyKey"
	CodeRepeatedKey = "RepeatedKey"

	// Notices.
	CodeInferenceSettingsIgnored = "InferenceSettingsIgnored"
	CodeInsecureIgnored          = "InsecureIgnored"
	CodeCNameNotInCertificate    = "CNameNotInCertificate"
	CodeClusterChecksDeferred    = "ClusterChecksDeferred"
	CodeRouterHAFallback         = "RouterHAFallback"
	CodeNvidiaDevicePluginFound  = "NvidiaDevicePluginFound"
	CodeOpenShiftDetected        = "OpenShiftDetected"
	CodeOpenShiftDisabled        = "OpenShiftDisabled"
)

// ValidationError lists every problem with the settings at once, so that a user fixes them in
// one round. Its Problems are sorted by key, then message.
type ValidationError struct {
	Problems []Problem
}

// Problem is one thing wrong with the settings.
type Problem struct {
	// Code is one of the Code* constants.
	Code string
	// Key is the setting as the user wrote it, "" for a problem of the settings as a whole.
	Key string
	// Message says what is wrong and what to do. It never holds a protected value.
	Message string
}

// Notice is something the user should know that does not stop the settings: a setting that
// is ignored, a default that changed to fit the cluster.
type Notice struct {
	Code    string
	Message string
}

// Error returns one problem per line, as "key: message", for a CLI to print after
// "invalid extension settings:".
func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		// The parsers never return a ValidationError without problems; this is for a hand-made one.
		return "invalid extension settings"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.text()
	}
	return strings.Join(lines, "\n")
}

func (p Problem) text() string {
	if p.Key == "" {
		return p.Message
	}
	return displayKey(p.Key) + ": " + p.Message
}

// displayKey returns key as is when it is made of the characters setting names and label keys
// use, and quoted otherwise, so that a key with spaces shows them and one with a newline keeps
// the error to one line per problem.
func displayKey(key string) string {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == '_' || c == '/') {
			return quote(key)
		}
	}
	return key
}

// problems collects problems and notices while the rules run.
type problems struct {
	list    []Problem
	notices []Notice
}

func (ps *problems) add(code, key, message string) {
	ps.list = append(ps.list, Problem{Code: code, Key: key, Message: message})
}

func (ps *problems) notice(code, message string) {
	ps.notices = append(ps.notices, Notice{Code: code, Message: message})
}

// err returns the problems as a *ValidationError, sorted and without repeats, or nil.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	list := slices.Clone(ps.list)
	slices.SortStableFunc(list, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Message, b.Message))
	})
	list = slices.Compact(list)
	return &ValidationError{Problems: list}
}
