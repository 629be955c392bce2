package extension

import (
	"errors"

	v1 "berth/api/v1"
)

// Status levels of ExtensionStatus.
const (
	LevelError       = "Error"
	LevelWarning     = "Warning"
	LevelInformation = "Information"
)

// warnings are the notices about something that may not work as the user expects; the other
// notices only say what berth chose.
var warnings = map[string]bool{
	CodeCNameNotInCertificate: true,
	CodeOpenShiftDisabled:     true,
}

// Statuses turns notices and the error of Parse or Check into an extension's statuses: the
// problems of a *ValidationError at level Error ("key: message"), then the notices at level
// Warning or Information. Another error becomes one status with code InvalidSettings. The
// result is never nil, so that JSON shows an empty list.
func Statuses(notices []Notice, err error) []v1.ExtensionStatus {
	statuses := []v1.ExtensionStatus{}
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			statuses = append(statuses, v1.ExtensionStatus{Code: p.Code, Level: LevelError,
				Message: p.text()})
		}
	case err != nil:
		statuses = append(statuses, v1.ExtensionStatus{Code: "InvalidSettings", Level: LevelError,
			Message: err.Error()})
	}
	for _, n := range notices {
		level := LevelInformation
		if warnings[n.Code] {
			level = LevelWarning
		}
		statuses = append(statuses, v1.ExtensionStatus{Code: n.Code, Level: level,
			Message: n.Message})
	}
	return statuses
}
