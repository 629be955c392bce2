package extension

import (
	"crypto"
	"crypto/x509"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// Parser parses and validates the extension's settings. Its zero value is ready to use.
type Parser struct {
	// Now returns the time certificates are checked against; nil means time.Now.
	Now func() time.Time
}

// Parse is Parser{}.Parse.
func Parse(plain, protected map[string]string) (Config, []Notice, error) {
	return Parser{}.Parse(plain, protected)
}

// Parse reads the plain (--config) and protected (--config-protected) settings into a Config,
// applying every rule that needs no cluster state; Check applies the others. It is pure: the
// same settings and clock always give the same answer.
//
// The error, when there is one, is a *ValidationError with every problem; the Config is then
// the zero Config. Notices come either way.
//
// Decisions the rules below carry out:
//   - Nothing is trimmed. A value with spaces around it fails its own check (a boolean, an enum,
//     a name, a label), which quotes it so the spaces show; PEM ignores surrounding space.
//   - Any setting may be protected. sslKeyPemFile must be: a private key among plain settings,
//     which are shown and stored readable, is an error. sslCertPemFile may be either.
//   - A problem about a protected setting never quotes its value.
//   - Each value is checked on its own even when inference is off; the rules between
//     inference settings (TLS, exposure, key and certificate) apply only when it is on, and
//     the inference settings are then left out of the Config with a notice.
//   - privateEndpointILB=True is Config.InternalLB "auto": the agent picks the internal load
//     balancer annotation for the cluster's own cloud.
func (p Parser) Parse(plain, protected map[string]string) (Config, []Notice, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	s := &parse{
		now:   now(),
		given: make(map[string]value),
		bad:   make(map[string]bool),
		meant: make(map[string]bool),
	}
	s.readKeys(plain, protected)
	s.readValues()
	s.applyRules()
	if err := s.err(); err != nil {
		return Config{}, s.notices, err
	}
	return s.cfg, s.notices, nil
}

// value is one setting's value and where it came from.
type value struct {
	text      string
	protected bool
}

// show quotes v for a message, or names it without its text when it is protected.
func (v value) show() string {
	if v.protected {
		return "the protected value"
	}
	return quote(v.text)
}

// parse is the state of one Parse call.
type parse struct {
	problems
	now time.Time

	// given holds the valid names' values; bad marks those whose value is wrong or that were
	// only meant, so that the rules between settings skip them instead of piling up problems
	// that fixing the first one would clear.
	given map[string]value
	bad   map[string]bool
	// meant holds names that were meant but not read: an unknown key's closest name, a key
	// given both plain and protected.
	meant map[string]bool

	bools map[string]bool
	cert  *x509.Certificate
	key   crypto.Signer

	cfg Config
}

// readKeys sorts the keys into valid names, nodeSelector labels and unknown keys.
func (s *parse) readKeys(plain, protected map[string]string) {
	keys := slices.Collect(maps.Keys(plain))
	for k := range protected {
		if _, ok := plain[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)

	for _, k := range keys {
		v := value{text: plain[k]}
		if pv, ok := protected[k]; ok {
			v = value{text: pv, protected: true}
		}
		_, known := lookup(k)
		isLabel := strings.HasPrefix(k, NodeSelectorPrefix) && k != NodeSelectorPrefix
		switch {
		case strings.EqualFold(k, "nodeSelector") || k == NodeSelectorPrefix:
			s.add(CodeInvalidNodeSelector, k, "a nodeSelector setting needs a label key; "+
				"write nodeSelector.<label-key>=<value>, such as nodeSelector.kubernetes.io/os=linux.")
			continue
		case !known && !isLabel:
			s.add(CodeUnknownSetting, k, unknownKeyMessage(k))
			// The rules take the name suggested as given with a bad value, so that a typo
			// (ssKeyPMFile) does not also bring "sslCertPemFile given without sslKeyPemFile".
			if c := closestKey(k); c != "" {
				s.meant[c] = true
				s.bad[c] = true
			}
			continue
		}
		_, inPlain := plain[k]
		if k == KeySSLKeyPemFile && inPlain {
			s.add(CodeKeyNotProtected, k,
				"a private key must not be a plain setting; pass it with --config-protected.")
		}
		if inPlain && v.protected {
			s.add(CodePlainAndProtected, k,
				"given both plain (--config) and protected (--config-protected); give it once.")
			s.bad[k] = true
			s.meant[k] = true
			continue
		}
		if isLabel {
			s.readLabel(k, v)
			continue
		}
		s.given[k] = v
	}
}

// readLabel reads a nodeSelector.<label-key> setting.
func (s *parse) readLabel(k string, v value) {
	label := strings.TrimPrefix(k, NodeSelectorPrefix)
	ok := true
	if len(content.IsLabelKey(label)) > 0 {
		s.add(CodeInvalidNodeSelector, k, quote(label)+" is not a valid label key; use "+
			"[prefix/]name with a name of at most 63 letters, digits, '-', '_' and '.', "+
			"starting and ending with a letter or digit.")
		ok = false
	}
	if len(content.IsLabelValue(v.text)) > 0 {
		s.add(CodeInvalidNodeSelector, k, v.show()+" is not a valid label value; use at most "+
			"63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit.")
		ok = false
	}
	if !ok {
		s.bad[k] = true
		return
	}
	if s.cfg.NodeSelector == nil {
		s.cfg.NodeSelector = make(map[string]string)
	}
	s.cfg.NodeSelector[label] = v.text
}

// readValues checks each valid name's value on its own, in the settings' order.
func (s *parse) readValues() {
	s.bools = make(map[string]bool)
	for _, st := range settings {
		v, ok := s.given[st.name]
		if !ok {
			continue
		}
		if !s.readValue(st, v) {
			s.bad[st.name] = true
		}
	}
}

// readValue checks one value and keeps it; it reports whether the value is good.
func (s *parse) readValue(st setting, v value) bool {
	switch st.kind {
	case kindBool:
		b, ok := s.readBool(st.name, v)
		s.bools[st.name] = b
		return ok
	case kindServiceType:
		t, ok := s.readEnum(st.name, v, CodeInvalidServiceType, "a service type", serviceTypeValues)
		s.cfg.RouterServiceType = serviceTypes[t]
		return ok
	case kindProvider:
		prov, ok := s.readEnum(st.name, v, CodeInvalidProvider, "a load balancer provider",
			providerValues)
		s.cfg.InternalLB = prov
		return ok
	case kindCert:
		s.cert = s.readCert(v)
		s.cfg.TLSCert = v.text
		return s.cert != nil
	case kindKey:
		s.key = s.readKey(v)
		s.cfg.TLSKey = v.text
		return s.key != nil
	case kindSecretName:
		s.cfg.TLSSecret, s.cfg.TLSSecretProtected = v.text, v.protected
		return s.readSecretName(v)
	case kindCName:
		s.cfg.CName = v.text
		return s.readCName(v)
	}
	return false
}

// readBool reads True or False in any case, and nothing else.
func (s *parse) readBool(key string, v value) (bool, bool) {
	switch strings.ToLower(v.text) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	s.badChoice(key, v, CodeInvalidBoolean, "a boolean", booleanValues)
	return false, false
}

// readEnum reads one of valid in any case and returns it lowercased.
func (s *parse) readEnum(key string, v value, code, what string, valid []string) (string, bool) {
	lower := strings.ToLower(v.text)
	for _, c := range valid {
		if strings.ToLower(c) == lower {
			return lower, true
		}
	}
	s.badChoice(key, v, code, what, valid)
	return "", false
}

// badChoice reports a value that is not one of valid, suggesting the closest unless the value
// is protected (a suggestion would tell what it looks like).
func (s *parse) badChoice(key string, v value, code, what string, valid []string) {
	use := "use " + oneOf(valid) + "."
	switch {
	case v.text == "":
		s.add(code, key, "the value is empty; "+use)
	case v.protected:
		s.add(code, key, "the protected value is not "+what+"; "+use)
	default:
		msg := quote(v.text) + " is not " + what + "; "
		if c := closestValue(v.text, valid); c != "" {
			msg += "did you mean " + c + "? U" + use[1:]
		} else {
			msg += use
		}
		s.add(code, key, msg)
	}
}

// readSecretName checks sslSecret: a Secret name is a DNS subdomain.
func (s *parse) readSecretName(v value) bool {
	switch {
	case v.text == "":
		s.add(CodeInvalidSecretName, KeySSLSecret,
			"the value is empty; give the name of a Secret holding cert.pem and key.pem.")
	case len(content.IsDNS1123Subdomain(v.text)) > 0:
		s.add(CodeInvalidSecretName, KeySSLSecret, v.show()+" is not a valid Secret name; "+
			"use at most 253 lowercase letters, digits, '-' and '.', "+
			"starting and ending with a letter or digit.")
	default:
		return true
	}
	return false
}

// readCName checks sslCname: a host name, in any case since DNS names are case-insensitive,
// without a wildcard (it is the one name clients use for scoring).
func (s *parse) readCName(v value) bool {
	switch {
	case v.text == "":
		s.add(CodeInvalidCName, KeySSLCname,
			"the value is empty; give the host name clients use for scoring, such as ml.example.com.")
	case len(content.IsDNS1123Subdomain(strings.ToLower(v.text))) > 0:
		s.add(CodeInvalidCName, KeySSLCname, v.show()+
			" is not a valid DNS name; give a host name such as ml.example.com.")
	default:
		return true
	}
	return false
}

// applyRules applies the rules between settings and fills the rest of the Config.
func (s *parse) applyRules() {
	s.checkRenamed()

	s.cfg.Training = s.bools[KeyEnableTraining]
	s.cfg.Inference = s.bools[KeyEnableInference]
	s.cfg.InstallNvidiaDevicePlugin = s.boolOr(KeyInstallNvidiaDevicePlugin, true)
	s.cfg.OpenShift = s.bools[KeyOpenShift]
	s.cfg.OpenShiftExplicit = s.has(KeyOpenShift)
	s.cfg.LogAnalytics = s.bools[KeyLogAnalyticsWS]
	s.cfg.InstallPrometheus = s.bools[KeyInstallPromOp]

	if !s.bad[KeyEnableTraining] && !s.bad[KeyEnableInference] &&
		!s.cfg.Training && !s.cfg.Inference {
		s.add(CodeNothingEnabled, "", "neither training nor inference is enabled; "+
			"set enableTraining=True, enableInference=True or both.")
	}

	switch {
	case s.bad[KeyEnableInference]:
		// Whether inference is on is unknown; its rules would only guess.
		s.clearInference()
	case s.cfg.Inference:
		s.applyInferenceRules()
	default:
		s.ignoreInference()
	}
}

// checkRenamed reports a seed name given together with the name that replaces it.
func (s *parse) checkRenamed() {
	for _, r := range renamed {
		if s.has(r.seed) && s.has(r.today) {
			s.add(CodeDuplicateSetting, r.seed, "given together with "+r.today+
				", which replaces it; give only one of them.")
			s.bad[r.seed] = true
			s.bad[r.today] = true
		}
	}
}

// applyInferenceRules checks TLS and the router's exposure and fills their Config fields.
func (s *parse) applyInferenceRules() {
	s.applyTLSRules()
	s.applyExposureRules()

	s.cfg.RouterReplicas = 3
	for _, k := range []string{KeyInferenceRouterHA, KeyInferenceLoadBalancerHA} {
		if s.has(k) && !s.bad[k] {
			s.cfg.RouterHASetting = k
			s.cfg.RouterHAExplicit = s.bools[k]
			if !s.bools[k] {
				s.cfg.RouterReplicas = 1
			}
		}
	}
}

// applyTLSRules checks that inference has TLS material, whole and from one source, or is
// allowed plain HTTP.
func (s *parse) applyTLSRules() {
	// present counts names meant but not read (a typo, a key both plain and protected), so that
	// one mistake brings one problem; given counts only what was read.
	presentCert, presentKey := s.present(KeySSLCertPemFile), s.present(KeySSLKeyPemFile)
	presentSecret := s.present(KeySSLSecret)
	hasCert, hasKey, hasSecret := s.has(KeySSLCertPemFile), s.has(KeySSLKeyPemFile),
		s.has(KeySSLSecret)
	s.cfg.AllowInsecure = s.bools[KeyAllowInsecureConnections]

	switch {
	case hasCert && !presentKey:
		s.add(CodeIncompleteTLS, KeySSLCertPemFile,
			"given without sslKeyPemFile; pass both with --config-protected.")
	case hasKey && !presentCert:
		s.add(CodeIncompleteTLS, KeySSLKeyPemFile,
			"given without sslCertPemFile; pass both with --config-protected.")
	}
	if hasSecret && (hasCert || hasKey) {
		var files []string
		if hasCert {
			files = append(files, KeySSLCertPemFile)
		}
		if hasKey {
			files = append(files, KeySSLKeyPemFile)
		}
		s.add(CodeConflictingTLS, KeySSLSecret, "cannot be combined with "+
			strings.Join(files, " and ")+"; use either the Secret or the PEM files.")
	}
	if !presentCert && !presentKey && !presentSecret && !s.cfg.AllowInsecure &&
		!s.bad[KeyAllowInsecureConnections] {
		s.add(CodeInferenceNeedsTLS, KeyEnableInference, "inference needs TLS: pass "+
			"sslCertPemFile and sslKeyPemFile with --config-protected or set sslSecret; "+
			"or set allowInsecureConnections=True to allow HTTP.")
	}
	if (hasCert || hasKey || hasSecret) && s.cfg.AllowInsecure {
		s.notice(CodeInsecureIgnored, "TLS material is given, so scoring uses HTTPS and "+
			"allowInsecureConnections=True has no effect.")
	}

	if s.cert != nil && s.key != nil && !s.bad[KeySSLCertPemFile] && !s.bad[KeySSLKeyPemFile] {
		s.checkKeyMatches()
	}
	if s.cert != nil && s.has(KeySSLCname) && !s.bad[KeySSLCname] {
		s.checkCNameCovered()
	}
}

// applyExposureRules sets the router's Service type and internal load balancer, which
// exclude NodePort and ClusterIP.
func (s *parse) applyExposureRules() {
	typeKey := ""
	switch {
	case s.has(KeyInferenceRouterServiceType):
		typeKey = KeyInferenceRouterServiceType
	case s.bools[KeyPrivateEndpointNodeport]:
		typeKey = KeyPrivateEndpointNodeport
		s.cfg.RouterServiceType = ServiceNodePort
	}
	if s.cfg.RouterServiceType == "" {
		s.cfg.RouterServiceType = ServiceLoadBalancer
	}

	lbKey := ""
	switch {
	case s.has(KeyInternalLoadBalancerProvider):
		lbKey = KeyInternalLoadBalancerProvider
	case s.bools[KeyPrivateEndpointILB]:
		lbKey = KeyPrivateEndpointILB
		s.cfg.InternalLB = InternalLBAuto
	}

	if lbKey == "" || typeKey == "" || s.bad[lbKey] || s.bad[typeKey] {
		return
	}
	setting := KeyPrivateEndpointNodeport + "=True"
	if typeKey == KeyInferenceRouterServiceType {
		setting = typeKey + "=" + serviceTypeText(s.cfg.RouterServiceType)
	}
	switch s.cfg.RouterServiceType {
	case ServiceNodePort:
		s.add(CodeConflictingExposure, lbKey, "an internal load balancer and NodePort ("+
			setting+") exclude each other; keep one of them.")
	case ServiceClusterIP:
		s.add(CodeConflictingExposure, lbKey, "an internal load balancer needs the service type "+
			"loadBalancer, not clusterIP ("+setting+"); keep one of them.")
	}
}

// serviceTypeText spells a Service type as inferenceRouterServiceType's values do.
func serviceTypeText(t string) string {
	for _, v := range serviceTypeValues {
		if serviceTypes[strings.ToLower(v)] == t {
			return v
		}
	}
	return t
}

// inferenceKeys returns the inference-only settings given, in the settings' order.
func (s *parse) inferenceKeys() []string {
	var keys []string
	for _, st := range settings {
		if st.inference && s.has(st.name) {
			keys = append(keys, st.name)
		}
	}
	return keys
}

// ignoreInference leaves the inference settings out, saying so when some were given.
func (s *parse) ignoreInference() {
	if keys := s.inferenceKeys(); len(keys) > 0 {
		s.notice(CodeInferenceSettingsIgnored, "inference is not enabled, so these settings "+
			"are ignored: "+strings.Join(keys, ", ")+"; set enableInference=True to use them.")
	}
	s.clearInference()
}

// clearInference resets the inference fields to their defaults.
func (s *parse) clearInference() {
	s.cfg.AllowInsecure = false
	s.cfg.TLSCert, s.cfg.TLSKey, s.cfg.TLSSecret, s.cfg.CName = "", "", "", ""
	s.cfg.TLSSecretProtected = false
	s.cfg.RouterServiceType = ServiceLoadBalancer
	s.cfg.InternalLB = ""
	s.cfg.RouterReplicas = 3
	s.cfg.RouterHAExplicit = false
	s.cfg.RouterHASetting = ""
}

// has reports whether the setting named k was given (with a good value or not).
func (s *parse) has(k string) bool {
	_, ok := s.given[k]
	return ok
}

// present reports whether the setting named k was given or is what an unknown key most likely
// meant.
func (s *parse) present(k string) bool {
	return s.has(k) || s.meant[k]
}

// boolOr returns a boolean setting, or def when it was not given.
func (s *parse) boolOr(k string, def bool) bool {
	if !s.has(k) {
		return def
	}
	return s.bools[k]
}
