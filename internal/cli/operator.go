package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"berth/internal/operator"
)

type operatorOptions struct {
	healthAddr  string
	metricsAddr string
	namespace   string
	training    bool
	inference   bool
	leaderElect bool
}

// newOperatorCmd is the extension's operator, a Deployment of its release in a cluster. It is
// hidden: users never start it by hand.
func newOperatorCmd(g *globalOptions) *cobra.Command {
	o := &operatorOptions{}
	cmd := &cobra.Command{
		Use:    "operator",
		Short:  "Run the operator that reconciles berth's custom resources in a cluster",
		Long:   "Run the operator that reconciles berth's custom resources in a cluster. It finds the cluster from its pod's service account, or from $KUBECONFIG.",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.healthAddr, "health-addr", ":8081", "address of /healthz and /readyz")
	f.StringVar(&o.metricsAddr, "metrics-addr", ":8080", "address of /metrics; 0 serves none")
	f.BoolVar(&o.training, "training", false, "run the training controllers (TrainingJob)")
	f.BoolVar(&o.inference, "inference", false, "run the inference controllers (OnlineDeployment)")
	f.StringVar(&o.namespace, "namespace", defaultOperatorNamespace(), "namespace of the extension's release, where the operator keeps defaultinstancetype (default $POD_NAMESPACE, or berth)")
	f.BoolVar(&o.leaderElect, "leader-elect", false, "elect one reconciling replica with a Lease, for more than one replica")
	return cmd
}

func defaultOperatorNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "berth"
}

func (o *operatorOptions) validate() error {
	if errs := validation.IsDNS1123Label(o.namespace); len(errs) > 0 {
		return usageErrorf("--namespace %q is not a namespace name: %s", o.namespace, strings.Join(errs, "; "))
	}
	if _, err := net.ResolveTCPAddr("tcp", o.healthAddr); err != nil {
		return usageErrorf("--health-addr %q is not an address such as :8081: %v", o.healthAddr, err)
	}
	if o.metricsAddr != "0" {
		if _, err := net.ResolveTCPAddr("tcp", o.metricsAddr); err != nil {
			return usageErrorf("--metrics-addr %q is not an address such as :8080, or 0 for none: %v", o.metricsAddr, err)
		}
	}
	return nil
}

func (o *operatorOptions) run(ctx context.Context, g *globalOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	cfg, err := config.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the cluster: %w; run the operator in a pod, or point KUBECONFIG at a kubeconfig file", err)
	}
	log := slog.New(slog.NewTextHandler(g.streams.Err, nil)).With("component", "operator")
	return operator.Run(ctx, cfg, operator.Options{
		Namespace: o.namespace, HealthAddr: o.healthAddr, MetricsAddr: o.metricsAddr,
		Training: o.training, Inference: o.inference, LeaderElect: o.leaderElect,
	}, log)
}
