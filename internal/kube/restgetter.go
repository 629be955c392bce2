package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/transport"
)

// RESTConfigGetter is a genericclioptions.RESTClientGetter over one REST config, for
// NewReleaser. Unlike kubectl's, it keeps discovery in memory: the agent's container may
// have no writable home for ~/.kube/cache.
type RESTConfigGetter struct {
	config    *rest.Config
	namespace string

	once      sync.Once
	discovery discovery.CachedDiscoveryInterface
	mapper    meta.RESTMapper
	err       error
}

// NewRESTConfigGetter returns a RESTConfigGetter for config whose default namespace is
// namespace.
func NewRESTConfigGetter(config *rest.Config, namespace string) *RESTConfigGetter {
	config = rest.CopyConfig(config)
	// client-go's defaults (5 requests a second) make a release of thirty objects take
	// several seconds; an installer's bursts are short.
	if config.QPS == 0 {
		config.QPS = 50
	}
	if config.Burst == 0 {
		config.Burst = 100
	}
	return &RESTConfigGetter{config: config, namespace: namespace}
}

func (g *RESTConfigGetter) ToRESTConfig() (*rest.Config, error) {
	return rest.CopyConfig(g.config), nil
}

func (g *RESTConfigGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	g.init()
	return g.discovery, g.err
}

func (g *RESTConfigGetter) ToRESTMapper() (meta.RESTMapper, error) {
	g.init()
	return g.mapper, g.err
}

// ToRawKubeConfigLoader serves only the namespace; the REST config comes from
// ToRESTConfig.
func (g *RESTConfigGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(clientcmdapi.Config{}, &clientcmd.ConfigOverrides{
		Context: clientcmdapi.Context{Namespace: g.namespace},
	})
}

func (g *RESTConfigGetter) init() {
	g.once.Do(func() {
		config := rest.CopyConfig(g.config)
		// Discovery reads one document per API group at once.
		config.Burst = 300
		dc, err := discovery.NewDiscoveryClientForConfig(config)
		if err != nil {
			g.err = fmt.Errorf("creating the discovery client: %w", err)
			return
		}
		g.discovery = memory.NewMemCacheClient(dc)
		g.mapper = restmapper.NewDeferredDiscoveryRESTMapper(g.discovery)
	})
}

// bindToContext wraps a transport so that every request is canceled when ctx is done, and
// none starts after. Helm keeps working in the background when its context is canceled;
// this stops that work from reaching the cluster.
func bindToContext(ctx context.Context) transport.WrapperFunc {
	return func(rt http.RoundTripper) http.RoundTripper {
		return &contextTransport{ctx: ctx, next: rt}
	}
}

type contextTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t *contextTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.ctx.Err(); err != nil {
		return nil, fmt.Errorf("not sending %s %s: %w", req.Method, req.URL.Path, context.Cause(t.ctx))
	}
	reqCtx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.ctx, cancel)
	release := func() {
		stop()
		cancel()
	}

	resp, err := t.next.RoundTrip(req.WithContext(reqCtx))
	if err != nil {
		release()
		return nil, err
	}
	// The body is read after RoundTrip returns: the request lives until it is closed.
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody calls release once, when closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
